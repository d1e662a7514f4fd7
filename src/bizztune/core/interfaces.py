"""The three plugin interfaces (Task, Provider, Trainer) and the small records they exchange.

A task knows its schema, prompt, parser and gold answers. A provider answers a batch of chat
requests. A trainer turns a dataset into an adapter directory. Everything else is a function.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from bizztune.core.errors import ConfigError

Message = dict[str, str]
PromptStyle = Literal["long", "compact"]
Decoding = Literal["free", "constrained"]


@dataclass(frozen=True)
class LabelField:
    """One output field of a task, e.g. ``subcategory``, with its closed label set."""

    name: str
    labels: tuple[str, ...]
    description: str = ""
    parent: str | None = None
    """Name of the field this one refines (``category`` for ``subcategory``)."""
    parent_of: Mapping[str, str] = field(default_factory=dict)
    """Label -> label of the parent field; the hierarchy, e.g. Softwarefehler -> Technischer Support."""
    rubric: Mapping[str, str] = field(default_factory=dict)
    """Label -> what it means; shown to generators and in the prompt when present."""


@dataclass(frozen=True)
class Schema:
    """The closed output schema of a classification task."""

    fields: tuple[LabelField, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def leaves(self) -> tuple[str, ...]:
        """Fields no other field refines (subcategory, urgency): their labels fix the rest."""
        parents = {f.parent for f in self.fields if f.parent}
        return tuple(f.name for f in self.fields if f.name not in parents)

    def field(self, name: str) -> LabelField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def consistent(self, labels: Mapping[str, str | None]) -> bool | None:
        """Whether every child label belongs to its predicted parent label.

        None when a needed label is missing (unparseable), so it can be left out of the rate.
        """
        verdicts: list[bool] = []
        for f in self.fields:
            if f.parent is None:
                continue
            child, parent = labels.get(f.name), labels.get(f.parent)
            if child is None or parent is None:
                return None
            verdicts.append(f.parent_of.get(child) == parent)
        return all(verdicts) if verdicts else None


@dataclass
class Example:
    """One item: the inputs shown to the model and (for labelled data) the gold labels."""

    id: str
    inputs: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    """Columns about the item that no model sees: ``ambiguous`` (bool), when the data has it."""

    def to_record(self) -> dict[str, Any]:
        return {"id": self.id, **self.inputs, **self.labels, **self.meta}


@dataclass
class Request:
    """One chat call. ``fields`` are the output fields this call must answer."""

    id: str
    example_id: str
    messages: list[Message]
    fields: tuple[str, ...]
    example: Example | None = None
    """The raw item, for providers that do not read prompts (majority, tfidf)."""
    params: dict[str, Any] = field(default_factory=dict)
    """Per-request overrides (temperature, seed, json: bool, max_tokens); part of the cache key."""

    def cache_payload(self) -> str:
        return json.dumps(
            {"messages": self.messages, "fields": self.fields, "params": self.params},
            ensure_ascii=False,
            sort_keys=True,
        )


@dataclass
class Completion:
    """A provider's answer to one request. ``text`` is None when the call failed for good."""

    request_id: str
    text: str | None
    error: str | None = None
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    truncated_tokens: int = 0
    """Prompt tokens a local model cut to fit its context (0: the whole prompt was read)."""
    probs: dict[str, dict[str, float]] | None = None
    """Field -> label -> probability, for the fields this request answers, where the provider
    has real ones (constrained decoding, a head, tfidf, API token logprobs). None: it gives
    none, and the evaluator records 1 for the label it answered. Labels left out have 0."""
    confidence: float | None = None
    """The probability of the whole answer (every field as answered), where the provider can
    say it exactly (the chain rule over its decoding stages); None: the evaluator takes the
    product over the schema's leaf fields of each answered label's probability."""


@runtime_checkable
class Task(Protocol):
    """A classification task: inputs, a closed schema, prompts, gold answers, a parser."""

    name: str
    description: str
    schema: Schema

    @property
    def input_fields(self) -> tuple[str, ...]:
        """The input columns of an item, in prompt order."""
        ...

    def messages(
        self,
        example: Example,
        *,
        style: PromptStyle = "long",
        fields: Sequence[str] | None = None,
        with_answer: bool = False,
    ) -> list[Message]:
        """ChatML messages for one example; with the assistant's gold answer for training."""
        ...

    def answer(self, labels: Mapping[str, str], fields: Sequence[str] | None = None) -> str:
        """The gold assistant answer (JSON text) for the given labels."""
        ...

    def parse(self, text: str, fields: Sequence[str] | None = None) -> ParsedAnswer:
        """Parse a model answer into labels of the schema (None for a missing/invalid field)."""
        ...


