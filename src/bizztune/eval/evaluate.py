"""The eval step: run one provider over a task's split and score it with the shared evaluator.

    bizztune eval --provider tfidf --task tickets --split test --out runs/tfidf

    from bizztune.eval.evaluate import EvalConfig, run_eval
    reg = bizztune.plugins.registry()
    cfg = EvalConfig(task="tickets", provider=ProviderConfig(name="tfidf"))
    run_dir = run_eval(cfg, reg.task("tickets"), reg.provider("tfidf"))

Writes a run directory (``bizztune.eval.rundir``): config.json (resolved), predictions.jsonl
(append-only; a rerun with the same config resumes), metrics.json and report.md. Fittable
providers (majority, tfidf) are fitted first, on ``train_data`` when it is given (train on one
set, test on another) or on ``train_split`` of the same data.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bizztune import __version__
from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import (
    Completion,
    Example,
    Fittable,
    PromptStyle,
    ProviderConfig,
    Request,
    Task,
)
from bizztune.core.registry import Component
from bizztune.data.io import AMBIGUOUS, has_split, load_examples, write_text_atomic
from bizztune.data.locks import output_guard
from bizztune.data.resumable import Appender
from bizztune.data.sources import data_slug, resolve_data, resolve_train_data
from bizztune.eval.calibration import calibration_summary
from bizztune.eval.metrics import score
from bizztune.eval.rundir import (
    EVAL_RUN_SCHEMA_VERSION,
    check_resume,
    provider_failed,
    read_predictions,
    relative_paths,
    rewrite_predictions,
    write_run_report,
)
from bizztune.models.adapters import prompt_style

Calls = Literal["joint", "per-field"]
log = logging.getLogger("bizztune.eval")


@dataclass
class EvalConfig:
    """One evaluation. CLI flags override YAML, YAML overrides these defaults."""

    task: str = "tickets"
    """Registered task name or a task YAML path."""
    provider: ProviderConfig = field(default_factory=lambda: ProviderConfig(name="majority"))
    data: str | None = None
    """JSONL/CSV file, datasets folder or split directory; None: the task's embedded default."""
    split: str = "test"
    """Split of ``data`` to score; a plain file (or a named set) is scored whole."""
    train_split: str = "train"
    """Split that fittable providers (majority, tfidf) learn from."""
    train_data: str | None = None
    """Where fittable providers learn from: a split folder (its ``train_split``) or a labelled
    file (all of it). None: the ``train_split`` of ``data``, which must then be a split folder.
    Train on one set, test on another: ``--data tickets:foreign --train-data data/split``."""
    limit: int | None = None
    """Score only the first N items of the split."""
    style: PromptStyle | None = None
    """Prompt style: the long prompt with the taxonomy, or the compact one. None: the style
    the provider's adapter was trained on, else long (``run_eval`` resolves it)."""
    calls: Calls = "joint"
    """One call for all fields ("joint") or one call per field ("per-field")."""
    out: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise ConfigError("--limit must be a positive number of items")
        if self.calls not in ("joint", "per-field"):
            raise ConfigError(f"--calls must be 'joint' or 'per-field', not {self.calls!r}")
        if self.style not in (None, "long", "compact"):
            raise ConfigError(f"--style must be 'long' or 'compact', not {self.style!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(replace(self, provider=replace(self.provider, task=None)))
        del d["provider"]["task"]  # the resolved task object, not a setting
        d["provider"]["cache_dir"] = (
            str(self.provider.cache_dir) if self.provider.cache_dir else None
        )
        return d


def build_requests(task: Task, examples: Iterable[Example], cfg: EvalConfig) -> list[Request]:
    reqs: list[Request] = []
    for ex in examples:
        groups = (
            [(n,) for n in task.schema.names] if cfg.calls == "per-field" else [task.schema.names]
        )
        for fields in groups:
            rid = ex.id if cfg.calls == "joint" else f"{ex.id}::{fields[0]}"
            msgs = task.messages(ex, style=cfg.style or "long", fields=list(fields))
            reqs.append(Request(rid, ex.id, msgs, tuple(fields), ex))
    return reqs


def default_out(cfg: EvalConfig, task: Task, data: Path) -> Path:
    """``runs/eval/<task>-<data>[-<split>]-<provider>-<decoding>-<calls>-<style>[-on-<train
    data>][-limitN]``: everything a run directory must match to be resumed (``RESUME_KEYS``)
    is in its default name, so two documented commands never meet in one folder."""
    model = cfg.provider.model or ""
    tag = cfg.provider.name + (
        f"-{Path(model).name}" if model and model != cfg.provider.name else ""
    )
    if cfg.provider.adapter:
        tag += "-" + Path(cfg.provider.adapter).name
    where = [data_slug(task, cfg.data)] + ([cfg.split] if data.is_dir() else [])
    parts = [task.name, *where, tag, cfg.provider.decoding, cfg.calls, cfg.style or "long"]
    if cfg.train_data is not None:
        parts += ["on", data_slug(task, cfg.train_data)]
    if cfg.limit:
        parts.append(f"limit{cfg.limit}")
    return Path("runs") / "eval" / "-".join(parts)


def _probabilities(
    task: Task, parsed: dict[str, str | None], comps: list[tuple[Request, Completion]]
) -> tuple[dict[str, dict[str, float]], float, str]:
    """Per field label -> probability, the answer's probability and where they come from:
    ``model`` (the provider's for every field), ``partial`` or ``none`` (1 for the label
    answered, 0 for the rest; an invalid answer has no label and probability 0)."""
    probs: dict[str, dict[str, float]] = {}
    for req, c in comps:
        probs.update({f: dict(c.probs[f]) for f in req.fields if c.probs and f in c.probs})
    real = len(probs)
    for f in task.schema.names:
        if f not in probs:
            label = parsed.get(f)
            probs[f] = {label: 1.0} if label is not None else {}
    source = "none" if not real else "model" if real == len(task.schema.names) else "partial"
    given = [c.confidence for _, c in comps]
    if len(comps) == 1 and given[0] is not None and all(v is not None for v in parsed.values()):
        conf = float(given[0])
    else:
        # The leaves fix their parents (a subcategory its category), so their product is the
        # probability of the whole answer when the fields are scored apart.
        conf = 1.0
        for f in task.schema.leaves:
            label = parsed.get(f)
            conf *= probs[f].get(label, 0.0) if label is not None else 0.0
    return probs, conf, source


def _record(task: Task, ex: Example, comps: list[tuple[Request, Completion]]) -> dict[str, Any]:
    parsed: dict[str, str | None] = {}
    errors: dict[str, str] = {}
    raw: dict[str, str | None] = {}
    for req, c in comps:
        p = task.parse(c.text or "", req.fields)
        parsed.update(p.labels)
        errors.update(p.errors)
        raw[",".join(req.fields)] = c.text
        if c.error:
            errors.update({f: f"provider error: {c.error}" for f in req.fields})
    probs, conf, source = _probabilities(task, parsed, comps)
    rec: dict[str, Any] = {
        "id": ex.id,
        "raw": raw[next(iter(raw))] if len(raw) == 1 else raw,
        "parsed": parsed,
        "errors": errors,
        "gold": ex.labels,
        "correct": {k: parsed.get(k) == v for k, v in ex.labels.items()},
        "latency_s": round(sum(c.latency_s for _, c in comps), 4),
        "prompt_tokens": sum(c.prompt_tokens for _, c in comps),
        "completion_tokens": sum(c.completion_tokens for _, c in comps),
        "cost_usd": sum(c.cost_usd for _, c in comps),
        "cached": all(c.cached for _, c in comps),
        "probs": {f: {k: round(v, 6) for k, v in d.items()} for f, d in probs.items()},
        "confidence": round(conf, 6),
        "probs_source": source,
        **({"meta": ex.meta} if ex.meta else {}),
    }
    cut = sum(c.truncated_tokens for _, c in comps)
    if cut:
        rec["input_truncated_tokens"] = cut  # the prompt was cut to fit the model's context
    return rec


def summarize(task: Task, records: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    m = score(task.schema, [r["gold"] for r in records], [r["parsed"] for r in records], seed=seed)
    ambiguous = [bool((r.get("meta") or {}).get(AMBIGUOUS)) for r in records]
    if any(ambiguous):
        # Items a second labeller could label otherwise are scored apart as well, so a model is
        # judged on the clear items and the ambiguous ones do not blur the comparison.
        m["subsets"] = {
            name: score(
                task.schema,
                [r["gold"] for r, a in zip(records, ambiguous, strict=True) if a == want],
                [r["parsed"] for r, a in zip(records, ambiguous, strict=True) if a == want],
                seed=seed,
            )
            for name, want in (("clear", False), ("ambiguous", True))
        }
    # How well the model's own probabilities are calibrated (bizztune.eval.calibration).
    m["calibration"] = calibration_summary(records, task.schema.names)
    m["confidence_fields"] = list(task.schema.leaves)
    lat = np.array([r["latency_s"] for r in records], dtype=float)
    cost = float(sum(r["cost_usd"] for r in records))
    m["usage"] = {
        "prompt_tokens": int(sum(r["prompt_tokens"] for r in records)),
        "completion_tokens": int(sum(r["completion_tokens"] for r in records)),
        "cost_usd": cost,
        "cost_per_1000": cost / len(records) * 1000 if records else 0.0,
        "latency_mean_s": float(lat.mean()) if lat.size else 0.0,
        "latency_p95_s": float(np.quantile(lat, 0.95)) if lat.size else 0.0,
        "cached_items": int(sum(1 for r in records if r["cached"])),
        "truncated_items": int(sum(1 for r in records if r.get("input_truncated_tokens"))),
    }
    return m


def fit_examples(
    task: Task, cfg: EvalConfig, data: Path, scored: Sequence[Example]
) -> list[Example]:
    """What a fittable provider learns from: ``train_data`` (its train split, or a whole file),
    else the train split of ``data``. Never the items it is scored on."""
    if cfg.train_data is None:
        if not has_split(data, cfg.train_split):
            raise ConfigError(
                f"--provider {cfg.provider.name} learns from a train split, and --data "
                f"{cfg.data or data} has no '{cfg.train_split}' split: pass --train-data (a split "
                f"folder from 'bizztune split' or a labelled file)"
            )
        path = data
    else:
        path = resolve_train_data(task, cfg.train_data, flag="--train-data")
    split = cfg.train_split if has_split(path, cfg.train_split) else None
    train = load_examples(path, task, split)
    overlap = {ex.id for ex in scored} & {ex.id for ex in train}
    same_file = path.resolve() == data.resolve() and split is None
    if same_file or (scored and len(overlap) == len(scored)):
        raise ConfigError(
            f"--train-data {cfg.train_data}: the provider would learn from the very items it is "
            f"scored on; pass training data apart from --data"
        )
    return train


def run_eval(
    cfg: EvalConfig,
    task: Task,
    provider: Component,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Evaluate ``task`` (resolved from ``cfg.task``) with the registered ``provider``
    (resolved from ``cfg.provider.name``), built from ``cfg.provider`` once the run folder is
    claimed; write the run directory and return its path."""
    # An adapter is asked in the style it was trained on unless --style says otherwise (a
    # one-line warning), as bizztune serve does: eval and serve give the same answers.
    style, warning = prompt_style(cfg.style, cfg.provider.adapter)
    if warning:
        log.warning(warning)
    cfg = replace(cfg, style=style)
    data = resolve_data(task, Path(cfg.data) if cfg.data else None)
    examples = load_examples(data, task, cfg.split if data.is_dir() else None)
    if cfg.limit:
        examples = examples[: cfg.limit]
    run_dir = Path(cfg.out) if cfg.out else default_out(cfg, task, data)
    resolved = {
        "schema_version": EVAL_RUN_SCHEMA_VERSION,
        "bizztune_version": __version__,
        "eval": {**cfg.to_dict(), "task": task.name, "data": str(data), "data_spec": cfg.data},
        "task_source": str(getattr(task, "source", "") or ""),
        "relative_paths": relative_paths(
            run_dir, {"data": data, "train_data": cfg.train_data, "adapter": cfg.provider.adapter}
        ),
    }
    p = cfg.provider
    inputs = [
        ("--data", data),
        ("--train-data", cfg.train_data),
        ("--adapter", p.adapter),
        ("--model", p.model),
    ]
    # One writer, never over an input; a refused eval leaves no folder behind.
    with output_guard(run_dir, folder=True, inputs=inputs):
        check_resume(run_dir, resolved)
        model = provider.build(replace(cfg.provider, task=task))
        # Where a fittable provider learns from is checked before anything is written.
        fit_on = fit_examples(task, cfg, data, examples) if isinstance(model, Fittable) else None
        resolved["provider_info"] = provider_info(model, provider.needs.paid)
        write_text_atomic(
            run_dir / "config.json", json.dumps(resolved, indent=2, ensure_ascii=False)
        )
        return _score(cfg, task, examples, model, fit_on, run_dir, progress)


def _score(
    cfg: EvalConfig,
    task: Task,
    examples: list[Example],
    provider: Any,
    fit_on: list[Example] | None,
    run_dir: Path,
    progress: Callable[[int, int], None] | None,
) -> Path:
    pred_path = run_dir / "predictions.jsonl"
    done = read_predictions(pred_path, repair=True)
    drop_stale(done, examples, pred_path)
    # Items whose provider call failed for good (after retries) are asked again on a rerun;
    # the newer record wins because read_predictions keeps the last line of an id.
    todo = [ex for ex in examples if ex.id not in done or provider_failed(done[ex.id])]
    t0 = time.perf_counter()
    if todo:
        if isinstance(provider, Fittable) and fit_on is not None:
            provider.fit(fit_on, task.schema)
        requests = build_requests(task, todo, cfg)
        by_id = {r.id: r for r in requests}
        need = {ex.id: sum(1 for r in requests if r.example_id == ex.id) for ex in todo}
        pending: dict[str, list[tuple[Request, Completion]]] = {}
        exs = {ex.id: ex for ex in todo}
        finished = len(done)
        out = Appender(pred_path)  # one flushed line per item: a crash tears at most the last
        try:
            for comp in provider.complete(requests, task.schema):
                req = by_id[comp.request_id]
                pending.setdefault(req.example_id, []).append((req, comp))
                if len(pending[req.example_id]) == need[req.example_id]:
                    rec = _record(task, exs[req.example_id], pending.pop(req.example_id))
                    out.write(rec)
                    done[rec["id"]] = rec
                    finished += 1
                    if progress:
                        progress(finished, len(examples))
        finally:
            out.close()
    wall = time.perf_counter() - t0
    records = [done[ex.id] for ex in examples if ex.id in done]
    metrics = summarize(task, records, seed=cfg.seed)
    metrics["usage"]["wall_s_this_session"] = wall
    metrics["usage"]["items_per_s"] = len(todo) / wall if todo and wall > 0 else None
    metrics["model"] = display_name(cfg)
    write_text_atomic(run_dir / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False))
    write_run_report(run_dir)
    return run_dir


def drop_stale(done: dict[str, dict[str, Any]], examples: list[Example], path: Path) -> None:
    """Forget records of this split's items whose gold answer is not the item's (a line from
    another data file or an edited one): they are scored again, with a one-line warning."""
    stale = [ex.id for ex in examples if ex.id in done and done[ex.id]["gold"] != ex.labels]
    if not stale:
        return
    for i in stale:
        del done[i]
    rewrite_predictions(path, done.values())
    log.warning(
        "warning: %s: %d record%s (item %r%s) do%s not match the gold labels of the data; "
        "dropped and scored again",
        path,
        len(stale),
        "s" if len(stale) > 1 else "",
        stale[0],
        ", ..." if len(stale) > 1 else "",
        "" if len(stale) > 1 else "es",
    )


def provider_info(provider: Any, paid: bool) -> dict[str, Any]:
    """What the cost model needs to know of a provider: whether it is a paid API (priced per
    token) or runs here (priced per hour of the machine), and on which device it ran."""
    device = getattr(provider, "device", None)
    return {
        "name": provider.name,
        "model": provider.model,
        "family": getattr(provider, "family", None),
        "paid": paid,
        "device": None if paid else str(device or "cpu"),
    }


def display_name(cfg: EvalConfig) -> str:
    p = cfg.provider
    name = p.name
    if p.model and p.model != p.name:
        name += f" ({Path(p.model).name if '/' in p.model and Path(p.model).exists() else p.model})"
    if p.load_in_4bit:
        name += " nf4"
    if p.adapter:
        name += f" + {Path(p.adapter).name}"
    if p.decoding != "free":
        name += f" [{p.decoding}]"
    if cfg.calls != "joint":
        name += f" [{cfg.calls}]"
    return name
