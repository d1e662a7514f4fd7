"""The calibration section of a report, one test set at a time, and the small helpers the
Decision shares with it.

    secs, plots, summary = calibration_section(runs, cals, fields, "test split", "", False)

``runs``: eval label -> run (``load_run``'s dict) scored on one set. The numbers are
``eval.calibration``'s; ``report.decision`` puts them together.
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
from bizztune.eval.paired import run_name
from bizztune.eval.tables import field_title, md_header, pct
from bizztune.report.decision_plots import plot_reliability, plot_risk_coverage
from bizztune.report.html import Section

Run = dict[str, Any]
Plot = tuple[str, str, bytes]


def usd(x: float) -> str:
    if x != x or x == float("inf"):
        return "n/a"
    return f"{x:,.4f}" if abs(x) < 0.01 else f"{x:,.3f}" if abs(x) < 1 else f"{x:,.2f}"


def volume_str(v: float | None) -> str:
    return "never" if v is None else f"{v:,.0f}"


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
