"""A cascade of two models scored on the same items: the small one answers when it is sure
enough, the fallback answers the rest.

    curve = cascade_curve(conf, small_correct, fallback_correct, cost_of_share)
    best = cheapest_non_inferior(curve, margin_pp=2.0)

For a threshold t the small model's answer is kept when its (calibrated) confidence is at
least t, and the fallback's answer is used otherwise; the fallback's answers are the ones its
eval run recorded (cached), so no model is asked again. On the items both runs scored:

- ``deferred``: the share of items sent to the fallback;
- ``accuracy``: joint accuracy of the combined answers (and per field);
- ``diff`` and its 95% interval: cascade minus fallback alone, a paired bootstrap over items
  (2,000 resamples, seeded, the same resamples for every threshold), with McNemar's exact p;
- ``usd_per_1000``: what the caller's ``cost_of_share(deferred)`` says 1,000 tickets cost
  (the small model runs on every ticket, the fallback on the deferred ones), and per 1,000
  correct tickets: that divided by the accuracy.

The thresholds are the small model's distinct confidences (at most ``MAX_POINTS`` of them,
evenly spaced in rank), from "answer everything" (t = the lowest confidence) to "defer
everything" (``threshold`` None). The cheapest threshold whose lower interval end is above
-margin is the one that reaches the fallback's accuracy within the margin at the lowest cost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bizztune.eval.metrics import N_BOOT, mcnemar_exact

MAX_POINTS = 200


@dataclass
class CascadePoint:
    threshold: float | None
    """The small model answers when its confidence is >= threshold; None: it answers nothing."""
    deferred: float
    accuracy: float
    field_accuracy: dict[str, float]
    diff: float
    """Cascade minus fallback alone, joint accuracy."""
    diff_ci95: tuple[float, float]
    p_value: float
    usd_per_1000: float
    usd_per_1000_correct: float
    correct: list[bool] = field(default_factory=list, repr=False)
    """Per item, whether the cascade's answer is right (for paired tests against others)."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("correct")
        d["diff_ci95"] = list(self.diff_ci95)
        return d


def _thresholds(conf: Sequence[float]) -> list[float | None]:
    uniq = sorted(set(conf))
    if len(uniq) > MAX_POINTS:
        idx = np.unique(np.linspace(0, len(uniq) - 1, MAX_POINTS).round().astype(int))
        uniq = [uniq[i] for i in idx]
        uniq[0] = min(conf)  # keep "answer everything"
    return [*uniq, None]


def bootstrap_counts(n: int, seed: int = 0, n_boot: int = N_BOOT) -> np.ndarray:
    """How often each item is drawn in each resample: the resamples of
    ``metrics.paired_diff_ci`` (same seed, same draws) as a (n_boot, n) matrix."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    counts = np.zeros((n_boot, n))
    np.add.at(counts, (np.repeat(np.arange(n_boot), n), idx.ravel()), 1)
    return counts


def cascade_curve(
    conf: Sequence[float],
    small: Mapping[str, Sequence[bool]],
    fallback: Mapping[str, Sequence[bool]],
    cost_of_share: Callable[[float], float],
    thresholds: Sequence[float | None] | None = None,
    seed: int = 0,
) -> list[CascadePoint]:
    """The cascade at each threshold (module docstring). ``small`` and ``fallback``: field ->
    per-item correctness, every list in the same item order as ``conf``."""
    n = len(conf)
    fields = list(small)
    c = np.asarray(conf, dtype=float)
    s_ok = {f: np.asarray(small[f], dtype=bool) for f in fields}
    f_ok = {f: np.asarray(fallback[f], dtype=bool) for f in fields}
    s_joint = np.logical_and.reduce([s_ok[f] for f in fields]) if n else np.zeros(0, bool)
    f_joint = np.logical_and.reduce([f_ok[f] for f in fields]) if n else np.zeros(0, bool)
    counts = bootstrap_counts(n, seed) if n else np.zeros((0, 0))
    out: list[CascadePoint] = []
    for t in thresholds if thresholds is not None else _thresholds(conf):
        keep = c >= t if t is not None else np.zeros(n, dtype=bool)
        joint = np.where(keep, s_joint, f_joint)
        per_field = {
            f: float(np.where(keep, s_ok[f], f_ok[f]).mean()) if n else 0.0 for f in fields
        }
        d = joint.astype(float) - f_joint.astype(float)
        means = counts @ d / n if n else np.zeros(1)
        acc = float(joint.mean()) if n else 0.0
        share = float(1 - keep.mean()) if n else 1.0
        usd = float(cost_of_share(share))
        out.append(
            CascadePoint(
                threshold=None if t is None else float(t),
                deferred=share,
                accuracy=acc,
                field_accuracy=per_field,
                diff=float(d.mean()) if n else 0.0,
                diff_ci95=(float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))),
                p_value=float(mcnemar_exact(joint.tolist(), f_joint.tolist())["p_value"]),
                usd_per_1000=usd,
                usd_per_1000_correct=usd / acc if acc > 0 else float("inf"),
                correct=joint.tolist(),
            )
        )
    return out


def cheapest_non_inferior(points: Sequence[CascadePoint], margin_pp: float) -> CascadePoint | None:
    """The cheapest point whose paired interval against the fallback alone stays above
    -margin (ties: the more accurate, then the one deferring less); None when none does."""
    ok = [p for p in points if p.diff_ci95[0] >= -margin_pp / 100 - 1e-12]
    if not ok:
        return None
    return min(ok, key=lambda p: (round(p.usd_per_1000, 9), -p.accuracy, p.deferred))


def at_threshold(points: Sequence[CascadePoint], t: float | None) -> CascadePoint | None:
    """The point of a curve computed with exactly this threshold."""
    return next((p for p in points if p.threshold == t), None)
