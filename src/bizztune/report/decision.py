"""The business decision: which model or cascade to run at a volume, what it costs per 1,000
tickets, and how far its probabilities can be trusted.

    out = decide(by_set, calibration_runs, CostsConfig(), train_summary)
    out.decision          # the Decision section (sentences and table), for the top of a report
    out.set_sections      # set name -> calibration and cascade sections
    out.sections, out.plots, out.summary

``by_set``: test set name -> eval label -> run (``load_run``'s dict, display name set), the
first set being the one decisions are made on; ``calibration``: label -> the same model's run
on the validation split, whose records fit its temperatures (``eval.calibration``). The
cascade's small model is the fine-tuned one (else the base model); its fallbacks are every API
model and tfidf. Numbers come from ``eval.calibration``, ``eval.cascade`` and ``eval.costs``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bizztune.eval.calibration import Calibration, fit_calibration
from bizztune.eval.cascade import CascadePoint
from bizztune.eval.costs import CostsConfig, ModelCost, break_even, is_api, model_cost
from bizztune.eval.inference import holm, plan_sentence, verdict_cell
from bizztune.eval.metrics import bootstrap_ci, mcnemar_exact, paired_diff_ci
from bizztune.eval.paired import BASE_LABEL, FINETUNED_LABEL, judge, run_name, significant
from bizztune.eval.tables import md_header, pct
from bizztune.report.cascades import (
    Plot,
    Run,
    aligned,
    calibration_section,
    cascade_correct,
    cascade_section,
    correct_of,
    joint_of,
    pp,
    slug,
    usd,
    volume_str,
)
from bizztune.report.decision_plots import plot_cost_volume
from bizztune.report.html import Section

FALLBACK_BASELINES = ("tfidf",)
"""Local baselines tried as a cascade's fallback besides the API models."""


@dataclass
class Option:
    """A model or a cascade at its threshold, as the Decision compares them."""

    name: str
    correct: list[bool]
    """Joint correctness on the first set's shared items."""
    monthly: Callable[[float], float]
    per_set: dict[str, tuple[float, tuple[float, float]]] = field(default_factory=dict)
    """Set name -> joint accuracy and its 95% interval."""

    @property
    def accuracy(self) -> float:
        return sum(self.correct) / len(self.correct) if self.correct else float("nan")


@dataclass
class DecisionOutput:
    decision: Section | None = None
    """The Decision's table, with the rule it follows as its note."""
    text: str = ""
    """The Decision in two to four plain sentences."""
    set_sections: dict[str, list[Section]] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


# -- the whole thing -------------------------------------------------------------------------------
def decide(
    by_set: Mapping[str, Mapping[str, Run]],
    calibration: Mapping[str, Run] | None,
    costs: CostsConfig,
    train: Mapping[str, Any] | None = None,
    seed: int = 0,
    small: str | None = None,
    fallbacks: Sequence[str] | None = None,
) -> DecisionOutput:
    """Calibration, cascades, costs and the Decision for runs scored on the same sets.
    ``small``: the label of the cascades' first model (default: the fine-tuned one, else the
    base model); ``fallbacks``: their second models (default: every API model and tfidf)."""
    out = DecisionOutput()
    sets = [s for s, runs in by_set.items() if runs]
    if not sets:
        return out
    first = by_set[sets[0]]
    fields = list(next(iter(first.values()))["metrics"]["fields"])
    cals = {
        label: fit_calibration(list(r["predictions"].values()), fields)
        for label, r in (calibration or {}).items()
    }
    v = costs.tickets_per_month
    mcost = {
        label: model_cost(
            r, costs, run_name(r), dict(train) if label == FINETUNED_LABEL and train else None
        )
        for label, r in first.items()
    }
    if small is None:
        small = next((x for x in (FINETUNED_LABEL, BASE_LABEL) if x in first), None)
    if fallbacks is None:
        fallbacks = [
            label
            for label, r in first.items()
            if label != small
            and (is_api(r) or r["config"]["eval"]["provider"]["name"] in FALLBACK_BASELINES)
        ]
    chosen: dict[str, CascadePoint | None] = {}
    summary_sets: dict[str, Any] = {}
    for i, set_name in enumerate(sets):
        runs = by_set[set_name]
        suffix = "" if i == 0 else f"-{slug(set_name)}"
        secs, plots, cal_summary = calibration_section(runs, cals, fields, set_name, suffix, i > 0)
        out.plots += plots
        casc_secs, casc_plots, casc_summary = cascade_section(
            runs, small, fallbacks, cals, mcost, costs, fields, set_name, suffix, chosen, seed
        )
        out.set_sections[set_name] = secs + casc_secs
        out.plots += casc_plots
        summary_sets[set_name] = {"calibration": cal_summary, "cascades": casc_summary}
    options = _options(by_set, sets, chosen, mcost, costs, cals, fields, seed)
    out.sections += _cost_sections(mcost, costs, sets, by_set)
    out.plots.append(_cost_plot(options, mcost, costs, small))
    decision, dsum = _decision(options, sets, costs, seed)
    out.decision, out.text = decision, " ".join(dsum["sentences"])
    out.summary = {
        "decision": dsum,
        "costs": {
            "tickets_per_month": v,
            "config": {k: getattr(costs, k) for k in costs.__dataclass_fields__},
            "models": {label: c.to_dict(costs) for label, c in mcost.items()},
            "break_even": _break_even_table(mcost, costs),
        },
        "test_sets": summary_sets,
    }
    return out


