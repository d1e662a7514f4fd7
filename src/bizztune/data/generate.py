"""Generate a labelled data set: offline with the task's own generator, or with any LLM provider.

bizztune generate --task tickets -n 1000 --out data/tickets.jsonl
bizztune generate --task tickets -n 200 --provider gpt-4o --out data/gpt4o.jsonl

from bizztune.data.generate import generate_offline
summary = generate_offline(task, n=1000, seed=0, out=Path("data/tickets.jsonl"))

The output is append-only JSONL, one row per line, flushed as it is written. Rerunning the same
command on an interrupted file keeps every complete line, drops a torn last line, and writes only
what is missing: the offline generator is deterministic and prefix-stable, so a resumed file is
byte-identical to an uninterrupted one; the LLM path skips the ids already present.

LLM path: one German request per item, for a (leaf label) cell that comes round-robin from a
seeded shuffle of all cells, with the task's rubric spelled out, a writing style, persona and
product hint for variety, JSON mode and a per-attempt seed (so a retry is never a cache hit).
Every answer is validated: JSON object, every input field present, labels in the taxonomy and
equal to the requested cell, not a duplicate. Invalid answers and failed requests are retried up
to ``max_attempts`` times, then dropped and counted; they are never written.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from bizztune.core.errors import ConfigError, DataError
from bizztune.core.interfaces import Fittable, Message, ProviderConfig, Request, Task
from bizztune.data.datacard import normalize

log = logging.getLogger("bizztune.generate")

Progress = Callable[[int, int], None]
"""Called with (rows in the file, rows wanted) after every written row."""


@dataclass
class GenerateSummary:
    out: Path
    requested: int
    """Items asked for (``-n``)."""
    resumed: int = 0
    """Valid rows already in the file when the run started."""
    written: int = 0
    """Rows written by this run."""
    dropped: int = 0
    """Items given up after ``max_attempts`` invalid answers or failed requests."""
    invalid_answers: int = 0
    """Answers rejected by validation, retried ones included."""
    failed_requests: int = 0
    """Requests the provider gave up on (HTTP errors after its own retries)."""
    reasons: dict[str, int] = field(default_factory=dict)
    """Why answers were rejected: not JSON, missing field, out of taxonomy, ..."""
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    provider: str | None = None
    model: str | None = None
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.resumed + self.written

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        d["total"] = self.total
        return d


# -- the append-only file -------------------------------------------------------------------------
def read_existing(out: Path) -> list[dict[str, Any]]:
    """The complete rows of an earlier run; a torn last line (interrupted write) is cut off."""
    if not out.exists():
        return []
    raw = out.read_bytes()
    rows: list[dict[str, Any]] = []
    good_end = 0
    pos = 0
    for lineno, line in enumerate(raw.split(b"\n"), 1):
        end = pos + len(line) + 1
        last = end > len(raw)
        if line.strip():
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not an object")
            except ValueError:
                if last:
                    break  # torn final line: drop it below
                raise DataError(
                    f"{out}:{lineno}: not a JSON row; this file was not written by "
                    "'bizztune generate' or was edited: choose another --out"
                ) from None
            if last:
                break  # no newline yet: the write was interrupted before it finished
            rows.append(row)
        good_end = min(end, len(raw))
        pos = end
    if good_end < len(raw):
        with out.open("r+b") as fh:
            fh.truncate(good_end)
    return rows


class _Appender:
    def __init__(self, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        self.fh = out.open("a", encoding="utf-8")

    def write(self, row: Mapping[str, Any]) -> None:
        # One write per complete line, flushed: an interrupt leaves whole lines or a torn tail.
        self.fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()


# -- offline --------------------------------------------------------------------------------------
def offline_generator(task: Task) -> Callable[[Task, int, int], Iterator[dict[str, Any]]]:
    spec = getattr(task, "generator", None)
    if not spec:
        raise ConfigError(
            f"task '{task.name}' ships no offline generator: pass --provider to generate with an LLM"
        )
    module, _, func = str(spec).partition(":")
    try:
        gen = getattr(import_module(module), func)
    except (ImportError, AttributeError) as e:
        raise ConfigError(
            f"task '{task.name}': generator '{spec}' cannot be loaded ({e})"
        ) from None
    return gen


def generate_offline(
    task: Task, n: int, seed: int, out: Path, progress: Progress | None = None
) -> GenerateSummary:
    """Write ``n`` rows of the task's built-in generator to ``out``, resuming a partial file."""
    if n < 1:
        raise ConfigError(f"-n must be at least 1, not {n}")
    t0 = time.perf_counter()
    gen = offline_generator(task)
    existing = read_existing(out)
    summary = GenerateSummary(out=out, requested=n, resumed=min(len(existing), n))
    if len(existing) > n:
        raise DataError(
            f"{out} already holds {len(existing)} rows, more than -n {n}: choose another --out"
        )
    rows = gen(task, n, seed)
    for i, (old, new) in enumerate(zip(existing, rows, strict=False)):
        if old != new:
            raise DataError(
                f"{out}:{i + 1}: differs from what seed {seed} generates; the file comes from "
                "another seed, task or version: choose another --out or delete it"
            )
    app = _Appender(out)
    try:
        for row in rows:  # the same iterator: continues right after the existing prefix
            app.write(row)
            summary.written += 1
            if progress:
                progress(summary.total, n)
    finally:
        app.close()
    summary.seconds = round(time.perf_counter() - t0, 3)
    return summary


