"""Two or more models' recorded answers combined into one: a weighted product of their
probabilities (log-linear pooling), made consistent with the task's hierarchy.

    bizztune combine runs/d0/eval/finetuned runs/d0/eval/tfidf --out runs/d0/eval/finetuned+tfidf

    from bizztune.eval.combine import combine_runs
    combine_runs(task, [Path("eval/finetuned"), Path("eval/tfidf")], Path("eval/both"))

Per item and field the combined score of a label is ``sum_i w_i * log p_i(label)`` over the
members (weights summing to 1; equal by default), normalized over the field's labels
(``bizztune.providers.combined.pool``, which ``bizztune serve --combine-with`` uses too). A
label a member gave no probability (an unparseable answer, a provider without probabilities)
counts as ``FLOOR`` (1e-6), so such a member votes with its one answer. A child
field (subcategory) then follows the chain rule: p(pair) = p(parent) * p(child | parent), the
parent's pooled distribution times the pooled child's, normalized within that parent; the
parent's distribution is the pairs' marginal. One member alone whose answers already agree with
the taxonomy comes out unchanged, and a member that scores the fields apart (TF-IDF) has its
category decide the parent and its subcategory the choice within it. The answer is each
field's most probable label, the parent taken from the answered child, so it is always one pair
the taxonomy allows.

Why a product: two classifiers that err on different items (the fine-tuned model tells the
product from the words around it, TF-IDF reads the one phrase about impact) are combined
by how sure each is, with no parameter fitted on the items scored; it is the geometric mean
of their distributions, the usual way to pool calibrated experts. Nothing is asked again: the
members' eval runs hold every probability (``predictions.jsonl``). The output is an eval run
directory like any other (config.json names the members), so reports, paired tests,
calibration and the Decision read it as one more model; its latency and cost per ticket are
the members' summed, since serving it runs both.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bizztune import __version__
from bizztune.core.errors import DataError
from bizztune.core.interfaces import Schema, Task
from bizztune.data.io import write_text_atomic
from bizztune.data.locks import output_guard
from bizztune.eval.rundir import EVAL_RUN_SCHEMA_VERSION, load_run, write_run_report
from bizztune.eval.runs import EvalRun
from bizztune.providers.combined import answer, check_weights, pool

PROVIDER = "combine"
"""The provider name a combined run's config.json records."""

Record = dict[str, Any]
log = logging.getLogger("bizztune.eval")


def combine_records(
    schema: Schema, members: Sequence[Mapping[str, Record]], weights: Sequence[float]
) -> list[Record]:
    """One combined record per item every member scored, in the first member's order."""
    first = members[0]
    ids = [i for i in first if all(i in m for m in members[1:])]
    out: list[Record] = []
    for i in ids:
        recs = [m[i] for m in members]
        gold = recs[0]["gold"]
        if any(r["gold"] != gold for r in recs[1:]):
            raise DataError(f"item {i} has different gold labels in them: not the same items")
        logp = pool(schema, [r.get("probs") or {} for r in recs], weights)
        ans = answer(schema, logp)
        probs = {f: {k: round(math.exp(v), 6) for k, v in d.items()} for f, d in logp.items()}
        conf = 1.0
        for f in schema.leaves:
            conf *= math.exp(logp[f][ans[f]])
        sources = {r.get("probs_source", "none") for r in recs}
        rec: Record = {
            "id": i,
            "raw": json.dumps(ans, ensure_ascii=False),
            "parsed": ans,
            "errors": {},
            "gold": gold,
            "correct": {k: ans.get(k) == v for k, v in gold.items()},
            "latency_s": round(sum(float(r.get("latency_s") or 0.0) for r in recs), 4),
            "prompt_tokens": sum(int(r.get("prompt_tokens") or 0) for r in recs),
            "completion_tokens": sum(int(r.get("completion_tokens") or 0) for r in recs),
            "cost_usd": sum(float(r.get("cost_usd") or 0.0) for r in recs),
            "cached": all(bool(r.get("cached")) for r in recs),
            "probs": probs,
            "confidence": round(conf, 6),
            "probs_source": "model" if sources == {"model"} else "partial",
        }
        if recs[0].get("meta"):
            rec["meta"] = recs[0]["meta"]
        out.append(rec)
    return out


