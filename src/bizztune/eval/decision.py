"""The Decision of ``bizztune run`` as a typed value: which option to run, chosen on one set of
tickets and confirmed on another; report/ and the console only render it.

    d = make_decision(candidates, sets, CostsConfig())      # bizztune.eval.choose
    d.chosen.name, d.rule, d.shortfalls                      # what to run, by which rule, what is missing
    d.chosen.scores["tickets:foreign"].accuracy              # on every set, with its interval
    Decision.from_dict(d.to_dict()) == d                     # summary.json's "decision"

Sets are named as the report names them (``tickets:foreign-dev``, ``val split``); the decision
set is where the options were compared and one chosen, the confirmation set where the chosen
option's accuracy and paired comparisons are reported, the checks are further sets (the
generator's own tickets). The rule that fills it in is ``bizztune.eval.choose``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["model", "combined"]
Rule = Literal["non-inferior", "most-accurate", "too-small"]


@dataclass(frozen=True)
class SetInfo:
    """One set of tickets the Decision reads, as the report names it."""

    name: str
    """``tickets:foreign-dev``, ``val split``, ``test split``, a path."""
    people: bool
    """Written by people (a hand-written set, your own tickets), not by the generator."""
    what: str
    """What it is, in a few words: "hand-written tickets", "the generator's own tickets"."""


@dataclass(frozen=True)
class DecisionSets:
    """Which set the options are chosen on, which one confirms the choice, and the further
    sets every option is reported on."""

    decide: SetInfo
    confirm: SetInfo | None = None
    checks: tuple[SetInfo, ...] = ()

    @property
    def all(self) -> tuple[SetInfo, ...]:
        return (self.decide, *((self.confirm,) if self.confirm else ()), *self.checks)


@dataclass(frozen=True)
class Score:
    """Joint accuracy on one set, with its 95% bootstrap interval."""

    accuracy: float
    lo: float
    hi: float
    n: int


@dataclass(frozen=True)
class Paired:
    """B against A on the items both scored: Δ = B - A, its paired 95% bootstrap interval,
    McNemar's exact p, the Holm-adjusted p within its family, the margin verdict of B
    against A and, when inconclusive, the planner's numbers of items (``inference.plan``)."""

    diff: float
    lo: float
    hi: float
    p_value: float
    p_adj: float
    verdict: str
    n: int
    only_a: int
    only_b: int
    plan: Mapping[str, Any] | None = None

    @property
    def needed(self) -> int | None:
        """The fewest items with which the planner would settle it (show B within the
        margin, or detect the difference); None when no number is enough or it is settled."""
        if self.plan is None:
            return None
        ns = [self.plan[k] for k in ("n_non_inferior", "n_detect") if self.plan.get(k)]
        return min(ns) if ns else None

    def as_test(self) -> dict[str, Any]:
        """The shape of ``paired.paired_tests``' entries (``inference.verdict_cell`` reads it)."""
        out = {
            "diff": self.diff,
            "diff_ci95": [self.lo, self.hi],
            "p_value": self.p_value,
            "p_adj": self.p_adj,
            "verdict": self.verdict,
        }
        return out | ({"plan": dict(self.plan)} if self.plan is not None else {})


@dataclass(frozen=True)
class Option:
    """One option as the Decision judged it."""

    key: str
    name: str
    kind: Kind
    usd_per_1000: float
    scores: Mapping[str, Score]
    """Set name -> joint accuracy on it."""
    vs_best: Paired | None = None
    """On the decision set, this option minus the most accurate one (None: it is that one)."""
    vs_chosen: Paired | None = None
    """On the confirmation set, this option minus the chosen one (None: it is that one, or
    there is no confirmation set)."""


@dataclass(frozen=True)
class Shortfall:
    """A set too small to separate the options the Decision compares."""

    role: Literal["decide", "confirm"]
    set_name: str
    n: int
    """Tickets in the set."""
    needed: int
    """The planner's N: tickets with which (power 0.8) the comparison would be settled."""
    options: tuple[str, ...]
    """The options it cannot tell apart, by name."""

    @property
    def more(self) -> int:
        """Tickets to label beyond the set's own."""
        return max(self.needed - self.n, 0)


