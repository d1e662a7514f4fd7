"""The generate step: a labelled data set, its data card and its manifest, in one call.

    bizztune generate --task tickets -n 1000 --out data/tickets.jsonl        # offline
    bizztune generate --task tickets -n 200 --provider gpt-4o --out data/gpt4o.jsonl

    from bizztune.data.generate import generate_dataset
    result = generate_dataset(task, n=1000, seed=0, out=Path("data/tickets.jsonl"))

``bizztune generate`` and the ``generate`` stage of ``bizztune run`` both call
``generate_dataset``, so both write the same three files:

- ``<out>``: append-only JSONL, one row per line (``resumable.py``). Offline, the task's own
  generator (``generator: module:function`` in its YAML) writes it; it is deterministic and
  prefix-stable, so a resumed file is byte-identical to an uninterrupted one. With a provider,
  ``llm_generate.py`` writes it.
- ``<stem>.datacard.md``: the quality gates of the rows (``datacard.py``).
- ``<stem>.generate.json``: the manifest: schema version, task, n, seed, provider, generator
  options, the label prior the generator promises, the summary of what was written and the data
  card's numbers.

Generator options are keyword arguments of the offline generator: the task's
``generator_options:`` mapping, overridden by ``bizztune generate --generator-option KEY=VALUE``
(or ``data.generator_options`` of a run). A generator that promises label shares has a
``label_prior(task, **options)`` next to it, returning field -> label -> share; the data card
then checks the rows against those shares instead of demanding balance (``datacard.py``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from bizztune.core.config import parse_assignments
from bizztune.core.errors import ConfigError, DataError
from bizztune.core.interfaces import ProviderConfig, Task
from bizztune.core.registry import Component
from bizztune.data.datacard import CardStats, write_datacard
from bizztune.data.llm_generate import generate_with_provider
from bizztune.data.locks import output_guard
from bizztune.data.resumable import Appender, GenerateSummary, Progress, read_existing

GENERATE_SCHEMA_VERSION = 1
"""Of ``<stem>.generate.json``."""


@dataclass
class Generated:
    summary: GenerateSummary
    card: CardStats
    card_path: Path
    manifest_path: Path


def generate_dataset(
    task: Task,
    n: int,
    seed: int,
    out: Path,
    provider: ProviderConfig | None = None,
    max_attempts: int = 3,
    progress: Progress | None = None,
    options: Mapping[str, Any] | None = None,
    writer: Component | None = None,
) -> Generated:
    """Write (or complete) ``n`` rows to ``out``, offline or with ``provider`` (made by
    ``writer``, the registered provider it names), then the data card and the manifest next
    to it. ``options`` go to the offline generator. One process at a time: a second one fails
    at once."""
    with output_guard(out, folder=False, inputs=[("--task", getattr(task, "source", None))]):
        return _generate(task, n, seed, out, provider, max_attempts, progress, options, writer)


def _generate(
    task: Task,
    n: int,
    seed: int,
    out: Path,
    provider: ProviderConfig | None,
    max_attempts: int,
    progress: Progress | None,
    options: Mapping[str, Any] | None,
    writer: Component | None,
) -> Generated:
    prior = None
    if provider is None:
        merged = generator_options(task, options)
        summary = generate_offline(task, n=n, seed=seed, out=out, progress=progress, options=merged)
        prior = generator_label_prior(task, merged)
    else:
        if options:
            raise ConfigError(
                "--generator-option sets the offline generator; it does not apply with --provider"
            )
        merged = {}
        assert writer is not None, "a provider config comes with the provider it names"
        summary = generate_with_provider(
            task, n, seed, out, provider, writer, max_attempts=max_attempts, progress=progress
        )
    source = provider.name if provider is not None else "offline"
    card_path = out.with_name(out.stem + ".datacard.md")
    title = f"{task.name}, {source}, n={n}, seed {seed}"
    card = write_datacard(read_existing(out), card_path, title, task.schema, expected=prior)
    manifest = {
        "schema_version": GENERATE_SCHEMA_VERSION,
        "task": task.name,
        "n": n,
        "seed": seed,
        "generator_options": merged,
        "label_prior": prior,
        "provider": None
        if provider is None
        else {
            "name": provider.name,
            "model": summary.model,
            "base_url": provider.base_url,
            "concurrency": provider.concurrency,
            "max_attempts": max_attempts,
        },
        "summary": summary.to_dict(),
        "datacard": card.to_dict(),
    }
    manifest_path = out.with_name(out.stem + ".generate.json")
    manifest_path.write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return Generated(summary, card, card_path, manifest_path)


# -- offline --------------------------------------------------------------------------------------
def offline_generator(task: Task) -> Callable[..., Iterator[dict[str, Any]]]:
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


def generator_options(task: Task, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The task's ``generator_options``, overridden by ``options`` (the flags)."""
    return {**(getattr(task, "generator_options", None) or {}), **(options or {})}


def generator_label_prior(
    task: Task, options: Mapping[str, Any] | None = None
) -> dict[str, dict[str, float]] | None:
    """Field -> label -> share the offline generator promises for these options, if it says
    (a ``label_prior`` function in its module); None otherwise."""
    spec = getattr(task, "generator", None)
    if not spec:
        return None
    fn = getattr(import_module(str(spec).partition(":")[0]), "label_prior", None)
    if not callable(fn):
        return None
    prior = fn(task, **(options or {}))
    return {str(f): {str(k): float(v) for k, v in d.items()} for f, d in prior.items()}


def parse_options(pairs: Iterable[str]) -> dict[str, Any]:
    """``["prior=uniform", "rate=0.1"]`` -> ``{"prior": "uniform", "rate": 0.1}``."""
    return parse_assignments(pairs, "--generator-option")


def generate_offline(
    task: Task,
    n: int,
    seed: int,
    out: Path,
    progress: Progress | None = None,
    options: Mapping[str, Any] | None = None,
) -> GenerateSummary:
    """Write ``n`` rows of the task's built-in generator to ``out``, resuming a partial file.

    ``options`` are the generator's keyword arguments, as given (``generator_options`` merges
    the task's own with the flags); a generator without options is called with three."""
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
    rows = gen(task, n, seed, **options) if options else gen(task, n, seed)
    for i, (old, new) in enumerate(zip(existing, rows, strict=False)):
        if old != new:
            raise DataError(
                f"{out}:{i + 1}: differs from what seed {seed} generates; the file comes from "
                "another seed, task, generator option or version: choose another --out or "
                "delete it"
            )
    app = Appender(out)
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
