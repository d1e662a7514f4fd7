"""The calibration and cascade sections of a report, one test set at a time, and the small
helpers the Decision shares with them.

    secs, plots, summary = calibration_section(runs, cals, fields, "test split", "", False)
    secs, plots, summary = cascade_section(runs, small, fallbacks, cals, mcost, costs, ...)

``runs``: eval label -> run (``load_run``'s dict) scored on one set. The numbers are
``eval.calibration``'s, ``eval.cascade``'s and ``eval.options``'; ``report.decision`` puts
them together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bizztune.eval.calibration import (
    Calibration,
    calibration_summary,
    confidences,
    reliability,
    risk_coverage,
)
from bizztune.eval.cascade import CascadePoint
from bizztune.eval.costs import CostsConfig, ModelCost
from bizztune.eval.options import cascade_points
from bizztune.eval.paired import run_name
from bizztune.eval.tables import field_title, md_header, pct
from bizztune.report.decision_plots import plot_cascades, plot_reliability, plot_risk_coverage
from bizztune.report.html import Section

Run = dict[str, Any]
Plot = tuple[str, str, bytes]


def usd(x: float) -> str:
    if x != x or x == float("inf"):
        return "n/a"
    return f"{x:,.4f}" if abs(x) < 0.01 else f"{x:,.3f}" if abs(x) < 1 else f"{x:,.2f}"


def volume_str(v: float | None) -> str:
    return "never" if v is None else f"{v:,.0f}"


def pp(x: float) -> str:
    return f"{100 * x:+.1f}"


def slug(name: str) -> str:
    stem = name.split(":", 1)[1] if ":" in name else name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-") or "set"


# -- calibration -----------------------------------------------------------------------------------
def calibration_section(
    runs: Mapping[str, Run],
    cals: Mapping[str, Calibration],
    fields: Sequence[str],
    set_name: str,
    suffix: str,
    named: bool,
) -> tuple[list[Section], list[Plot], dict[str, Any]]:
    on = f" ({set_name})" if named else ""
    head = [
        "Model",
        "With probabilities %",
        "Val items",
        "T joint",
        f"T {' / '.join(field_title(f) for f in fields)}",
        "ECE joint raw → calibrated",
        *(f"ECE {field_title(f)} raw → calibrated" for f in fields),
        "AURC %",
    ]
    lines = md_header(head)
    panels: list[tuple[str, Any, Any]] = []
    curves: list[tuple[str, Sequence[float], Sequence[float]]] = []
    summary: dict[str, Any] = {}
    for label, r in runs.items():
        recs = list(r["predictions"].values())
        cal = cals.get(label)
        s = calibration_summary(recs, fields, cal)
        summary[label] = s
        fitted = cal is not None and cal.fitted

        def arrow(raw: float, after: float | None) -> str:
            return f"{pct(raw)} → {pct(after)}" if after is not None else f"{pct(raw)} → n/a"

        cells = [
            run_name(r),
            f"{100 * s['with_probs']:.0f}",
            str(cal.n) if fitted and cal else "n/a",
            f"{cal.joint:.2f}" if fitted and cal else "n/a",
            " / ".join(f"{cal.fields.get(f, 1.0):.2f}" for f in fields)
            if fitted and cal
            else "n/a",
            arrow(s["ece_joint"], s.get("ece_joint_after")),
            *(arrow(s["ece"][f], (s.get("ece_after") or {}).get(f)) for f in fields),
            pct(s["aurc"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if s["with_probs"] > 0:
            raw = confidences(recs, fields)
            after = confidences(recs, fields, cal) if fitted else None
            panels.append(
                (
                    run_name(r),
                    reliability(raw.joint, raw.joint_correct),
                    reliability(after.joint, after.joint_correct) if after else None,
                )
            )
            cov, risk, _ = risk_coverage(raw.joint, raw.joint_correct)
            curves.append((run_name(r), cov, risk))
    note = (
        "Confidence: the probability of the whole answer; ECE in percentage points over 10 "
        "equal-width bins, raw and after temperature scaling fitted on the validation split "
        "(T joint: its temperature; per field the label distribution has its own). AURC: mean "
        "error rate of the most confident tickets over all coverages (lower is better; a "
        "temperature keeps the order, so it does not change). With probabilities: items whose "
        "model gave probabilities; the others count 1 for their answer. n/a: the model was not "
        "scored on the validation split (eval.calibrate) or gives no probabilities, so its raw "
        "ones are used."
    )
    plots: list[Plot] = []
    if panels:
        plots.append(
            (f"reliability{suffix}", f"Reliability diagrams: {set_name}", plot_reliability(panels))
        )
        plots.append(
            (f"risk-coverage{suffix}", f"Risk-coverage: {set_name}", plot_risk_coverage(curves))
        )
    return [(f"calibration{suffix}", f"Calibration{on}", "\n".join(lines), note)], plots, summary


# -- cascades --------------------------------------------------------------------------------------
def cascade_section(
    runs: Mapping[str, Run],
    small: str | None,
    fallbacks: Sequence[str],
    cals: Mapping[str, Calibration],
    mcost: Mapping[str, ModelCost],
    costs: CostsConfig,
    fields: Sequence[str],
    set_name: str,
    suffix: str,
    chosen: Mapping[str, CascadePoint | None],
    chosen_on: str,
    seed: int,
) -> tuple[list[Section], list[Plot], dict[str, Any]]:
    """Curves of the small model with each fallback on one set, at the thresholds chosen on
    ``chosen_on`` (``eval.options.choose_thresholds``), applied as they are here."""
    if small is None or small not in runs:
        return [], [], {}
    v = costs.tickets_per_month
    rows: list[str] = []
    pairs: list[tuple[str, Sequence[CascadePoint], float, float | None]] = []
    summary: dict[str, Any] = {}
    here = set_name == chosen_on
    for fb in fallbacks:
        if fb not in runs or fb not in mcost:
            continue
        ids, pts = cascade_points(runs, small, fb, cals, mcost, costs, fields, seed=seed)
        key = f"{small}>{fb}"
        pick = chosen.get(key)
        at = None
        if pick is not None:
            thr = [pick.threshold]
            at = cascade_points(runs, small, fb, cals, mcost, costs, fields, thr, seed)[1][0]
        name = f"{run_name(runs[small])} → {run_name(runs[fb])}"
        fb_acc = pts[-1].accuracy if pts else 0.0
        pairs.append((name, pts, fb_acc, pick.threshold if pick else None))
        rows += _cascade_rows(name, run_name(runs[fb]), pts, at, fb_acc, mcost[fb], costs)
        summary[key] = {
            "small": run_name(runs[small]),
            "fallback": run_name(runs[fb]),
            "n": len(ids),
            "chosen": at.to_dict() if at else None,
            "chosen_on": chosen_on,
            "fallback_alone": {"accuracy": fb_acc, "usd_per_1000": mcost[fb].per_1000(v, costs)},
            "curve": [p.to_dict() for p in pts],
        }
    if not rows:
        return [], [], {}
    head = [
        "Cascade",
        "t",
        "To fallback %",
        "Joint acc %",
        "Δ vs fallback pp [95% CI]",
        "McNemar p",
        "USD per 1,000",
        "USD per 1,000 correct",
    ]
    table = "\n".join([*md_header(head), *rows])
    calibrated = small in cals and cals[small].fitted
    note = (
        f"The small model answers when its {'calibrated ' if calibrated else ''}confidence in "
        f"the whole answer is at least t, else the fallback's recorded answer is used. Δ: "
        f"cascade minus fallback alone on the same items, paired bootstrap. Cost at "
        f"{v:,} tickets a month: the small model on every ticket, the fallback on those sent "
        f"to it. Chosen: the cheapest t whose interval stays above -{costs.margin_pp:g} pp, "
        f"chosen on {chosen_on} and applied as it is "
        f"{'to the other sets' if here else 'here (an out-of-sample check)'}; none: no "
        f"threshold reaches the fallback's accuracy within the margin."
    )
    title = f"Cascade: {run_name(runs[small])} first, the fallback for the unsure ({set_name})"
    plot = (
        f"cascade{suffix}",
        f"Cascades over their threshold: {set_name}",
        plot_cascades(pairs),
    )
    return [(f"cascade{suffix}", title, table, note)], [plot], summary


def _cascade_rows(
    name: str,
    fb_name: str,
    pts: Sequence[CascadePoint],
    at: CascadePoint | None,
    fb_acc: float,
    fb_cost: ModelCost,
    costs: CostsConfig,
) -> list[str]:
    """A few points of the curve: the small model alone, deferring about 10/25/50/75%, all
    deferred, and the chosen threshold; then the fallback alone."""
    keep = {0, len(pts) - 1}
    for target in (0.1, 0.25, 0.5, 0.75):
        keep.add(min(range(len(pts)), key=lambda k: abs(pts[k].deferred - target)))
    shown = [pts[k] for k in sorted(keep)]
    if at is not None and all(p.threshold != at.threshold for p in shown):
        shown.append(at)
        shown.sort(key=lambda p: (p.threshold is None, p.threshold or 0.0))
    rows = []
    for p in shown:
        t = "none answered" if p.threshold is None else f"{p.threshold:.4g}"
        mark = " (chosen)" if at is not None and p.threshold == at.threshold else ""
        rows.append(
            f"| {name}{mark} | {t} | {100 * p.deferred:.1f} | {pct(p.accuracy)} | {pp(p.diff)} "
            f"[{pp(p.diff_ci95[0])}, {pp(p.diff_ci95[1])}] | {p.p_value:.3g} | "
            f"{usd(p.usd_per_1000)} | {usd(p.usd_per_1000_correct)} |"
        )
    v = costs.tickets_per_month
    alone = fb_cost.per_1000(v, costs)
    rows.append(
        f"| {fb_name} alone | n/a | 100.0 | {pct(fb_acc)} | +0.0 | n/a | {usd(alone)} | "
        f"{usd(alone / fb_acc if fb_acc else float('inf'))} |"
    )
    if at is None:
        rows.append(
            f"| {name} (chosen) | none within the margin | n/a | n/a | n/a | n/a | n/a | n/a |"
        )
    return rows