# -- with a provider --------------------------------------------------------------------------------
def leaf_fields(task: Task) -> list[str]:
    """Label fields no other field refines: their labels determine all the others."""
    parents = {f.parent for f in task.schema.fields if f.parent}
    return [f.name for f in task.schema.fields if f.name not in parents]


def full_labels(task: Task, cell: Mapping[str, str]) -> dict[str, str]:
    """A leaf cell with its parent labels filled in, in schema order."""
    labels = dict(cell)
    changed = True
    while changed:
        changed = False
        for f in task.schema.fields:
            if f.parent and f.name in labels and f.parent not in labels:
                labels[f.parent] = f.parent_of[labels[f.name]]
                changed = True
    return {n: labels[n] for n in task.schema.names}


def cells_for(task: Task, n: int, seed: int) -> list[dict[str, str]]:
    """The label cell of each item: round-robin over a fresh seeded shuffle per round."""
    leaves = leaf_fields(task)
    all_cells = [
        dict(zip(leaves, combo, strict=True))
        for combo in itertools.product(*(task.schema.field(f).labels for f in leaves))
    ]
    out: list[dict[str, str]] = []
    rnd = 0
    while len(out) < n:
        order = list(all_cells)
        random.Random(f"{seed}:cells:{rnd}").shuffle(order)
        out.extend(order)
        rnd += 1
    return [full_labels(task, c) for c in out[:n]]


GENERIC_PROMPT = """You write realistic training data for this task: {description}
Write exactly one new item{language}, the way a real author would write it.

The task's taxonomy:
{taxonomy}

The item must fit exactly these labels:
{cell}
{rubric}
Do not name the labels verbatim: they must follow from the content.

Answer with one JSON object with exactly these keys: {keys}"""

PromptFn = Callable[[Task, Mapping[str, str], random.Random], list[Message]]


def task_prompt(task: Task) -> PromptFn:
    """The task's own LLM prompt: a ``generation_messages`` function in the module of its
    offline generator (the tickets task has one); else the generic prompt below."""
    spec = getattr(task, "generator", None)
    if spec:
        try:
            fn = getattr(import_module(str(spec).partition(":")[0]), "generation_messages", None)
        except ImportError:
            fn = None
        if callable(fn):
            return fn
    return generic_messages


def generic_messages(task: Task, cell: Mapping[str, str], rng: random.Random) -> list[Message]:
    """A plain request for one item of ``cell``, from the task's description and taxonomy."""
    cell_lines = [
        f"- {f.description or f.name} ({f.name}): {cell[f.name]}" for f in task.schema.fields
    ]
    rubric_lines: list[str] = []
    for f in task.schema.fields:
        if f.rubric:
            rubric_lines.append(f"What {f.description or f.name} means (follow it exactly):")
            rubric_lines += [f"- {label}: {meaning}" for label, meaning in f.rubric.items()]
    taxonomy_text = getattr(task, "taxonomy_text", None)
    language = getattr(task, "language", None)
    prompt = GENERIC_PROMPT.format(
        description=task.description or task.name,
        language=f" in the language '{language}'" if language else "",
        taxonomy=taxonomy_text() if callable(taxonomy_text) else "",
        cell="\n".join(cell_lines),
        rubric="\n".join(rubric_lines) + ("\n" if rubric_lines else ""),
        keys=", ".join(f'"{k}"' for k in (*task.input_fields, *task.schema.names)),
    )
    return [{"role": "user", "content": prompt}]


