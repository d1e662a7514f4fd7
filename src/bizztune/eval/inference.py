"""How sure a paired comparison is: Holm's correction, the margin verdict, and sample sizes.

    adj = holm([0.01, 0.04, 0.03])                      # [0.03, 0.06, 0.06]
    margin_verdict((-0.03, 0.0), p_adj=1.0, margin=0.02)  # "inconclusive"
    d = Discordance(n=100, only_a=4, only_b=1)          # B - A = -3 pp, 5% of items discordant
    n_to_detect(d.rate, 0.03)                            # items for McNemar to find 3 pp, power 0.8
    n_non_inferior(d.rate, d.diff, 0.02)                 # items to show B at most 2 pp below A

Differences, margins and rates are fractions (0.02 = 2 percentage points). The rules, with
Δ = B - A, [lo, hi] its paired 95% bootstrap interval, p_adj the Holm-adjusted McNemar p and
d the margin (``costs.margin_pp``), checked in this order:

- superior: lo > 0 and p_adj < alpha (B is shown better);
- non-inferior: lo >= -d (B is shown to be at most d worse; it may also be better, unshown);
- inferior: hi < 0 and p_adj < alpha (B is shown worse, and not shown to be within d);
- inconclusive: anything else: the interval reaches below -d and no difference is shown.

Sample sizes use the normal approximation for paired binary outcomes with the observed share
of discordant items ψ (items exactly one of the two gets right): McNemar's test (Connor 1987)
needs N = (z(1-α/2)·√ψ + z(power)·√(ψ - δ²))² / δ² items to find a difference δ; showing
non-inferiority (the interval's lower end above -d, one-sided α/2) needs
N = (z(1-α/2) + z(power))² · (ψ - Δ²) / (Δ + d)² if the true difference is the observed Δ.
In a Holm family of m tests the detection is planned at α/m. docs/method.md gives the
assumptions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

ALPHA = 0.05
"""The level of every test and the complement of the intervals' 95%."""
POWER = 0.8
"""The power the planner aims at unless told otherwise."""
EPS = 1e-12
"""Bootstrap quantiles of differences on n items are multiples of 1/n up to float noise."""

