"""The rule of the Decision: on the decision set, the cheapest option shown as accurate as the
most accurate one; on the confirmation set, nothing chosen, every comparison reported.

    sets = DecisionSets(SetInfo("tickets:foreign-dev", True, "hand-written tickets"),
                        SetInfo("tickets:foreign", True, "hand-written tickets"))
    d = make_decision(candidates, sets, CostsConfig())       # a bizztune.eval.decision.Decision

A candidate is a model or the combined model, with its cost per 1,000 tickets and its joint
correctness (every field right) on the items every candidate of a set scored
(``bizztune.eval.options`` builds them from eval runs). The rule, on the
**decision set** only (docs/method.md, "The Decision"):

1. the most accurate option is the one with the highest joint accuracy (ties: the cheaper);
2. every other option is compared with it (paired 95% bootstrap interval of the difference,
   McNemar's exact p); the comparisons, and the runner-up's against the chosen option, are one
   Holm family, each with its margin verdict and, when inconclusive, the planner's N;
3. acceptable: the most accurate one and those shown within ``costs.margin_pp`` of it
   (non-inferior); **run the cheapest acceptable option** (ties: the more accurate);
4. **too small**: a cheaper option that the set cannot tell from the most accurate one (its
   interval reaches 0 and reaches below -margin, so it is neither shown worse nor shown within
   the margin) and whose planner's N is larger than the set: the set is too small to separate
   them. Then the cheapest of the options it cannot tell apart is run, and the Decision says
   so first, with N and how many more tickets to label.

Costs are compared at the cent per 1,000 tickets that the report shows (``usd_key``): two
local models on one always-on machine differ only by their amortized training, a few
hundredths of a cent, and that must not decide between them; at an equal cost the more
accurate one is run.

On the **confirmation set** nothing is chosen: every option's accuracy is reported, and the
chosen option is compared with every other one (one Holm family, Δ = other - chosen). Where a
comparison there reaches 0 with an N larger than the set, the confirmation set is too small to
confirm it, and the Decision says that too. Picking on the set one reports on inflates the
winner: the best of several noisy scores is biased upwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from bizztune.eval.costs import CostsConfig
from bizztune.eval.decision import (
    Decision,
    DecisionSets,
    Kind,
    Option,
    Paired,
    Rule,
    Score,
    SetInfo,
    Shortfall,
)
from bizztune.eval.inference import holm
from bizztune.eval.metrics import bootstrap_ci, mcnemar_exact, paired_diff_ci
from bizztune.eval.paired import judge

EPS = 1e-12


@dataclass(frozen=True)
class Candidate:
    """What the rule needs of one option."""

    key: str
    """An eval label (``finetuned``, ``finetuned+tfidf``)."""
    name: str
    kind: Kind
    usd_per_1000: float
    """At ``costs.tickets_per_month``, training and hosting included."""
    correct: Mapping[str, Sequence[bool]]
    """Set name -> joint correctness, per item, on the items every candidate of that set
    scored (the same items in the same order for every candidate)."""


def _paired(a: Sequence[bool], b: Sequence[bool], seed: int) -> dict[str, Any]:
    d, lo, hi = paired_diff_ci(a, b, seed=seed)
    return {**mcnemar_exact(a, b), "diff": d, "diff_ci95": [lo, hi]}


def _family(tests: Sequence[dict[str, Any]], margin_pp: float, n: int) -> list[Paired]:
    """Holm over ``tests``, each judged at the margin; as Paired values in the same order."""
    for t, p_adj in zip(tests, holm([t["p_value"] for t in tests]), strict=True):
        judge(t, p_adj, margin_pp, n, len(tests))
    return [
        Paired(
            diff=t["diff"],
            lo=t["diff_ci95"][0],
            hi=t["diff_ci95"][1],
            p_value=t["p_value"],
            p_adj=t["p_adj"],
            verdict=t["verdict"],
            n=n,
            only_a=t["only_a"],
            only_b=t["only_b"],
            plan=t.get("plan"),
        )
        for t in tests
    ]


def _score(correct: Sequence[bool], seed: int) -> Score:
    n = len(correct)
    acc = sum(correct) / n if n else float("nan")
    lo, hi = bootstrap_ci(list(correct), seed=seed) if n else (float("nan"), float("nan"))
    return Score(acc, lo, hi, n)


def _unsettled(t: Paired, n: int, margin: float) -> bool:
    """Neither shown worse nor shown within the margin by its interval, and the planner's N
    is beyond the set: the set is too small to tell the two apart."""
    if t.hi < 0 or t.lo >= -margin - EPS or t.plan is None:
        return False
    need = t.needed
    return need is None or need > n


def make_decision(
    candidates: Sequence[Candidate], sets: DecisionSets, costs: CostsConfig, seed: int = 0
) -> Decision:
    """The Decision over ``candidates`` (module docstring for the rule)."""
    on = sets.decide.name
    pool = [c for c in candidates if len(c.correct.get(on, ())) > 0]
    if not pool:
        raise ValueError(f"no option was scored on the decision set {on}")
    pick = _choose(pool, on, costs.margin_pp, seed)
    vs_chosen, short = _confirmation(pool, pick.chosen, sets.confirm, costs.margin_pp, seed)
    shortfalls = (*pick.shortfalls, *([short] if short is not None else []))
    n = len(pool[0].correct[on])
    options = tuple(
        Option(
            key=c.key,
            name=c.name,
            kind=c.kind,
            usd_per_1000=c.usd_per_1000,
            scores={
                s.name: _score(c.correct[s.name], seed) for s in sets.all if c.correct.get(s.name)
            },
            vs_best=pick.vs_best.get(c.key),
            vs_chosen=vs_chosen.get(c.key),
        )
        for c in sorted(pool, key=lambda c: (c.usd_per_1000, -sum(c.correct[on]) / n))
    )
    return Decision(
        volume=costs.tickets_per_month,
        margin_pp=costs.margin_pp,
        decide=sets.decide,
        confirm=sets.confirm,
        checks=tuple(sets.checks),
        options=options,
        chosen_key=pick.chosen.key,
        best_key=pick.best.key,
        runner_up_key=pick.runner.key if pick.runner is not None else None,
        runner_vs_chosen=pick.runner_vs,
        rule=pick.rule,
        shortfalls=shortfalls,
    )


@dataclass(frozen=True)
class _Pick:
    """The choice on the decision set, with the comparisons that made it."""

    chosen: Candidate
    best: Candidate
    runner: Candidate | None
    rule: Rule
    vs_best: dict[str, Paired]
    runner_vs: Paired | None
    shortfalls: tuple[Shortfall, ...]


def usd_key(c: Candidate) -> float:
    """The cost the rule compares: USD per 1,000 tickets to the cent the report shows."""
    return round(c.usd_per_1000, 2)


def _choose(pool: Sequence[Candidate], on: str, m: float, seed: int) -> _Pick:
    """Rules 1-4 of the module docstring on the decision set ``on``."""
    n = len(pool[0].correct[on])

    def acc(c: Candidate) -> float:
        return sum(c.correct[on]) / n

    def cheapest(cs: Sequence[Candidate]) -> Candidate:
        return min(cs, key=lambda c: (usd_key(c), -acc(c)))

    best = max(pool, key=lambda c: (acc(c), -usd_key(c)))
    others = [c for c in pool if c is not best]
    raw = {c.key: _paired(best.correct[on], c.correct[on], seed) for c in others}
    # The rule reads the intervals; whether the set is too small also reads the planner's N.
    ok = [best, *(c for c in others if raw[c.key]["diff_ci95"][0] >= -m / 100 - EPS)]
    chosen, rule = cheapest(ok), cast(Rule, "non-inferior")
    first = dict(zip(raw, _family([dict(t) for t in raw.values()], m, n), strict=True))
    cheaper = [c for c in others if usd_key(c) < usd_key(chosen)]
    apart = [c for c in cheaper if _unsettled(first[c.key], n, m / 100)]
    runner: Candidate | None
    if apart:
        chosen, rule = cheapest([*ok, *apart]), cast(Rule, "too-small")
        runner = best
    else:
        cheaper_ok = sorted((c for c in ok if c is not chosen), key=usd_key)
        others_acc = (c for c in pool if c is not chosen)
        runner = cheaper_ok[0] if cheaper_ok else max(others_acc, key=acc, default=None)
    if chosen is best:
        rule = "most-accurate"
    # One family: every option against the most accurate, and the runner-up against the
    # chosen option where that is another pair.
    extra = [] if runner is None or chosen is best else [(chosen, runner)]
    tests = [*raw.values(), *(_paired(a.correct[on], b.correct[on], seed) for a, b in extra)]
    judged = _family(tests, m, n)
    vs_best = dict(zip(raw, judged, strict=False))
    runner_vs = judged[-1] if extra else vs_best.get(runner.key) if runner else None
    shortfalls: tuple[Shortfall, ...] = ()
    if rule == "too-small":
        names = tuple(c.name for c in sorted([*ok, *apart], key=usd_key))
        need = vs_best[chosen.key].needed or first[chosen.key].needed or 0
        shortfalls = (Shortfall("decide", on, n, need, names),)
    return _Pick(chosen, best, runner, rule, vs_best, runner_vs, shortfalls)


def _confirmation(
    pool: Sequence[Candidate],
    chosen: Candidate,
    confirm: SetInfo | None,
    margin_pp: float,
    seed: int,
) -> tuple[dict[str, Paired], Shortfall | None]:
    """On the confirmation set: every option minus the chosen one, one Holm family; and the
    shortfall, if one of those comparisons is one the set is too small to settle."""
    if confirm is None or not chosen.correct.get(confirm.name):
        return {}, None
    on = confirm.name
    n = len(chosen.correct[on])
    rivals = [c for c in pool if c is not chosen and len(c.correct.get(on, ())) == n]
    tests = [_paired(chosen.correct[on], c.correct[on], seed) for c in rivals]
    judged = dict(zip((c.key for c in rivals), _family(tests, margin_pp, n), strict=True))
    # too small to confirm: an option the set can neither show worse nor within the margin
    # of the chosen one (its interval reaching 0), with a planner's N beyond the set
    open_ = [c for c in rivals if _unsettled(judged[c.key], n, margin_pp / 100)]
    if not open_:
        return judged, None
    top = max(open_, key=lambda c: sum(c.correct[on]))
    names = (chosen.name, *(c.name for c in open_))
    return judged, Shortfall("confirm", on, n, judged[top.key].needed or 0, names)
