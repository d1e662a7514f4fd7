"""Several training seeds scored on the same items: their mean, spread and one interval.

    s = seed_summary([run_seed0, run_seed1, run_seed2], "joint")
    s.mean, s.sd, s.low, s.high          # 0-1; low/high: the 95% interval over seeds and items

Runs are the dicts ``bizztune.eval.rundir.load_run`` reads, one per training seed, each scored
on the same test items (only the items every run scored count). The interval accounts for both
sources of noise with a crossed two-level bootstrap: each resample draws k seeds with
replacement from the k seeds, and n items with replacement from the n items, one draw of
items shared by every drawn seed (the seeds were scored on the same items, so item noise does
not average out over seeds), and takes the mean accuracy over the drawn seeds and items. The
percentile interval of those means is the reported one. With one seed it is the ordinary item
bootstrap. docs/method.md says what it assumes and where it is loose.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

N_BOOT = 2000


@dataclass(frozen=True)
class SeedSummary:
    """One field of k seeds' runs on n shared items; accuracies are fractions (0-1)."""

    k: int
    n: int
    mean: float
    """Mean over seeds of each seed's accuracy."""
    sd: float
    """Sample standard deviation of the seeds' accuracies (0 for one seed)."""
    min: float
    max: float
    low: float
    """The combined 95% interval (seeds and items) of the mean."""
    high: float
    per_seed: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def correct_matrix(runs: Sequence[dict[str, Any]], field: str) -> np.ndarray:
    """k x n 0/1 outcomes of ``field`` (or ``"joint"``) on the items every run scored."""
    ids = [i for i in runs[0]["predictions"] if all(i in r["predictions"] for r in runs[1:])]

    def ok(run: dict[str, Any], i: str) -> bool:
        c = run["predictions"][i]["correct"]
        return all(c.values()) if field == "joint" else bool(c.get(field))

    return np.array([[ok(r, i) for i in ids] for r in runs], dtype=np.float64).reshape(
        len(runs), len(ids)
    )


def combined_interval(
    correct: np.ndarray, n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of the mean of a seeds x items 0/1 matrix, resampling seeds and
    (shared) items; (nan, nan) without items."""
    x = np.asarray(correct, dtype=np.float64)
    k, n = x.shape
    if k == 0 or n == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for b in range(n_boot):
        rows = rng.integers(0, k, size=k)
        cols = rng.integers(0, n, size=n)
        # mean over drawn seeds of each seed's mean over the drawn items
        means[b] = x[rows].mean(axis=0)[cols].mean()
    alpha = (1 - level) / 2
    return (float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha)))


def seed_summary(
    runs: Sequence[dict[str, Any]], field: str, seed: int = 0, n_boot: int = N_BOOT
) -> SeedSummary:
    """Mean, between-seed spread and combined interval of one field over seeds' runs."""
    x = correct_matrix(runs, field)
    per_seed = x.mean(axis=1) if x.shape[1] else np.full(x.shape[0], math.nan)
    lo, hi = combined_interval(x, n_boot=n_boot, seed=seed)
    return SeedSummary(
        k=int(x.shape[0]),
        n=int(x.shape[1]),
        mean=float(per_seed.mean()),
        sd=float(per_seed.std(ddof=1)) if len(per_seed) > 1 else 0.0,
        min=float(per_seed.min()),
        max=float(per_seed.max()),
        low=lo,
        high=hi,
        per_seed=tuple(float(a) for a in per_seed),
    )
