"""The statistics of the verdicts: Holm, the margin verdict and the planner by hand, and the
McNemar, bootstrap, Holm and power code against scipy and statsmodels (the dev extra).

    pytest tests/test_inference.py
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bizztune.eval.inference import (
    Discordance,
    holm,
    margin_verdict,
    n_non_inferior,
    n_to_detect,
    plan,
)
from bizztune.eval.metrics import mcnemar_exact, paired_diff_ci
from bizztune.eval.runs import EvalRun

Z975, Z80 = 1.959963984540054, 0.8416212335729143  # z(0.975), z(0.8)


def _pairs(n: int, p10: float, p01: float, seed: int) -> tuple[list[bool], list[bool]]:
    """Paired outcomes: A only right with p10, B only right with p01, both right otherwise
    half the time."""
    rng = np.random.default_rng(seed)
    u = rng.random(n)
    both = rng.random(n) < 0.5
    a = np.where(u < p10, True, np.where(u < p10 + p01, False, both))
    b = np.where(u < p10, False, np.where(u < p10 + p01, True, both))
    return a.tolist(), b.tolist()


# -- Holm ------------------------------------------------------------------------------------------
def test_holm_by_hand() -> None:
    # sorted: .005 x 4 = .02, .01 x 3 = .03, .03 x 2 = .06, .04 x 1 = .04 -> kept at .06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0]  # capped at 1
    assert holm([0.2]) == [0.2] and holm([]) == []


@pytest.mark.parametrize("seed", range(5))
def test_holm_matches_statsmodels(seed: int) -> None:
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.random(8) ** 3, [0.01, 0.01, 1.0]])  # small ones, ties and a 1
    rng.shuffle(p)
    assert holm(p.tolist()) == pytest.approx(multipletests(p, method="holm")[1].tolist())


# -- McNemar and the paired bootstrap ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "p10", "p01", "seed"),
    [(30, 0.1, 0.1, 0), (100, 0.05, 0.15, 1), (200, 0.2, 0.05, 2), (12, 0.0, 0.3, 3), (5, 0, 0, 4)],
)
def test_mcnemar_exact_matches_statsmodels(n: int, p10: float, p01: float, seed: int) -> None:
    from statsmodels.stats.contingency_tables import mcnemar

    a, b = _pairs(n, p10, p01, seed)
    mine = mcnemar_exact(a, b)
    table = [[0, 0], [0, 0]]
    for x, y in zip(a, b, strict=True):
        table[int(not x)][int(not y)] += 1
    assert (mine["only_a"], mine["only_b"]) == (table[0][1], table[1][0])
    assert mine["p_value"] == pytest.approx(mcnemar(table, exact=True).pvalue, abs=1e-12)


@pytest.mark.parametrize(("n", "seed"), [(200, 0), (1000, 1)])
def test_paired_bootstrap_interval_matches_scipy(n: int, seed: int) -> None:
    from scipy.stats import bootstrap

    a, b = _pairs(n, 0.08, 0.15, seed)
    d, lo, hi = paired_diff_ci(a, b)
    diff = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    ref = bootstrap(
        (diff,), np.mean, method="percentile", n_resamples=20000, random_state=seed
    ).confidence_interval
    assert d == pytest.approx(diff.mean())
    # two Monte Carlo percentile intervals agree to their resampling error (about 0.06 standard
    # errors for 2,000 resamples) and the 1/n steps of the difference; a 90% interval would be
    # 0.3 standard errors off
    tol = 0.15 * diff.std() / math.sqrt(n) + 1 / n
    assert lo == pytest.approx(ref.low, abs=tol)
    assert hi == pytest.approx(ref.high, abs=tol)


# -- the margin verdict ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ci", "p_adj", "verdict"),
    [
        ((0.01, 0.05), 0.01, "superior"),
        ((0.01, 0.05), 0.2, "non-inferior"),  # above 0 but not shown after Holm
        ((-0.02, 0.03), 0.5, "non-inferior"),  # the lower end exactly at -d counts
        ((-0.019, -0.001), 0.01, "non-inferior"),  # worse, but shown to be within d
        ((-0.021, 0.03), 0.5, "inconclusive"),
        ((-0.05, -0.001), 0.2, "inconclusive"),  # below 0 but not shown after Holm
        ((-0.05, -0.001), 0.01, "inferior"),
        ((-0.30, -0.10), 1e-6, "inferior"),
    ],
)
def test_margin_verdict_rules(ci: tuple[float, float], p_adj: float, verdict: str) -> None:
    assert margin_verdict(ci, p_adj, margin=0.02) == verdict


def test_margin_verdict_reads_the_bootstrap_interval_of_a_real_pair() -> None:
    # 3 of 100 items only A right: B - A = -3 pp, interval about [-7, 0]
    a = [True] * 3 + [False] * 97
    b = [False] * 100
    _, lo, hi = paired_diff_ci(a, b)
    p = mcnemar_exact(a, b)["p_value"]  # 0.25
    assert margin_verdict((lo, hi), p, 0.02) == "inconclusive"
    assert margin_verdict((lo, hi), p, 0.10) == "non-inferior"


# -- the planner -----------------------------------------------------------------------------------
def test_planner_by_hand() -> None:
    # Connor: (z.975 sqrt(.2) + z.8 sqrt(.2 - .05^2))^2 / .05^2
    hand = (Z975 * math.sqrt(0.2) + Z80 * math.sqrt(0.2 - 0.0025)) ** 2 / 0.0025
    assert n_to_detect(0.2, 0.05) == pytest.approx(hand) and 625 < hand < 626
    assert n_to_detect(0.2, -0.05) == pytest.approx(hand)  # the sign does not matter
    assert n_to_detect(0.01, 0.05) == pytest.approx(n_to_detect(0.05, 0.05))  # psi >= |delta|
    assert math.isinf(n_to_detect(0.3, 0.0))
    # non-inferiority: (z.975 + z.8)^2 (psi - diff^2) / (diff + d)^2
    hand_ni = (Z975 + Z80) ** 2 * (0.1 - 0.01**2) / (-0.01 + 0.02) ** 2
    assert n_non_inferior(0.1, -0.01, 0.02) == pytest.approx(hand_ni)
    assert math.isinf(n_non_inferior(0.1, -0.02, 0.02))  # at the margin: never
    # 4 only-A and 1 only-B of 100: psi .05, diff -.03
    p = plan(Discordance(100, 4, 1), margin=0.02, delta=0.03)
    assert (p["discordant_rate"], p["diff"]) == pytest.approx((0.05, -0.03))
    assert p["n_detect"] == math.ceil(n_to_detect(0.05, 0.03)) and p["n_non_inferior"] is None
    with pytest.raises(ValueError, match="power"):
        n_to_detect(0.2, 0.05, power=1.0)


def test_non_inferiority_n_matches_statsmodels_power() -> None:
    """One-sided z-test of the per-item difference D in {-1, 0, 1} against -d: statsmodels'
    one-sample normal power (NormalIndPower with ratio=0) at alpha/2."""
    from statsmodels.stats.power import NormalIndPower

    for psi, diff, d, power in [
        (0.1, -0.01, 0.02, 0.8),
        (0.3, 0.02, 0.03, 0.9),
        (0.05, 0, 0.02, 0.8),
    ]:
        sd = math.sqrt(psi - diff**2)
        ref = NormalIndPower().solve_power(
            effect_size=(diff + d) / sd, alpha=0.025, power=power, ratio=0, alternative="larger"
        )
        assert n_non_inferior(psi, diff, d, power) == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize(("psi", "delta"), [(0.2, 0.05), (0.5, 0.1)])
def test_mcnemar_power_at_the_planned_n_by_simulation(psi: float, delta: float) -> None:
    """At the planned N the McNemar test finds delta in about 80% of simulated test sets; at
    half of it, far less often."""
    from scipy.stats import binom, norm

    rng = np.random.default_rng(7)
    n_plan = math.ceil(n_to_detect(psi, delta))
    p01, p10 = (psi + delta) / 2, (psi - delta) / 2

    def power(n: int, exact: bool, reps: int = 4000) -> float:
        counts = rng.multinomial(n, [p10, p01, 1 - psi], size=reps)
        b, c = counts[:, 0], counts[:, 1]
        m = b + c
        if exact:
            p = np.minimum(1.0, 2 * binom.cdf(np.minimum(b, c), m, 0.5))
        else:  # the statistic the normal approximation describes
            z = np.where(m > 0, (c - b) / np.sqrt(np.maximum(m, 1)), 0.0)
            p = 2 * norm.sf(np.abs(z))
        return float(np.mean(p < 0.05))

    assert power(n_plan, exact=False) == pytest.approx(0.8, abs=0.03)
    assert 0.74 <= power(n_plan, exact=True) <= 0.83  # the exact test is a little conservative
    assert power(n_plan // 2, exact=False) < 0.6


# -- one family ------------------------------------------------------------------------------------
def _run(name: str, right: dict[str, list[bool]]) -> EvalRun:
    """A scored run from per-field correctness per item, as ``load_run`` reads it."""
    fields = list(right)
    n = len(right[fields[0]])
    correct = [{f: right[f][i] for f in fields} for i in range(n)]
    metrics = {"model": name, "fields": {f: {} for f in fields}, "joint": {}}
    predictions = {f"t{i}": {"correct": c} for i, c in enumerate(correct)}
    return EvalRun(Path(name), {}, metrics, predictions, name, "tickets", "test", n, tuple(fields))


def test_family_tests_adjust_every_field_of_every_model_together() -> None:
    from bizztune.eval.paired import family_tests

    n = 100
    ref = _run("ft", {"a": [i < 60 for i in range(n)], "b": [i < 50 for i in range(n)]})
    # x: 6 tickets behind ref on a (p = 2/64 alone), as good on b; y: far behind on both
    x = _run("x", {"a": [i < 54 for i in range(n)], "b": [i < 50 for i in range(n)]})
    y = _run("y", {"a": [i < 20 for i in range(n)], "b": [i < 10 for i in range(n)]})
    fam = family_tests({"x": (x, ref), "y": (y, ref)}, margin_pp=2.0)
    tests = [fam[k][f] for k in ("x", "y") for f in ("a", "b", "joint")]
    assert [t["p_adj"] for t in tests] == pytest.approx(holm([t["p_value"] for t in tests]))
    xa = fam["x"]["a"]
    assert xa["p_value"] == pytest.approx(2 / 2**6) and xa["p_adj"] > 0.05
    # Δ = ref - x = +6 pp with its interval above 0, but not shown after Holm: non-inferior,
    # not superior
    assert xa["diff"] == pytest.approx(0.06) and xa["verdict"] == "non-inferior"
    assert fam["x"]["b"]["verdict"] == "non-inferior"  # the same tickets right: [0, 0]
    assert fam["y"]["joint"]["verdict"] == "superior"
    # the other way round the same 6 tickets are inconclusive, with the planner's N for a
    # family of 6 tests
    back = family_tests({"x": (ref, x), "y": (ref, y)}, margin_pp=2.0)["x"]["a"]
    assert back["verdict"] == "inconclusive"
    assert back["plan"]["n_detect"] == math.ceil(n_to_detect(0.06, 0.06, alpha=0.05 / 6))
