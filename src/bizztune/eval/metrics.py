"""Metrics of the shared evaluator. Pure functions over gold and predicted label lists.

A prediction of None (unparseable or outside the taxonomy) is wrong for its field and is also
counted in the invalid rate. Intervals are seeded percentile bootstraps; paired comparisons
use McNemar's exact (binomial) test and a paired bootstrap of the difference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bizztune.core.interfaces import Schema

INVALID = "<invalid>"
N_BOOT = 2000


def bootstrap_ci(
    correct: Sequence[bool] | np.ndarray, n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean of 0/1 outcomes."""
    x = np.asarray(correct, dtype=np.float64)
    if x.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1 - level) / 2
    return (float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha)))


def macro_f1(gold: Sequence[str], pred: Sequence[str | None]) -> float:
    """Macro-F1 over the classes present in gold or (valid) predictions; None is always wrong."""
    classes = sorted({*gold, *(p for p in pred if p is not None)})
    if not classes:
        return math.nan
    f1s = []
    for c in classes:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p != c)
        denom = 2 * tp + fp + fn
        f1s.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f1s))


def confusion(
    gold: Sequence[str], pred: Sequence[str | None], labels: Sequence[str]
) -> dict[str, dict[str, int]]:
    """gold label -> predicted label (or ``<invalid>``) -> count, over the full label set."""
    cols = [*labels, INVALID]
    table = {g: dict.fromkeys(cols, 0) for g in labels}
    for g, p in zip(gold, pred, strict=True):
        table.setdefault(g, dict.fromkeys(cols, 0))
        table[g][p if p is not None else INVALID] += 1
    return table


def field_metrics(
    gold: Sequence[str], pred: Sequence[str | None], labels: Sequence[str], seed: int = 0
) -> dict[str, Any]:
    correct = np.array([g == p for g, p in zip(gold, pred, strict=True)], dtype=bool)
    lo, hi = bootstrap_ci(correct, seed=seed)
    return {
        "accuracy": float(correct.mean()) if correct.size else math.nan,
        "ci95": [lo, hi],
        "macro_f1": macro_f1(gold, pred),
        "invalid_rate": float(np.mean([p is None for p in pred])) if pred else math.nan,
        "confusion": confusion(gold, pred, labels),
        "n": int(correct.size),
    }


def score(
    schema: Schema,
    gold: Sequence[Mapping[str, str]],
    pred: Sequence[Mapping[str, str | None]],
    seed: int = 0,
) -> dict[str, Any]:
    """All metrics for one run. ``gold[i]`` and ``pred[i]`` are the same item."""
    if len(gold) != len(pred):
        raise ValueError("gold and pred must have the same length")
    out: dict[str, Any] = {"n": len(gold), "fields": {}}
    for f in schema.fields:
        g = [x[f.name] for x in gold]
        p = [x.get(f.name) for x in pred]
        out["fields"][f.name] = field_metrics(g, p, f.labels, seed=seed)
    joint = np.array(
        [all(pr.get(k) == v for k, v in gd.items()) for gd, pr in zip(gold, pred, strict=True)],
        dtype=bool,
    )
    lo, hi = bootstrap_ci(joint, seed=seed)
    out["joint"] = {"accuracy": float(joint.mean()) if joint.size else math.nan, "ci95": [lo, hi]}
    any_invalid = [any(pr.get(f.name) is None for f in schema.fields) for pr in pred]
    out["invalid_rate"] = float(np.mean(any_invalid)) if pred else math.nan
    verdicts = [schema.consistent(pr) for pr in pred]
    judged = [v for v in verdicts if v is not None]
    out["hierarchy_consistency"] = float(np.mean(judged)) if judged else None
    out["hierarchy_judged"] = len(judged)
    return out


def mcnemar_exact(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> dict[str, Any]:
    """McNemar's exact test on paired outcomes. b: only A right; c: only B right."""
    if len(a_correct) != len(b_correct):
        raise ValueError("paired outcomes must have the same length")
    b = sum(1 for x, y in zip(a_correct, b_correct, strict=True) if x and not y)
    c = sum(1 for x, y in zip(a_correct, b_correct, strict=True) if y and not x)
    n = b + c
    if n == 0:
        p = 1.0
    else:
        k = min(b, c)
        p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)
    return {"only_a": b, "only_b": c, "p_value": p}


def paired_diff_ci(
    a_correct: Sequence[bool], b_correct: Sequence[bool], n_boot: int = N_BOOT, seed: int = 0
) -> tuple[float, float, float]:
    """Accuracy of B minus A with a paired bootstrap 95% interval."""
    a = np.asarray(a_correct, dtype=np.float64)
    b = np.asarray(b_correct, dtype=np.float64)
    d = b - a
    if d.size == 0:
        return (math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, d.size, size=(n_boot, d.size))
    means = d[idx].mean(axis=1)
    return (float(d.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975)))
