"""The options of the Decision, built from eval runs: every model alone, and every cascade at
the threshold chosen on the decision set; each with its cost and its joint correctness on
every set.

    cals = {label: fit_calibration(recs, fields) for ...}          # fitted on the val split
    mcost = model_costs(by_set[decide_on], costs, train)
    chosen = choose_thresholds(by_set[decide_on], small, fallbacks, cals, mcost, costs, fields)
    candidates = candidates_of(by_set, decide_on, chosen, mcost, costs, cals, fields)

``by_set``: set name -> eval label -> run (``load_run``'s dict, display name set). The
cascade's threshold is chosen on the decision set only, and applied as it is to every other
set, which are then an out-of-sample check of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bizztune.eval.calibration import Calibration, confidences
from bizztune.eval.cascade import CascadePoint, cascade_curve, cheapest_non_inferior
from bizztune.eval.choose import Candidate
from bizztune.eval.combine import is_combined
from bizztune.eval.costs import CostsConfig, ModelCost, is_api, model_cost
from bizztune.eval.decision import Kind
from bizztune.eval.paired import BASE_LABEL, FINETUNED_LABEL, run_name

Run = dict[str, Any]

FALLBACK_BASELINES = ("tfidf",)
"""Local baselines tried as a cascade's fallback besides the API models."""


# -- per item --------------------------------------------------------------------------------------
def aligned(runs: Mapping[str, Run]) -> list[str]:
    """The item ids every run scored, in the first run's order."""
    first = next(iter(runs.values()))
    return [i for i in first["predictions"] if all(i in r["predictions"] for r in runs.values())]


def correct_of(run: Run, ids: Sequence[str], fields: Sequence[str]) -> dict[str, list[bool]]:
    return {f: [bool(run["predictions"][i]["correct"].get(f)) for i in ids] for f in fields}


def joint_of(c: Mapping[str, Sequence[bool]]) -> list[bool]:
    return [all(x) for x in zip(*c.values(), strict=True)]


def cascade_correct(
    runs: Mapping[str, Run],
    sm: str,
    fb: str,
    ids: Sequence[str],
    t: float,
    cals: Mapping[str, Calibration],
    fields: Sequence[str],
) -> list[bool]:
    """Joint correctness of the cascade ``sm`` -> ``fb`` at threshold ``t`` on ``ids``."""
    conf = confidences([runs[sm]["predictions"][i] for i in ids], fields, cals.get(sm)).joint
    s_ok = joint_of(correct_of(runs[sm], ids, fields))
    f_ok = joint_of(correct_of(runs[fb], ids, fields))
    return [s if c >= t else f for c, s, f in zip(conf, s_ok, f_ok, strict=True)]


# -- costs and cascades ----------------------------------------------------------------------------
def model_costs(
    runs: Mapping[str, Run], costs: CostsConfig, train: Mapping[str, Any] | None
) -> dict[str, ModelCost]:
    """Each model's cost structure, from its run on one set; ``train``: the fine-tuned
    model's train_summary.json, whose training a combined model holding it pays too."""

    def trained(label: str) -> dict[str, Any] | None:
        holds = label == FINETUNED_LABEL or FINETUNED_LABEL in label.split("+")
        return dict(train) if holds and train else None

    return {label: model_cost(r, costs, run_name(r), trained(label)) for label, r in runs.items()}


def small_and_fallbacks(
    runs: Mapping[str, Run], small: str | None = None, fallbacks: Sequence[str] | None = None
) -> tuple[str | None, list[str]]:
    """The cascades' first model (default: the fine-tuned one, else the base model) and their
    fallbacks (default: every API model and tfidf)."""
    if small is None:
        small = next((x for x in (FINETUNED_LABEL, BASE_LABEL) if x in runs), None)
    if fallbacks is None:
        fallbacks = [
            label
            for label, r in runs.items()
            if label != small
            and not is_combined(r)
            and (is_api(r) or r["config"]["eval"]["provider"]["name"] in FALLBACK_BASELINES)
        ]
    return small, list(fallbacks)


