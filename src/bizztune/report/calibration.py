"""The calibration section of a report, one test set at a time, and the small helpers the
Decision shares with it.

    secs, summary = calibration_section(runs, "test split", "")

``runs``: eval label -> run (``load_run``'s dict) scored on one set. The numbers are the ones
each eval run wrote (``metrics.json``'s ``calibration``, ``eval.calibration``);
``report.decision`` puts them together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bizztune.eval.runs import EvalRun
from bizztune.eval.tables import probability_table
from bizztune.report.html import Section

Run = EvalRun
Plot = tuple[str, str, bytes]


def usd(x: float) -> str:
    if x != x or x == float("inf"):
        return "n/a"
    return f"{x:,.4f}" if abs(x) < 0.01 else f"{x:,.3f}" if abs(x) < 1 else f"{x:,.2f}"


def volume_str(v: float | None) -> str:
    return "never" if v is None else f"{v:,.0f}"


# -- calibration -----------------------------------------------------------------------------------
def calibration_section(
    runs: Mapping[str, Run], set_name: str, suffix: str
) -> tuple[list[Section], dict[str, Any]]:
    """How well each model's own probabilities are calibrated on one set, and the numbers."""
    table = probability_table(list(runs.values()))
    if table is None:
        return [], {}
    note = (
        "Confidence: the probability of the whole answer, as the model gave it; ECE in "
        "percentage points over 10 equal-width bins, for the whole answer and per field. AURC: "
        "mean error rate of the most confident tickets over all coverages (lower is better). "
        "With probabilities: items whose model gave probabilities; the others count 1 for "
        "their answer."
    )
    summary = {k: r.metrics["calibration"] for k, r in runs.items() if r.metrics.get("calibration")}
    return [(f"calibration{suffix}", f"Calibration ({set_name})", table, note)], summary