def combined_config(runs: Sequence[EvalRun], weights: Sequence[float], out: Path) -> dict[str, Any]:
    """The combined run's config.json: the first member's evaluation (its data, split and
    provider, so its adapter's training cost is found), with the members and weights."""
    first = runs[0].config
    ev = dict(first["eval"])
    ev["provider"] = {**ev["provider"], "name": PROVIDER}
    ev["out"] = str(out)
    names = [r.name for r in runs]
    return {
        "schema_version": EVAL_RUN_SCHEMA_VERSION,
        "bizztune_version": __version__,
        "eval": ev,
        "task_source": first.get("task_source", ""),
        "provider_info": {
            "name": PROVIDER,
            "model": " × ".join(names),
            "family": None,
            "paid": any(bool(r.provider_info.get("paid")) for r in runs),
            "device": (first.get("provider_info") or {}).get("device", "cpu"),
        },
        "combine": {
            "members": [
                {"dir": str(r.dir), "model": n, "weight": w}
                for r, n, w in zip(runs, names, weights, strict=True)
            ],
            "rule": "log-linear pooling, hierarchy-consistent (bizztune.eval.combine)",
        },
    }


def is_combined(run: EvalRun) -> bool:
    """Whether an eval run (an EvalRun) is a combination of other runs."""
    return run.is_combined


def combine_runs(
    task: Task,
    dirs: Sequence[Path],
    out: Path,
    weights: Sequence[float] | None = None,
    name: str | None = None,
    seed: int = 0,
) -> Path:
    """Combine the eval runs in ``dirs`` into the eval run directory ``out`` (rewritten whole:
    it is computed from the members' records in seconds)."""
    from bizztune.eval.evaluate import summarize

    w = check_weights(weights, len(dirs))
    runs = [load_run(d) for d in dirs]
    try:
        recs = combine_records(task.schema, [r.predictions for r in runs], w)
    except DataError as e:
        raise DataError(f"{', '.join(map(str, dirs))}: {e}") from None
    if not recs:
        raise DataError(f"{', '.join(map(str, dirs))}: no item was scored by every one of them")
    left = [(d, len(r.predictions) - len(recs)) for d, r in zip(dirs, runs, strict=True)]
    for d, k in left:
        if k:  # the combination is scored on the items every member answered, and says so
            log.warning("warning: %s: %d of its items left out: not scored by every run", d, k)
    with output_guard(out, folder=True, inputs=[("RUNS", d) for d in dirs]):
        cfg = combined_config(runs, w, out)
        write_text_atomic(out / "config.json", json.dumps(cfg, indent=2, ensure_ascii=False))
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
        write_text_atomic(out / "predictions.jsonl", text)
        metrics = summarize(task, recs, seed=seed)
        metrics["usage"]["items_per_s"] = None
        metrics["model"] = name or cfg["provider_info"]["model"]
        write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False))
        write_run_report(out)
    return out


def concat_runs(task: Task, dirs: Sequence[Path], out: Path, name: str, seed: int = 0) -> Path:
    """The eval runs in ``dirs``, of one model on disjoint items (cross-fitted folds), as one
    eval run directory ``out``: their records in order, scored together; the config is the
    first run's, with ``folds`` naming every run."""
    from bizztune.eval.evaluate import summarize

    runs = [load_run(d) for d in dirs]
    recs = [rec for r in runs for rec in r.predictions.values()]
    ids = [rec["id"] for rec in recs]
    if len(set(ids)) != len(ids):
        raise DataError(f"{', '.join(map(str, dirs))}: the runs share items; folds must not")
    with output_guard(out, folder=True, inputs=[("RUNS", d) for d in dirs]):
        cfg = {**runs[0].config, "folds": [str(d) for d in dirs]}
        write_text_atomic(out / "config.json", json.dumps(cfg, indent=2, ensure_ascii=False))
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
        write_text_atomic(out / "predictions.jsonl", text)
        metrics = summarize(task, recs, seed=seed)
        metrics["usage"]["items_per_s"] = None
        metrics["model"] = name
        write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False))
        write_run_report(out)
    return out
