"""Tasks defined as YAML data: taxonomy, prompts, gold answers and the shared parser.

from bizztune.tasks.yaml_task import load_task_file
task = load_task_file(Path("my_task.yaml"))
task.messages(example, style="long", with_answer=True)

The format is documented in docs/tasks.md; ``bizztune/tasks/tickets/tickets.yaml`` is the
built-in example.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bizztune.core.config import load_yaml_file
from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import Example, LabelField, Message, ParsedAnswer, PromptStyle, Schema
from bizztune.tasks.parsing import nearest

TASK_SCHEMA_VERSION = 1
TASK_KEYS = (
    "schema_version",
    "name",
    "description",
    "language",
    "inputs",
    "fields",
    "prompt",
    "generator",
    "generator_options",
    "datasets",
)
"""The keys of a task file (docs/tasks.md); any other is an error, with a "did you mean"."""
FIELD_KEYS = ("name", "description", "labels", "parent", "hierarchy", "rubric")
PROMPT_KEYS = ("long", "compact", "system")

DATASET_ROLES = ("test", "dev", "train")
"""What a data set shipped with a task is for: ``test`` measures only, ``dev`` chooses models and
settings; neither may be trained or fitted on. ``train`` data may be."""


@dataclass(frozen=True)
class NamedDataset:
    """A labelled data set shipped with a task, selected as ``--data TASK:NAME``."""

    name: str
    path: Path
    role: str = "test"
    description: str = ""

    @property
    def trainable(self) -> bool:
        return self.role == "train"


@dataclass
class YamlTask:
    """A classification task read from a YAML file (see ``tasks/tickets/tickets.yaml``)."""

    name: str
    description: str
    schema: Schema
    inputs: dict[str, str]
    """Input field -> how the prompt names it."""
    prompts: dict[str, str]
    system: str | None = None
    language: str = "en"
    generator: str | None = None
    """``module:function`` of an offline data generator, if the task ships one."""
    generator_options: dict[str, Any] = field(default_factory=dict)
    """Keyword options for that generator (``generator_options:`` in the YAML); the
    ``--generator-option`` flags of ``bizztune generate`` override them."""
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    datasets: dict[str, NamedDataset] = field(default_factory=dict)
    """Labelled sets shipped with the task (``--data tickets:foreign``)."""

    @property
    def input_fields(self) -> tuple[str, ...]:
        return tuple(self.inputs)

    # -- prompts -------------------------------------------------------------------------
    def taxonomy_text(self, fields: Sequence[str] | None = None) -> str:
        wanted = list(fields or self.schema.names)
        lines: list[str] = []
        for f in self.schema.fields:
            if f.name not in wanted:
                continue
            title = f.description or f.name
            if f.parent:
                lines.append(f"{title} ({f.name}), nach {self._field_title(f.parent)}:")
                groups: dict[str, list[str]] = {}
                for label in f.labels:
                    groups.setdefault(f.parent_of[label], []).append(label)
                for parent, labels in groups.items():
                    lines.append(f"- {parent}: {', '.join(labels)}")
            else:
                lines.append(f"{title} ({f.name}): {', '.join(f.labels)}")
                for label, meaning in f.rubric.items():
                    lines.append(f"  - {label}: {meaning}")
        return "\n".join(lines)

    def _field_title(self, name: str) -> str:
        f = self.schema.field(name)
        return f"{f.description or f.name} ({f.name})"

    def format_text(self, fields: Sequence[str] | None = None) -> str:
        wanted = [n for n in self.schema.names if n in (fields or self.schema.names)]
        return "{" + ", ".join(f'"{n}": "..."' for n in wanted) + "}"

    def messages(
        self,
        example: Example,
        *,
        style: PromptStyle = "long",
        fields: Sequence[str] | None = None,
        with_answer: bool = False,
    ) -> list[Message]:
        if style not in self.prompts:
            raise ConfigError(
                f"task '{self.name}' has no '{style}' prompt; it has: {', '.join(self.prompts)}"
            )
        wanted = [n for n in self.schema.names if n in (fields or self.schema.names)]
        values = {
            "taxonomy": self.taxonomy_text(wanted),
            "format": self.format_text(wanted),
            "fields": ", ".join(wanted),
            **{k: example.inputs.get(k, "") for k in self.inputs},
        }
        content = re.sub(
            r"\{(\w+)\}",
            lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0),
            self.prompts[style],
        )
        msgs: list[Message] = []
        if self.system:
            msgs.append({"role": "system", "content": self.system})
        msgs.append({"role": "user", "content": content})
        if with_answer:
            msgs.append({"role": "assistant", "content": self.answer(example.labels, wanted)})
        return msgs

    def answer(self, labels: Mapping[str, str], fields: Sequence[str] | None = None) -> str:
        wanted = [n for n in self.schema.names if n in (fields or self.schema.names)]
        return json.dumps({n: labels[n] for n in wanted}, ensure_ascii=False)

    def parse(self, text: str, fields: Sequence[str] | None = None) -> ParsedAnswer:
        from bizztune.tasks.parsing import parse_answer

        return parse_answer(text, self.schema, fields)


# -- loading ---------------------------------------------------------------------------------
def _known_keys(d: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    """A ConfigError for the first key that is not allowed, with the one it likely misspells."""
    for key in d:
        if key not in allowed:
            near = nearest(str(key), allowed, cutoff=0.6)
            hint = f", did you mean '{near}'?" if near else f"; allowed: {', '.join(allowed)}"
            raise ConfigError(f"{where}: unknown key '{key}'{hint}")


def _label_in(label: Any, labels: Sequence[str], at: str, what: str) -> None:
    """A ConfigError when ``label`` (named in ``what``) is not one of ``labels``."""
    if str(label) in labels:
        return
    near = nearest(str(label), labels)
    hint = f"; did you mean '{near}'?" if near else f" ({', '.join(labels)})"
    raise ConfigError(f"{at}: {what} names '{label}', which is not one of its labels{hint}")


def _need(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d or d[key] in (None, ""):
        raise ConfigError(f"{where}: missing required key '{key}'")
    return d[key]


def _parse_fields(raw: Any, where: str) -> Schema:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: 'fields' must be a non-empty list of output fields")
    out: list[LabelField] = []
    names: set[str] = set()
    for i, f in enumerate(raw):
        at = f"{where}: fields[{i}]"
        if not isinstance(f, dict):
            raise ConfigError(f"{at} must be a mapping with 'name' and 'labels' or 'hierarchy'")
        name = str(_need(f, "name", at))
        at = f"{where}: field '{name}'"
        _known_keys(f, FIELD_KEYS, at)
        if name in names:
            raise ConfigError(f"{at} is defined twice")
        parent = f.get("parent")
        parent_of: dict[str, str] = {}
        if parent is not None:
            if parent not in names:
                raise ConfigError(f"{at}: parent '{parent}' must be an earlier field")
            hierarchy = _need(f, "hierarchy", at)
            if not isinstance(hierarchy, dict):
                raise ConfigError(f"{at}: 'hierarchy' must map each {parent} label to a list")
            parent_labels = next(x for x in out if x.name == parent).labels
            for p, children in hierarchy.items():
                if p not in parent_labels:
                    near = nearest(str(p), parent_labels)
                    hint = f"; did you mean '{near}'?" if near else ""
                    raise ConfigError(
                        f"{at}: hierarchy key '{p}' is not a label of '{parent}'{hint}"
                    )
                if children is not None and not isinstance(children, list):
                    raise ConfigError(f"{at}: hierarchy '{p}' must be a list of labels")
                for c in children or []:
                    if str(c) in parent_of:
                        raise ConfigError(f"{at}: label '{c}' appears under two parents")
                    parent_of[str(c)] = str(p)
            labels = tuple(parent_of)
        else:
            raw_labels = _need(f, "labels", at)
            if not isinstance(raw_labels, list):
                raise ConfigError(f"{at}: 'labels' must be a list")
            labels = tuple(str(x) for x in raw_labels)
        if len(set(labels)) != len(labels) or not labels:
            raise ConfigError(f"{at}: labels must be unique and non-empty")
        if len(labels) < 2:
            raise ConfigError(
                f"{at}: has one label ('{labels[0]}'); a field needs at least two labels to "
                "classify (drop the field or add labels)"
            )
        raw_rubric = f.get("rubric") or {}
        if not isinstance(raw_rubric, dict):
            raise ConfigError(f"{at}: 'rubric' must map labels to their meaning")
        rubric = {str(k): str(v).strip() for k, v in raw_rubric.items()}
        for k in rubric:
            _label_in(k, labels, at, "rubric")
        out.append(
            LabelField(
                name=name,
                labels=labels,
                description=str(f.get("description") or ""),
                parent=parent,
                parent_of=parent_of,
                rubric=rubric,
            )
        )
        names.add(name)
    return Schema(tuple(out))


def _parse_datasets(raw: Any, where: str, source: Path | None) -> dict[str, NamedDataset]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 'datasets' must map a name to a file (path, role)")
    out: dict[str, NamedDataset] = {}
    base = source.parent if source is not None else Path(".")
    for name, spec in raw.items():
        at = f"{where}: datasets.{name}"
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", str(name)):
            raise ConfigError(f"{at}: a name of letters, digits, '.', '_' or '-'")
        if isinstance(spec, str):
            spec = {"path": spec}
        if not isinstance(spec, dict):
            raise ConfigError(f"{at}: expected a path or a mapping with 'path' and 'role'")
        role = str(spec.get("role") or "test")
        if role not in DATASET_ROLES:
            raise ConfigError(f"{at}: role must be one of {', '.join(DATASET_ROLES)}, not {role!r}")
        path = Path(str(_need(spec, "path", at)))
        out[str(name)] = NamedDataset(
            name=str(name),
            path=path if path.is_absolute() else base / path,
            role=role,
            description=" ".join(str(spec.get("description") or "").split()),
        )
    return out


def task_from_dict(data: Any, where: str, source: Path | None = None) -> YamlTask:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a task file must be a YAML mapping")
    _known_keys(data, TASK_KEYS, where)
    version = data.get("schema_version", TASK_SCHEMA_VERSION)
    if version != TASK_SCHEMA_VERSION:
        raise ConfigError(f"{where}: schema_version {version} is not supported (use 1)")
    name = str(_need(data, "name", where))
    inputs = _need(data, "inputs", where)
    if isinstance(inputs, list):
        inputs = {str(k): str(k) for k in inputs}
    if not isinstance(inputs, dict):
        raise ConfigError(f"{where}: 'inputs' must map input field -> display name")
    schema = _parse_fields(_need(data, "fields", where), where)
    prompt = _need(data, "prompt", where)
    if not isinstance(prompt, dict):
        raise ConfigError(f"{where}: 'prompt' must be a mapping with a 'long' template")
    _known_keys(prompt, PROMPT_KEYS, f"{where}: prompt")
    prompts = {k: str(v) for k, v in prompt.items() if k != "system" and v}
    if "long" not in prompts:
        raise ConfigError(f"{where}: prompt.long is required")
    prompts.setdefault("compact", prompts["long"])
    for style, text in prompts.items():
        for ph in re.findall(r"\{(\w+)\}", text):
            if ph not in {*inputs, "taxonomy", "format", "fields"} and ph not in schema.names:
                raise ConfigError(
                    f"{where}: prompt.{style} uses '{{{ph}}}', which is not an input field "
                    f"({', '.join(inputs)}) nor taxonomy/format/fields"
                )
    options = data.get("generator_options") or {}
    if not isinstance(options, dict):
        raise ConfigError(f"{where}: 'generator_options' must be a mapping of option -> value")
    return YamlTask(
        name=name,
        description=str(data.get("description") or "").strip(),
        schema=schema,
        inputs={str(k): str(v) for k, v in inputs.items()},
        prompts=prompts,
        system=prompt.get("system"),
        language=str(data.get("language") or "en"),
        generator=data.get("generator"),
        generator_options={str(k): v for k, v in options.items()},
        source=source,
        raw=data,
        datasets=_parse_datasets(data.get("datasets"), where, source),
    )


def load_task_file(path: Path) -> YamlTask:
    if not path.is_file():
        raise ConfigError(f"task file not found: {path}")
    return task_from_dict(load_yaml_file(path), str(path), source=path)