def validate_answer(
    task: Task, text: str | None, cell: Mapping[str, str]
) -> tuple[dict[str, str] | None, str]:
    """The row fields of a valid answer, or None and why it is not valid."""
    from bizztune.tasks.parsing import balanced_objects

    if text is None or not text.strip():
        return None, "empty answer"
    obj: Any = None
    for span in [text.strip(), *balanced_objects(text)]:
        try:
            obj = json.loads(span)
            break
        except json.JSONDecodeError:
            continue
    if not isinstance(obj, dict):
        return None, "not a JSON object"
    row: dict[str, str] = {}
    for k in task.input_fields:
        v = obj.get(k)
        if not isinstance(v, (str, int, float)) or not str(v).strip():
            return None, f"missing field '{k}'"
        row[k] = str(v).strip()
    for f in task.schema.fields:
        v = obj.get(f.name)
        if v is None or not str(v).strip():
            return None, f"missing field '{f.name}'"
        if str(v).strip() not in f.labels:
            return None, f"out of taxonomy: {f.name}"
        if str(v).strip() != cell[f.name]:
            return None, f"wrong label: {f.name}"
        row[f.name] = cell[f.name]
    return row, ""


def _attempt_seed(seed: int, index: int, attempt: int) -> int:
    digest = hashlib.sha256(f"{seed}:{index}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


def generate_with_provider(
    task: Task,
    n: int,
    seed: int,
    out: Path,
    provider_config: ProviderConfig,
    max_attempts: int = 3,
    progress: Progress | None = None,
) -> GenerateSummary:
    """Write up to ``n`` validated rows written by an LLM to ``out``, resuming a partial file."""
    from bizztune.core.registry import load_provider

    if n < 1:
        raise ConfigError(f"-n must be at least 1, not {n}")
    if max_attempts < 1:
        raise ConfigError(f"--max-attempts must be at least 1, not {max_attempts}")
    t0 = time.perf_counter()
    provider = load_provider(provider_config)
    if isinstance(provider, Fittable):
        raise ConfigError(
            f"--provider {provider_config.name} is a baseline classifier and cannot write "
            "tickets: use an LLM provider (see 'bizztune plugins'), or none for offline"
        )
    prompt = task_prompt(task)
    existing = read_existing(out)
    have = {str(r.get("id")) for r in existing}
    if len(have) != len(existing):
        raise DataError(f"{out}: duplicate ids; this file was edited: choose another --out")
    seen_texts = {normalize(str(r.get("description", ""))) for r in existing}
    cells = cells_for(task, n, seed)
    ids = [f"t-{i + 1:06d}" for i in range(n)]
    pending = [i for i in range(n) if ids[i] not in have]
    summary = GenerateSummary(
        out=out,
        requested=n,
        resumed=n - len(pending),
        provider=provider_config.name,
        model=getattr(provider, "model", None),
    )
    reasons: Counter[str] = Counter()
    app = _Appender(out)
    try:
        for attempt in range(1, max_attempts + 1):
            if not pending:
                break
            requests = []
            for i in pending:
                rng = random.Random(f"{seed}:prompt:{i}:{attempt}")
                requests.append(
                    Request(
                        id=ids[i],
                        example_id=ids[i],
                        messages=prompt(task, cells[i], rng),
                        fields=(),
                        example=None,
                        params={
                            "json": True,
                            "temperature": 0.9,
                            "seed": _attempt_seed(seed, i, attempt),
                            "max_tokens": 1024,
                        },
                    )
                )
            index = {ids[i]: i for i in pending}
            retry: list[int] = []
            for c in provider.complete(requests, task.schema):
                i = index[c.request_id]
                summary.requests += 1
                summary.prompt_tokens += c.prompt_tokens
                summary.completion_tokens += c.completion_tokens
                summary.cost_usd += c.cost_usd
                if c.text is None:
                    summary.failed_requests += 1
                    reasons[f"request failed: {(c.error or 'error').split(':')[0]}"] += 1
                    retry.append(i)
                    continue
                fields, why = validate_answer(task, c.text, cells[i])
                if fields is not None:
                    key = normalize(fields.get("description", ""))
                    if key in seen_texts:
                        fields, why = None, "duplicate of an earlier ticket"
                    else:
                        seen_texts.add(key)
                if fields is None:
                    summary.invalid_answers += 1
                    reasons[why] += 1
                    log.info("%s attempt %d rejected: %s", ids[i], attempt, why)
                    retry.append(i)
                    continue
                app.write({"id": ids[i], **fields})
                summary.written += 1
                if progress:
                    progress(summary.total, n)
            pending = sorted(retry)
    finally:
        app.close()
    summary.dropped = len(pending)
    summary.reasons = dict(reasons.most_common())
    summary.cost_usd = round(summary.cost_usd, 6)
    summary.seconds = round(time.perf_counter() - t0, 3)
    return summary