# -- options, costs and the decision ---------------------------------------------------------------
def _monthly(c: ModelCost, costs: CostsConfig) -> Callable[[float], float]:
    def monthly(volume: float) -> float:
        return c.monthly(volume, costs)

    return monthly


def _acc_ci(correct: Sequence[bool], seed: int) -> tuple[float, tuple[float, float]]:
    acc = sum(correct) / len(correct) if correct else float("nan")
    return acc, bootstrap_ci(list(correct), seed=seed)


def _options(
    by_set: Mapping[str, Mapping[str, Run]],
    sets: Sequence[str],
    chosen: Mapping[str, CascadePoint | None],
    mcost: Mapping[str, ModelCost],
    costs: CostsConfig,
    cals: Mapping[str, Calibration],
    fields: Sequence[str],
    seed: int,
) -> list[Option]:
    """Every model alone and every cascade at its chosen threshold, on the first set's items
    that all of them scored; with each one's accuracy on every set."""
    first = by_set[sets[0]]
    ids = aligned(first)
    opts: list[Option] = []
    for label, r in first.items():
        o = Option(run_name(r), joint_of(correct_of(r, ids, fields)), _monthly(mcost[label], costs))
        for s in sets:
            other = by_set[s].get(label)
            if other is not None:
                o.per_set[s] = _acc_ci(
                    joint_of(correct_of(other, list(other["predictions"]), fields)), seed
                )
        opts.append(o)
    for key, pick in chosen.items():
        if pick is None or pick.threshold is None or pick.deferred == 0:
            # deferring everything is the fallback alone plus the small model's cost; deferring
            # nothing is the small model alone: both are options already
            continue
        sm, fb = key.split(">", 1)
        share, t = pick.deferred, pick.threshold

        def monthly(x: float, sm: str = sm, fb: str = fb, share: float = share) -> float:
            return mcost[sm].monthly(x, costs) + mcost[fb].monthly(share * x, costs)

        name = f"{run_name(first[sm])} → {run_name(first[fb])} (t ≥ {t:.4g})"
        o = Option(name, cascade_correct(first, sm, fb, ids, t, cals, fields), monthly)
        for s in sets:
            runs = by_set[s]
            if sm in runs and fb in runs:
                sids = aligned({sm: runs[sm], fb: runs[fb]})
                o.per_set[s] = _acc_ci(cascade_correct(runs, sm, fb, sids, t, cals, fields), seed)
        opts.append(o)
    return opts


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
            acc = float(r["metrics"]["joint"]["accuracy"]) if r else float("nan")
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
    options: Sequence[Option],
    mcost: Mapping[str, ModelCost],
    costs: CostsConfig,
    small: str | None,
) -> Plot:
    """Every option's monthly cost; the small model's break-even volumes marked."""
    marks: list[tuple[str, float]] = []
    ft = mcost.get(small) if small else None
    if ft is not None:
        for c in mcost.values():
            if c.kind == "api":
                be = break_even(ft, c, costs)
                if be:
                    marks.append((f"{ft.name} = {c.name}", be))
    lines = [(o.name, o.monthly) for o in options]
    png = plot_cost_volume(lines, costs.tickets_per_month, marks)
    return ("cost-volume", "Monthly cost against volume, with the break-even volumes", png)