Verdict = Literal["superior", "non-inferior", "inferior", "inconclusive"]


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input's order: the k-th smallest p times
    (m - k + 1), made non-decreasing along that order and capped at 1."""
    m = len(p_values)
    out = [1.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        running = max(running, min(1.0, (m - rank) * float(p_values[i])))
        out[i] = running
    return out


def margin_verdict(
    diff_ci: Sequence[float], p_adj: float, margin: float, alpha: float = ALPHA
) -> Verdict:
    """The class of B against A from the interval of B - A (module docstring for the rule)."""
    lo, hi = float(diff_ci[0]), float(diff_ci[1])
    shown = p_adj < alpha
    if lo > 0 and shown:
        return "superior"
    if lo >= -margin - EPS:
        return "non-inferior"
    if hi < 0 and shown:
        return "inferior"
    return "inconclusive"


@dataclass(frozen=True)
class Discordance:
    """The paired outcomes of A and B on ``n`` shared items that the planner needs."""

    n: int
    only_a: int
    """Items only A got right."""
    only_b: int
    """Items only B got right."""

    @property
    def rate(self) -> float:
        """ψ: the share of items exactly one of the two got right."""
        return (self.only_a + self.only_b) / self.n if self.n else math.nan

    @property
    def diff(self) -> float:
        """B's accuracy minus A's."""
        return (self.only_b - self.only_a) / self.n if self.n else math.nan


def _z(q: float) -> float:
    return NormalDist().inv_cdf(q)


def _check(power: float, alpha: float) -> None:
    if not 0 < power < 1:
        raise ValueError(f"power must be between 0 and 1, not {power}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")


def n_to_detect(rate: float, delta: float, power: float = POWER, alpha: float = ALPHA) -> float:
    """Items a two-sided McNemar test at ``alpha`` needs to find a difference ``delta`` with
    ``power`` when a share ``rate`` of them is discordant (Connor 1987). ψ cannot be below |δ|
    (every discordant item would have to favour one side), so a smaller observed ψ is raised
    to |δ|. Infinite for δ = 0."""
    _check(power, alpha)
    d = abs(delta)
    if d == 0 or math.isnan(d):
        return math.inf
    psi = max(rate, d)
    root = _z(1 - alpha / 2) * math.sqrt(psi) + _z(power) * math.sqrt(max(psi - d * d, 0.0))
    return root**2 / d**2


def n_non_inferior(
    rate: float, diff: float, margin: float, power: float = POWER, alpha: float = ALPHA
) -> float:
    """Items for the lower end of the two-sided (1 - alpha) interval of B - A to lie above
    ``-margin`` with ``power``, if the true difference is ``diff`` and a share ``rate`` of the
    items is discordant. Infinite when ``diff <= -margin``: no number of items shows it."""
    _check(power, alpha)
    gap = diff + margin
    if math.isnan(gap) or gap <= 0:
        return math.inf
    var = max(rate - diff * diff, 0.0)
    return (_z(1 - alpha / 2) + _z(power)) ** 2 * var / gap**2


def items(n: float) -> int | None:
    """A planned number of items, rounded up (at least 1); None when no number is enough."""
    return None if math.isinf(n) or math.isnan(n) else max(1, math.ceil(n - 1e-9))


def plan(
    d: Discordance,
    margin: float,
    delta: float | None = None,
    power: float = POWER,
    alpha: float = ALPHA,
    family: int = 1,
) -> dict[str, Any]:
    """What the planner says about one pair: items to detect ``delta`` (default: the observed
    difference) and to show B non-inferior to A at ``margin``, both at ``power``, with the
    observed discordance; None where no number of items is enough. In a Holm family of
    ``family`` tests the detection is planned at alpha / family (Holm's strictest step, so
    the N is enough whatever the other tests show); non-inferiority claims are not adjusted."""
    target = abs(d.diff) if delta is None else delta
    return {
        "n": d.n,
        "only_a": d.only_a,
        "only_b": d.only_b,
        "discordant_rate": d.rate,
        "diff": d.diff,
        "delta": target,
        "power": power,
        "alpha": alpha,
        "family": family,
        "margin": margin,
        "n_detect": items(n_to_detect(d.rate, target, power, alpha / family)),
        "n_non_inferior": items(n_non_inferior(d.rate, d.diff, margin, power, alpha)),
    }


def plan_sentence(p: Mapping[str, Any], who: str = "it") -> str:
    """The planner's N for an inconclusive comparison as a sentence ("" when none is enough)."""
    parts = []
    if p["n_non_inferior"] is not None:
        m = 100 * p["margin"]
        parts.append(f"{p['n_non_inferior']:,} test tickets {who} could be shown within {m:g} pp")
    if p["n_detect"] is not None:
        d = 100 * p["delta"]
        parts.append(f"{p['n_detect']:,} a difference of {d:.1f} pp would be detectable")
    if not parts:
        return ""
    return (
        "With about "
        + ", with about ".join(parts)
        + f" (power {p['power']:g}, if the measured difference is the true one)."
    )


def verdict_cell(t: Mapping[str, Any]) -> str:
    """The margin verdict; for an inconclusive one, the test items that would decide it."""
    p = t.get("plan")
    if p is None:
        return str(t["verdict"])
    need = []
    if p["n_non_inferior"] is not None:
        need.append(f"N ≈ {p['n_non_inferior']:,} to show it within {100 * p['margin']:g} pp")
    if p["n_detect"] is not None:
        need.append(f"N ≈ {p['n_detect']:,} to detect {100 * p['delta']:.1f} pp")
    return f"{t['verdict']} ({'; '.join(need) or 'no N is enough'})"