@dataclass
class ParsedAnswer:
    labels: dict[str, str | None]
    """Field -> label in the taxonomy, or None when missing or outside it."""
    errors: dict[str, str] = field(default_factory=dict)
    """Field -> why it is None ("unparseable", "missing", "out of taxonomy: 'X'")."""

    @property
    def valid(self) -> bool:
        return not self.errors


@runtime_checkable
class Provider(Protocol):
    """Answers chat requests. Completions may come back in any order."""

    name: str
    model: str

    def complete(self, requests: Sequence[Request], schema: Schema) -> Iterator[Completion]: ...


@runtime_checkable
class Fittable(Protocol):
    """A provider that learns from the train split before answering (majority, tfidf)."""

    def fit(self, train: Sequence[Example], schema: Schema) -> None: ...


@dataclass
class TrainJob:
    """What to train and where: every trainer's config extends this (a third-party one too);
    ``bizztune run`` fills these fields in. The built-in families' configs are in
    ``bizztune.trainers.config``."""

    trainer: str = "lora"
    """Registered trainer (--trainer); each trainer records its own name here."""
    recipe: str | None = None
    """The named recipe these parameters started from (--recipe; ``trainers/recipes.py``);
    None or "none": the config's own defaults."""
    model: str = "smollm2-135m"
    """Base model: an embedded name (``gemma3-270m``) or a local HF folder (--model)."""
    data: str | None = None
    """Split directory with train.jsonl/val.jsonl; None: the task's embedded default (--data)."""
    out: str | None = None
    """Output folder for adapter, tokenizer, loss curve and config (--out).
    None: ``runs/train/<task>-<model>-<trainer>``."""
    task: str = "tickets"
    """Registered task name or task YAML path (--task)."""
    style: PromptStyle = "compact"
    """Prompt style used for training AND evaluation of this adapter (--style). Compact is ~3x
    fewer tokens, hence ~3x faster on CPU; the long prompt includes the full taxonomy."""
    seed: int = 0
    """Seeds data order, initialisation and dropout (--seed)."""
    resume: bool = False
    """Resume from the last checkpoint in ``out`` (--resume)."""

    def __post_init__(self) -> None:
        if not self.trainer or not isinstance(self.trainer, str):
            raise ConfigError("--trainer must name a registered trainer (see 'bizztune plugins')")
        if self.style not in ("long", "compact"):
            raise ConfigError(f"--style must be 'long' or 'compact', not {self.style!r}")

    def to_dict(self) -> dict[str, Any]:
        """Every field, as YAML and ``train_config.json`` hold it."""
        return dataclasses.asdict(self)


@runtime_checkable
class Trainer(Protocol):
    """Turns a task's instruction dataset into an adapter directory."""

    name: str

    @property
    def config_type(self) -> type[TrainJob]:
        """The dataclass of its parameters, a ``TrainJob``: what
        ``bizztune train``, ``run`` and ``sweep`` build from a recipe, a config file and flags."""
        ...

    def train(self, task: Task, config: Any) -> Path:
        """Train on ``task`` with ``config`` (a ``config_type``); the adapter folder."""
        ...


@dataclass
class ProviderConfig:
    """Everything a provider factory may need. Providers ignore what does not apply to them."""

    name: str
    """The name the user asked for (``gpt-4``, ``tfidf``, ``hf``...)."""
    model: str | None = None
    """Model id or local path; providers have a default."""
    base_url: str | None = None
    """OpenAI-compatible server URL (vLLM, Ollama, llama.cpp server, LM Studio)."""
    adapter: str | None = None
    """PEFT adapter directory for local models."""
    decoding: Decoding = "free"
    concurrency: int = 4
    timeout_s: float = 60.0
    max_retries: int = 5
    temperature: float = 0.0
    seed: int = 0
    max_new_tokens: int = 64
    batch_size: int = 8
    load_in_4bit: bool = False
    device: str | None = None
    dtype: str | None = None
    cache_dir: Path | None = None
    """On-disk response cache for API providers; None disables it."""
    extra: dict[str, Any] = field(default_factory=dict)
    task: Task | None = field(default=None, repr=False, compare=False)
    """The resolved task it answers for, where a provider needs more than its requests carry
    (a head adapter prompts in the style it was trained on). Handed down by the evaluator
    and the server; not a setting, so never recorded with the config."""

    def __post_init__(self) -> None:
        if self.decoding not in ("free", "constrained"):
            raise ConfigError(f"--decoding must be 'free' or 'constrained', not {self.decoding!r}")
        if self.concurrency < 1:
            raise ConfigError("--concurrency must be at least 1")
        if self.batch_size < 1:
            raise ConfigError("--batch-size must be at least 1")
