"""``bizztune report``: finished eval runs side by side, with paired tests against the first.

bizztune report runs/eval/A runs/eval/B --out comparison.md

from bizztune.report.compare import compare_md
print(compare_md([Path("runs/eval/A"), Path("runs/eval/B")]))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bizztune.eval.paired import paired_tests
from bizztune.eval.rundir import load_run
from bizztune.eval.tables import (
    accuracy_table,
    field_title,
    interval_table,
    paired_cell,
    truncation_note,
    usage_table,
)


def comparison_table(runs: list[dict[str, Any]]) -> str:
    """Every other run against the first, on the items both scored: Δ = run - first."""
    base = runs[0]
    fields = [*base["metrics"]["fields"], "joint"]
    head = [
        "Model vs " + base["metrics"].get("model", base["dir"].name),
        "Shared items",
        *(f"{field_title(f)} Δ pp [95% CI], McNemar p" for f in fields),
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs[1:]:
        t = paired_tests(base, r)
        cells = [r["metrics"].get("model", r["dir"].name), str(t["n_shared"])]
        cells += [paired_cell(t[f]) for f in fields]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare_md(run_dirs: list[Path]) -> str:
    runs = [load_run(d) for d in run_dirs]
    n = {r["metrics"]["n"] for r in runs}
    parts = [
        "# Comparison",
        "",
        "## Accuracy Comparison",
        "",
        accuracy_table(runs),
        "",
        "## Intervals and macro-F1",
        "",
        interval_table(runs),
        "",
        "## Usage",
        "",
        usage_table(runs),
        *(["", note] if (note := truncation_note(runs)) else []),
    ]
    if len(runs) > 1:
        parts += [
            "",
            f"## Paired tests against {runs[0]['metrics'].get('model')}",
            "",
            comparison_table(runs),
            "",
            "Δ is the accuracy difference in percentage points on the items both runs scored, "
            "with a paired bootstrap interval; p is McNemar's exact test. `*` marks p < 0.05 "
            "(no correction for multiple comparisons). A difference whose interval includes 0 "
            "is not supported by the data.",
        ]
    if len(n) > 1:
        parts += ["", f"Note: the runs scored different numbers of items ({sorted(n)})."]
    return "\n".join(parts) + "\n"
