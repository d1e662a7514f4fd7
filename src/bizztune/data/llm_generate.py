"""Generate labelled items with any LLM provider (``bizztune generate --provider gpt-4o``).

    from bizztune.data.llm_generate import generate_with_provider
    cfg = ProviderConfig(name="gpt-4o")
    summary = generate_with_provider(task, 200, 0, Path("data/gpt4o.jsonl"), cfg,
                                     bizztune.plugins.registry().provider(cfg.name))

One request per item, for a (leaf label) cell that comes round-robin from a seeded shuffle of
all cells. The prompt is the task's own (``generation_messages`` next to its offline
generator: the tickets task asks in German, with its rubric, a writing style, persona and
product for variety) or a generic one; JSON mode and a per-attempt seed (so a retry is never a
cache hit). Every answer is validated: JSON object, every input field present, labels in the
taxonomy and equal to the requested cell, not a duplicate. Invalid answers and failed requests
are retried up to ``max_attempts`` times, then dropped and counted; they are never written. A
rerun skips the ids already in the file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from bizztune.core.errors import ConfigError, DataError
from bizztune.core.interfaces import Fittable, Message, ProviderConfig, Request, Task
from bizztune.core.registry import Component
from bizztune.data.datacard import normalize
from bizztune.data.resumable import Appender, GenerateSummary, Progress, read_existing
from bizztune.tasks.parsing import balanced_objects

log = logging.getLogger("bizztune.generate")


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
    leaves = task.schema.leaves
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
    writer: Component,
    max_attempts: int = 3,
    progress: Progress | None = None,
) -> GenerateSummary:
    """Write up to ``n`` validated rows written by an LLM (``writer``, the registered provider
    ``provider_config`` names) to ``out``, resuming a partial file."""
    if n < 1:
        raise ConfigError(f"-n must be at least 1, not {n}")
    if max_attempts < 1:
        raise ConfigError(f"--max-attempts must be at least 1, not {max_attempts}")
    t0 = time.perf_counter()
    # A classifier cannot write items: one that says so when it registers is not even loaded.
    provider = None if writer.needs.fittable else writer.build(provider_config)
    if provider is None or isinstance(provider, Fittable):
        raise ConfigError(
            f"--provider {provider_config.name} is a baseline classifier and cannot write "
            "tickets: use an LLM provider (see 'bizztune plugins'), or none for offline"
        )
    existing = read_existing(out)
    have = {str(r.get("id")) for r in existing}
    if len(have) != len(existing):
        raise DataError(f"{out}: duplicate ids; this file was edited: choose another --out")
    run = _Writing(
        task,
        task_prompt(task),
        cells_for(task, n, seed),
        [f"t-{i + 1:06d}" for i in range(n)],
        seed,
        seen={normalize(str(r.get("description", ""))) for r in existing},
        progress=progress,
    )
    pending = [i for i in range(n) if run.ids[i] not in have]
    run.summary = GenerateSummary(
        out=out,
        requested=n,
        resumed=n - len(pending),
        provider=provider_config.name,
        model=getattr(provider, "model", None),
    )
    app = Appender(out)
    try:
        for attempt in range(1, max_attempts + 1):
            if not pending:
                break
            pending = run.attempt(provider, pending, attempt, app)
    finally:
        app.close()
    summary = run.summary
    summary.dropped = len(pending)
    summary.reasons = dict(run.reasons.most_common())
    summary.cost_usd = round(summary.cost_usd, 6)
    summary.seconds = round(time.perf_counter() - t0, 3)
    return summary


@dataclass
class _Writing:
    """One LLM generation run: what each item asks for, and what has come back."""

    task: Task
    prompt: PromptFn
    cells: list[dict[str, str]]
    ids: list[str]
    seed: int
    seen: set[str]
    """Normalized descriptions written so far: a repeat is rejected."""
    progress: Progress | None
    summary: GenerateSummary = field(init=False)
    reasons: Counter[str] = field(default_factory=Counter)

    def request(self, i: int, attempt: int) -> Request:
        rng = random.Random(f"{self.seed}:prompt:{i}:{attempt}")
        return Request(
            id=self.ids[i],
            example_id=self.ids[i],
            messages=self.prompt(self.task, self.cells[i], rng),
            fields=(),
            example=None,
            params={
                "json": True,
                "temperature": 0.9,
                "seed": _attempt_seed(self.seed, i, attempt),
                "max_tokens": 1024,
            },
        )

    def attempt(self, provider: Any, pending: list[int], attempt: int, app: Appender) -> list[int]:
        """Ask for every pending item once; write the valid answers; the items to ask again."""
        index = {self.ids[i]: i for i in pending}
        requests = [self.request(i, attempt) for i in pending]
        s, retry = self.summary, []
        for c in provider.complete(requests, self.task.schema):
            i = index[c.request_id]
            s.requests += 1
            s.prompt_tokens += c.prompt_tokens
            s.completion_tokens += c.completion_tokens
            s.cost_usd += c.cost_usd
            if c.text is None:
                s.failed_requests += 1
                self.reasons[f"request failed: {(c.error or 'error').split(':')[0]}"] += 1
                retry.append(i)
                continue
            fields, why = validate_answer(self.task, c.text, self.cells[i])
            if fields is not None:
                key = normalize(fields.get("description", ""))
                if key in self.seen:
                    fields, why = None, "duplicate of an earlier ticket"
                else:
                    self.seen.add(key)
            if fields is None:
                s.invalid_answers += 1
                self.reasons[why] += 1
                log.info("%s attempt %d rejected: %s", self.ids[i], attempt, why)
                retry.append(i)
                continue
            app.write({"id": self.ids[i], **fields})
            s.written += 1
            if self.progress:
                self.progress(s.total, len(self.ids))
        return sorted(retry)