def _test(a: Option, b: Option, seed: int) -> dict[str, Any]:
    """B against A on their shared items, in the shape of ``paired.paired_tests``' entries."""
    d, lo, hi = paired_diff_ci(a.correct, b.correct, seed=seed)
    return {**mcnemar_exact(a.correct, b.correct), "diff": d, "diff_ci95": [lo, hi]}


def _decision(
    options: Sequence[Option], sets: Sequence[str], costs: CostsConfig, seed: int
) -> tuple[Section, dict[str, Any]]:
    v, m = costs.tickets_per_month, costs.margin_pp
    set0 = sets[0]
    n = len(options[0].correct)
    best = max(options, key=lambda o: (o.accuracy, -o.monthly(v)))
    vs_best = {id(o): _test(best, o, seed) for o in options if o is not best}
    ok = [o for o in options if o is best or vs_best[id(o)]["diff_ci95"][0] >= -m / 100 - 1e-12]
    choice = min(ok, key=lambda o: (o.monthly(v), -o.accuracy))
    cheaper_ok = sorted((o for o in ok if o is not choice), key=lambda o: o.monthly(v))
    runner = (
        cheaper_ok[0]
        if cheaper_ok
        else max((o for o in options if o is not choice), key=lambda o: o.accuracy, default=None)
    )
    # One family: every option against the most accurate, and the runner-up against the
    # choice where that is another pair. Holm over all of them; the rule itself reads only
    # the intervals, the verdicts and the sentences read the adjusted p.
    family = list(vs_best.values())
    vs_choice: dict[str, Any] | None = None
    if runner is not None:
        if choice is best:
            vs_choice = vs_best[id(runner)]
        else:
            vs_choice = _test(choice, runner, seed)
            family.append(vs_choice)
    for t, p_adj in zip(family, holm([t["p_value"] for t in family]), strict=True):
        judge(t, p_adj, m, n, len(family))
    vs_best[id(best)] = {
        "diff": 0.0,
        "diff_ci95": [0.0, 0.0],
        "p_value": 1.0,
        "p_adj": 1.0,
        "verdict": "most accurate",
    }

    def per1000(o: Option) -> float:
        return o.monthly(v) / v * 1000

    def acc_text(o: Option, s: str) -> str:
        acc, (lo, hi) = o.per_set.get(s, (o.accuracy, (float("nan"),) * 2))
        return f"{pct(acc)}% (95% CI [{pct(lo)}, {pct(hi)}])"

    def per_correct(o: Option) -> str:
        return usd(per1000(o) / o.accuracy) if o.accuracy else "n/a"

    def interval(t: Mapping[str, Any]) -> str:
        lo, hi = t["diff_ci95"]
        return (
            f"paired difference {pp(t['diff'])} pp, 95% CI [{pp(lo)}, {pp(hi)}], Holm-adjusted "
            f"McNemar p={t['p_adj']:.3g}"
        )

    text = [
        f"At {v:,} tickets a month, run {choice.name}: it gets {acc_text(choice, set0)} of the "
        f"tickets of the {set0} fully right, at {usd(per1000(choice))} USD per 1,000 tickets "
        f"({per_correct(choice)} USD per 1,000 correct ones), training and hosting included."
    ]
    if choice is best:
        cheaper = [o for o in options if o.monthly(v) < choice.monthly(v)]
        open_ = [o for o in cheaper if vs_best[id(o)]["verdict"] == "inconclusive"]
        if not cheaper:
            text.append("It is the most accurate option measured, and no option costs less.")
        elif not open_:
            text.append(
                f"It is the most accurate option measured, and every cheaper option is shown "
                f"to be less accurate and not shown to be within {m:g} pp of it (paired 95% "
                f"interval below 0 and reaching below -{m:g} pp, Holm-adjusted McNemar p < 0.05)."
            )
        else:
            o = max(open_, key=lambda o: (o.accuracy, -o.monthly(v)))
            t = vs_best[id(o)]
            need = plan_sentence(t["plan"])
            text.append(
                f"It is the most accurate option measured, but not shown to be better than the "
                f"cheaper {o.name} ({usd(per1000(o))} USD per 1,000; {interval(t)}): on these "
                f"{n} tickets {o.name} can neither be shown within {m:g} pp of it nor shown "
                f"worse, an inconclusive result, and the rule pays for the pricier option until "
                f"a cheaper one is shown non-inferior." + (f" {need}" if need else "")
            )
    else:
        t = vs_best[id(choice)]
        text.append(
            f"The most accurate option measured, {best.name} ({pct(best.accuracy)}%), costs "
            f"{usd(per1000(best))} USD per 1,000; {choice.name} is shown to be within {m:g} pp "
            f"of it (non-inferior: {interval(t)})."
        )
    if runner is not None and vs_choice is not None:
        sig = significant(vs_choice)
        # vs_choice is runner - choice when the choice is not the most accurate, else
        # runner - best = runner - choice: either way its sign is the runner's
        rel = {
            1: f"more accurate than {choice.name}",
            -1: f"less accurate than {choice.name}",
            0: f"not distinguishable in accuracy from {choice.name} at this sample size",
        }[sig]
        text.append(
            f"Runner-up: {runner.name} at {usd(per1000(runner))} USD per 1,000, "
            f"{pct(runner.accuracy)}% fully right; it is {rel} ({interval(vs_choice)})."
        )
    for s in sets[1:]:
        parts = [
            f"{o.name} {acc_text(o, s)}"
            for o in (choice, runner)
            if o is not None and s in o.per_set
        ]
        if parts:
            text.append(f"On {s}: " + "; ".join(parts) + ".")
    head = [
        "Option",
        *(f"Joint acc % [95% CI] ({s})" for s in sets),
        "USD per 1,000",
        "USD per 1,000 correct",
        "Δ vs most accurate pp [95% CI]",
        "McNemar p (Holm)",
        f"vs most accurate, margin {m:g} pp",
    ]
    lines = md_header(head)
    for o in sorted(options, key=lambda o: o.monthly(v)):
        t = vs_best[id(o)]
        lo, hi = t["diff_ci95"]
        accs = []
        for s in sets:
            acc, ci = o.per_set.get(s, (float("nan"), (float("nan"),) * 2))
            accs.append(f"{pct(acc)} [{pct(ci[0])}, {pct(ci[1])}]" if s in o.per_set else "n/a")
        verdict = verdict_cell(t) if o is not best else "most accurate"
        cells = [
            o.name,
            *accs,
            usd(per1000(o)),
            per_correct(o),
            f"{pp(t['diff'])} [{pp(lo)}, {pp(hi)}]",
            f"{t['p_value']:.3g} ({t['p_adj']:.3g})" if o is not best else "n/a",
            f"{verdict}, chosen" if o is choice else verdict,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        f"Rule: among the options shown to be within {m:g} pp of the most accurate one on the "
        f"{set0} (non-inferior: the lower end of the paired 95% bootstrap interval of the "
        f"difference at or above -{m:g} pp; costs.margin_pp), the cheapest at "
        f"costs.tickets_per_month. A cheaper option whose interval reaches below -{m:g} pp "
        f"without being shown worse is inconclusive: the rule does not pick it, and N is the "
        f"number of test tickets with which (power 0.8, the measured difference and discordance "
        f"taken as true) it could be shown within {m:g} pp or its difference detected (at 0.05 "
        f"divided by the family's size). Superior "
        f"/ inferior also need a Holm-adjusted McNemar p < 0.05; the family is every option "
        f"against the most accurate (and the runner-up against the choice). docs/method.md has "
        f"the exact rules. Costs: the 'Cost per 1,000 tickets' section."
    )
    summary = {
        "tickets_per_month": v,
        "test_set": set0,
        "margin_pp": m,
        "choice": _option_summary(choice, v, vs_best),
        "runner_up": _option_summary(runner, v, vs_best) if runner else None,
        "most_accurate": best.name,
        "sentences": text,
    }
    return ("decision", "Decision", "\n".join(lines), note), summary


def _option_summary(
    o: Option, v: float, vs_best: Mapping[int, Mapping[str, Any]]
) -> dict[str, Any]:
    t = vs_best[id(o)]
    return {
        "name": o.name,
        "accuracy": o.accuracy,
        "per_set": {s: {"accuracy": a, "ci95": list(ci)} for s, (a, ci) in o.per_set.items()},
        "usd_per_month": o.monthly(v),
        "usd_per_1000": o.monthly(v) / v * 1000,
        "diff_vs_most_accurate": {
            "diff": t["diff"],
            "ci95": list(t["diff_ci95"]),
            "p_value": t["p_value"],
            "p_adj": t["p_adj"],
            "verdict": t["verdict"],
            **({"plan": t["plan"]} if "plan" in t else {}),
        },
    }