def cascade_cost(
    small: str, fallback: str, mcost: Mapping[str, ModelCost], costs: CostsConfig
) -> Any:
    """USD per 1,000 tickets of the cascade as a function of the share sent to the fallback."""
    v = costs.tickets_per_month

    def cost(share: float) -> float:
        return (
            (mcost[small].monthly(v, costs) + mcost[fallback].monthly(share * v, costs)) / v * 1000
        )

    return cost


def cascade_points(
    runs: Mapping[str, Run],
    small: str,
    fallback: str,
    cals: Mapping[str, Calibration],
    mcost: Mapping[str, ModelCost],
    costs: CostsConfig,
    fields: Sequence[str],
    thresholds: Sequence[float | None] | None = None,
    seed: int = 0,
) -> tuple[list[str], list[CascadePoint]]:
    """The cascade's curve on one set (or its points at ``thresholds``), on the items both
    models scored."""
    ids = aligned({small: runs[small], fallback: runs[fallback]})
    conf = confidences([runs[small]["predictions"][i] for i in ids], fields, cals.get(small)).joint
    s_ok, f_ok = correct_of(runs[small], ids, fields), correct_of(runs[fallback], ids, fields)
    cost = cascade_cost(small, fallback, mcost, costs)
    return ids, cascade_curve(conf, s_ok, f_ok, cost, thresholds, seed=seed)


def choose_thresholds(
    runs: Mapping[str, Run],
    small: str | None,
    fallbacks: Sequence[str],
    cals: Mapping[str, Calibration],
    mcost: Mapping[str, ModelCost],
    costs: CostsConfig,
    fields: Sequence[str],
    seed: int = 0,
) -> dict[str, CascadePoint | None]:
    """``small>fallback`` -> the cheapest threshold within the margin of the fallback alone, on
    the decision set's runs (None: no threshold qualifies)."""
    out: dict[str, CascadePoint | None] = {}
    if small is None or small not in runs:
        return out
    for fb in fallbacks:
        if fb in runs and fb in mcost:
            _, pts = cascade_points(runs, small, fb, cals, mcost, costs, fields, seed=seed)
            out[f"{small}>{fb}"] = cheapest_non_inferior(pts, costs.margin_pp)
    return out


# -- the candidates --------------------------------------------------------------------------------
def candidates_of(
    by_set: Mapping[str, Mapping[str, Run]],
    decide_on: str,
    chosen: Mapping[str, CascadePoint | None],
    mcost: Mapping[str, ModelCost],
    costs: CostsConfig,
    cals: Mapping[str, Calibration],
    fields: Sequence[str],
) -> list[Candidate]:
    """Every model scored on the decision set, and every cascade at its chosen threshold (one
    that defers nothing or everything is one of its models already), with their joint
    correctness on the items every model of a set scored."""
    v = costs.tickets_per_month
    ids = {s: aligned(runs) for s, runs in by_set.items() if runs}
    out: list[Candidate] = []
    for label, r in by_set[decide_on].items():
        correct = {
            s: joint_of(correct_of(by_set[s][label], ids[s], fields))
            for s in ids
            if label in by_set[s]
        }
        kind: Kind = "combined" if is_combined(r) else "model"
        out.append(Candidate(label, run_name(r), kind, mcost[label].per_1000(v, costs), correct))
    first = by_set[decide_on]
    for key, pick in chosen.items():
        if pick is None or pick.threshold is None or pick.deferred == 0:
            continue
        sm, fb = key.split(">", 1)
        t = pick.threshold
        usd = cascade_cost(sm, fb, mcost, costs)(pick.deferred)
        correct = {
            s: cascade_correct(by_set[s], sm, fb, ids[s], t, cals, fields)
            for s in ids
            if sm in by_set[s] and fb in by_set[s]
        }
        name = f"{run_name(first[sm])} → {run_name(first[fb])} (t ≥ {t:.3g})"
        out.append(Candidate(key, name, "cascade", usd, correct, threshold=t))
    return out