@dataclass(frozen=True)
class Decision:
    """Which option to run, by which rule, on which sets (module docstring)."""

    volume: int
    """``costs.tickets_per_month``."""
    margin_pp: float
    decide: SetInfo
    confirm: SetInfo | None
    checks: tuple[SetInfo, ...]
    """Further sets every option was scored on (the generator's own tickets)."""
    options: tuple[Option, ...]
    """Cheapest first."""
    chosen_key: str
    best_key: str
    runner_up_key: str | None
    runner_vs_chosen: Paired | None
    """On the decision set, the runner-up minus the chosen option."""
    rule: Rule
    shortfalls: tuple[Shortfall, ...] = field(default_factory=tuple)

    def option(self, key: str) -> Option:
        return next(o for o in self.options if o.key == key)

    @property
    def chosen(self) -> Option:
        return self.option(self.chosen_key)

    @property
    def best(self) -> Option:
        return self.option(self.best_key)

    @property
    def runner_up(self) -> Option | None:
        return self.option(self.runner_up_key) if self.runner_up_key else None

    @property
    def sets(self) -> tuple[SetInfo, ...]:
        """The decision set, the confirmation set, then the checks."""
        return (self.decide, *((self.confirm,) if self.confirm else ()), *self.checks)

    @property
    def reported_on(self) -> SetInfo:
        """Where the chosen option's accuracy is quoted: the confirmation set if any."""
        return self.confirm or self.decide

    def versus(self, o: Option) -> Paired | None:
        """``o`` minus the chosen option where the chosen one is reported: on the
        confirmation set, else on the decision set (known there when the chosen option is
        the most accurate one, or ``o`` is the runner-up)."""
        if o.key == self.chosen_key:
            return None
        if self.confirm is not None:
            return o.vs_chosen
        if self.chosen_key == self.best_key:
            return o.vs_best
        return self.runner_vs_chosen if o.key == self.runner_up_key else None

    def beats(self) -> list[Option]:
        """The options the chosen one is shown better than where it is reported, the most
        accurate first."""
        on = self.reported_on.name
        out = [o for o in self.options if (t := self.versus(o)) and t.verdict == "inferior"]
        return sorted(out, key=lambda o: -o.scores[on].accuracy if on in o.scores else 0.0)

    def frontier(self, set_name: str) -> list[str]:
        """The options no other option beats on both cost and accuracy on ``set_name`` (at
        most as expensive and more accurate, or cheaper and as accurate), cheapest first."""
        scored = [o for o in self.options if set_name in o.scores]
        out = []
        for o in scored:
            a = o.scores[set_name].accuracy
            if not any(
                (p.usd_per_1000 <= o.usd_per_1000 and p.scores[set_name].accuracy > a)
                or (p.usd_per_1000 < o.usd_per_1000 and p.scores[set_name].accuracy >= a)
                for p in scored
            ):
                out.append(o.key)
        return out

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Decision:
        return _from_dict(d)


# -- summary.json ----------------------------------------------------------------------------------
def _paired_dict(p: Paired | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "diff": p.diff,
        "ci95": [p.lo, p.hi],
        "p_value": p.p_value,
        "p_adj": p.p_adj,
        "verdict": p.verdict,
        "n": p.n,
        "only_a": p.only_a,
        "only_b": p.only_b,
        **({"plan": dict(p.plan)} if p.plan is not None else {}),
    }


def _paired_of(d: Mapping[str, Any] | None) -> Paired | None:
    if d is None:
        return None
    lo, hi = d["ci95"]
    return Paired(
        d["diff"],
        lo,
        hi,
        d["p_value"],
        d["p_adj"],
        d["verdict"],
        d["n"],
        d["only_a"],
        d["only_b"],
        d.get("plan"),
    )


def _set_dict(s: SetInfo) -> dict[str, Any]:
    return {"name": s.name, "people": s.people, "what": s.what}


def _to_dict(d: Decision) -> dict[str, Any]:
    chosen = d.chosen
    return {
        "tickets_per_month": d.volume,
        "margin_pp": d.margin_pp,
        "decide_on": _set_dict(d.decide),
        "confirm_on": _set_dict(d.confirm) if d.confirm else None,
        "checks": [_set_dict(s) for s in d.checks],
        "rule": d.rule,
        "chosen": d.chosen_key,
        "most_accurate": d.best_key,
        "runner_up": d.runner_up_key,
        "runner_vs_chosen": _paired_dict(d.runner_vs_chosen),
        "choice": {"name": chosen.name, "usd_per_1000": chosen.usd_per_1000},
        "shortfalls": [
            {
                "role": s.role,
                "set": s.set_name,
                "n": s.n,
                "needed": s.needed,
                "more": s.more,
                "options": list(s.options),
            }
            for s in d.shortfalls
        ],
        "options": [
            {
                "key": o.key,
                "name": o.name,
                "kind": o.kind,
                "usd_per_1000": o.usd_per_1000,
                "scores": {
                    k: {"accuracy": s.accuracy, "ci95": [s.lo, s.hi], "n": s.n}
                    for k, s in o.scores.items()
                },
                "vs_most_accurate": _paired_dict(o.vs_best),
                "vs_chosen": _paired_dict(o.vs_chosen),
            }
            for o in d.options
        ],
    }


def _from_dict(d: Mapping[str, Any]) -> Decision:
    def info(x: Mapping[str, Any]) -> SetInfo:
        return SetInfo(x["name"], bool(x["people"]), x["what"])

    options = tuple(
        Option(
            key=o["key"],
            name=o["name"],
            kind=o["kind"],
            usd_per_1000=o["usd_per_1000"],
            scores={
                k: Score(s["accuracy"], s["ci95"][0], s["ci95"][1], s["n"])
                for k, s in o["scores"].items()
            },
            vs_best=_paired_of(o.get("vs_most_accurate")),
            vs_chosen=_paired_of(o.get("vs_chosen")),
        )
        for o in d["options"]
    )
    return Decision(
        volume=d["tickets_per_month"],
        margin_pp=d["margin_pp"],
        decide=info(d["decide_on"]),
        confirm=info(d["confirm_on"]) if d.get("confirm_on") else None,
        checks=tuple(info(x) for x in d.get("checks", [])),
        options=options,
        chosen_key=d["chosen"],
        best_key=d["most_accurate"],
        runner_up_key=d.get("runner_up"),
        runner_vs_chosen=_paired_of(d.get("runner_vs_chosen")),
        rule=d["rule"],
        shortfalls=tuple(
            Shortfall(s["role"], s["set"], s["n"], s["needed"], tuple(s["options"]))
            for s in d.get("shortfalls", [])
        ),
    )
