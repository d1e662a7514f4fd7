"""The business decision, rendered: which model to run at a volume, what it costs per 1,000
tickets, and how far its probabilities can be trusted.

    out = decide(by_set, CostsConfig(), train_summary, sets=DecisionSets(...))
    out.decision          # the typed Decision (bizztune.eval.decision), for the first screen
    out.set_sections      # set name -> its calibration section
    out.sections, out.plots, out.summary

``by_set``: test set name -> eval label -> run (an EvalRun, renamed to its display name);
``sets``: which of them the options are chosen on, which confirms the choice, and the checks
(default: the first set decides, the others are checks). The Decision and the costs are
computed in ``eval/`` (``eval.options``, ``eval.decision``, ``eval.costs``); this module lays out their
sections, and ``headline.py`` says the Decision in words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bizztune.eval.choose import make_decision
from bizztune.eval.costs import CostsConfig, ModelCost, break_even
from bizztune.eval.decision import Decision, DecisionSets, SetInfo
from bizztune.eval.options import candidates_of, model_costs
from bizztune.eval.paired import BASE_LABEL, FINETUNED_LABEL
from bizztune.eval.tables import md_header
from bizztune.report.calibration import Plot, Run, calibration_section, usd, volume_str
from bizztune.report.decision_plots import plot_accuracy_cost, plot_cost_volume
from bizztune.report.headline import rule_section
from bizztune.report.html import Section
from bizztune.report.set_sections import slug


@dataclass
class DecisionOutput:
    decision: Decision | None = None
    set_sections: dict[str, list[Section]] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    """How the choice was made, then the cost sections."""
    plots: list[Plot] = field(default_factory=list)
    chart: Plot | None = None
    """Accuracy against cost of every option, for the first screen."""
    summary: dict[str, Any] = field(default_factory=dict)


def default_sets(names: Sequence[str]) -> DecisionSets:
    """The first set decides; the others are checks (older callers)."""
    infos = [SetInfo(s, False, "test items") for s in names]
    return DecisionSets(infos[0], None, tuple(infos[1:]))


# -- the whole thing -------------------------------------------------------------------------------
def decide(
    by_set: Mapping[str, Mapping[str, Run]],
    costs: CostsConfig,
    train: Mapping[str, Any] | None = None,
    seed: int = 0,
    sets: DecisionSets | None = None,
) -> DecisionOutput:
    """Calibration, costs and the Decision for runs scored on the same sets."""
    out = DecisionOutput()
    names = [s for s, runs in by_set.items() if runs]
    if not names:
        return out
    roles = sets or default_sets(names)
    roles = DecisionSets(
        roles.decide,
        roles.confirm if roles.confirm and roles.confirm.name in names else None,
        tuple(s for s in roles.checks if s.name in names),
    )
    on = roles.decide.name
    first = by_set[on]
    fields = list(next(iter(first.values())).fields)
    mcost = model_costs(first, costs, train)
    summary_sets: dict[str, Any] = {}
    for i, s in enumerate(roles.all):
        runs = by_set[s.name]
        suffix = "" if i == 0 else f"-{slug(s.name)}"
        secs, cal_summary = calibration_section(runs, s.name, suffix)
        out.set_sections[s.name] = secs
        summary_sets[s.name] = {"calibration": cal_summary}
    candidates = candidates_of(by_set, on, mcost, costs, fields)
    d = make_decision(candidates, roles, costs, seed)
    out.decision = d
    out.sections = [
        rule_section(d),
        *_cost_sections(mcost, costs, [s.name for s in roles.all], by_set),
    ]
    out.chart = _chart(d)
    out.plots.append(_cost_plot(d, mcost, costs))
    out.summary = {
        "decision": d.to_dict(),
        "costs": {
            "tickets_per_month": costs.tickets_per_month,
            "config": {k: getattr(costs, k) for k in costs.__dataclass_fields__},
            "models": {label: c.to_dict(costs) for label, c in mcost.items()},
            "break_even": _break_even_table(mcost, costs),
        },
        "test_sets": summary_sets,
    }
    return out


def _chart(d: Decision) -> Plot:
    """Accuracy against cost of every option on the decision and confirmation sets."""
    points = []
    for o in d.options:
        sd = o.scores[d.decide.name]
        sc = o.scores.get(d.confirm.name) if d.confirm else None
        points.append(
            (
                o.name,
                o.usd_per_1000,
                (sd.accuracy, sd.lo, sd.hi),
                (sc.accuracy, sc.lo, sc.hi) if sc else None,
                o.key == d.chosen_key,
            )
        )
    frontier = [d.option(k).name for k in d.frontier(d.decide.name)]
    confirm = d.confirm.name if d.confirm else None
    png = plot_accuracy_cost(points, frontier, d.decide.name, confirm, d.volume)
    caption = (
        f"Joint accuracy against USD per 1,000 tickets: every option, with 95% intervals, on "
        f"{d.decide.name} (chosen on; the line is its cost-accuracy frontier)"
        + (f" and {confirm} (confirmed on)" if confirm else "")
    )
    return ("accuracy-cost", caption, png)


def _break_even_table(mcost: Mapping[str, ModelCost], costs: CostsConfig) -> dict[str, Any]:
    apis = {k: c for k, c in mcost.items() if c.kind == "api"}
    return {
        label: {a: break_even(c, api, costs) for a, api in apis.items()}
        for label, c in mcost.items()
        if c.kind == "local"
    }


def _cost_sections(
    mcost: Mapping[str, ModelCost],
    costs: CostsConfig,
    sets: Sequence[str],
    by_set: Mapping[str, Mapping[str, Run]],
) -> list[Section]:
    v = costs.tickets_per_month
    head = [
        "Model",
        "Priced by",
        "Tickets per hour",
        "Training",
        f"USD per month at {v:,}",
        "USD per 1,000",
        *(f"USD per 1,000 correct ({s})" for s in sets),
    ]
    lines = md_header(head)
    for label, c in mcost.items():
        per = c.per_1000(v, costs)
        correct = []
        for s in sets:
            r = by_set[s].get(label)
            acc = r.joint_accuracy if r else float("nan")
            correct.append(usd(per / acc) if acc and acc == acc else "n/a")
        if c.kind == "api":
            priced = c.note
            tph, train = "n/a", "n/a"
        else:
            priced = f"{c.device} at {c.usd_per_hour:g} USD/h"
            tph = f"{1 / c.hours_per_ticket:,.0f}" if c.hours_per_ticket else "n/a"
            train = (
                f"{60 * c.train_hours:.1f} min on {c.train_device or 'cpu'}, {usd(c.train_usd)} USD"
                if c.train_hours
                else "none"
            )
        cells = [c.name, priced, tph, train, usd(c.monthly(v, costs)), usd(per), *correct]
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        f"API models: the run's tokens per ticket at list price (source and date shown; "
        f"costs.api_prices overrides them). Local models: machine hours at "
        f"{costs.cpu_usd_per_hour:g} USD/h (CPU) or {costs.gpu_usd_per_hour:g} USD/h (GPU), the "
        f"machine paid for {costs.hosting_hours_per_month:g} h a month or the hours the "
        f"tickets take if more, throughput as measured (1 / mean latency per ticket), and the "
        f"measured training time at the price of its device spread over "
        f"{costs.amortize_months:g} months. Per 1,000 correct: per 1,000 divided by the joint "
        f"accuracy on that set."
    )
    out: list[Section] = [
        ("costs", f"Cost per 1,000 tickets at {v:,} a month", "\n".join(lines), note)
    ]
    be = _break_even_table(mcost, costs)
    apis = [k for k, c in mcost.items() if c.kind == "api"]
    if be and apis:
        head = ["Local model", *(f"vs {mcost[a].name}" for a in apis)]
        lines = md_header(head)
        for label, row in be.items():
            lines.append(
                "| " + " | ".join([mcost[label].name, *(volume_str(row[a]) for a in apis)]) + " |"
            )
        out.append(
            (
                "break-even",
                "Break-even volume: tickets a month from which the local model costs no more",
                "\n".join(lines),
                "The lowest monthly volume at which the local model's training (amortised) and "
                "hosting cost no more than the API model's tokens; never: the API costs less per "
                "ticket than the local machine's compute. Accuracy is not part of it.",
            )
        )
    return out


def _cost_plot(
    d: Decision,
    mcost: Mapping[str, ModelCost],
    costs: CostsConfig,
) -> Plot:
    """Every option's monthly cost; the fine-tuned model's break-even volumes marked."""
    marks: list[tuple[str, float]] = []
    ft = mcost.get(FINETUNED_LABEL) or mcost.get(BASE_LABEL)
    if ft is not None:
        for c in mcost.values():
            if c.kind == "api":
                be = break_even(ft, c, costs)
                if be:
                    marks.append((f"{ft.name} = {c.name}", be))

    def line(c: ModelCost) -> Any:
        return lambda x: c.monthly(x, costs)

    lines = [(o.name, line(mcost[o.key])) for o in d.options]
    png = plot_cost_volume(lines, costs.tickets_per_month, marks)
    return ("cost-volume", "Monthly cost against volume, with the break-even volumes", png)
