"""``bizztune report``: finished eval runs side by side, with paired tests against the first.

bizztune report runs/eval/A runs/eval/B --out comparison.md

from bizztune.report.compare import compare_md
print(compare_md([Path("runs/eval/A"), Path("runs/eval/B")]))
"""

from __future__ import annotations

from pathlib import Path

from bizztune.eval.paired import MARGIN_PP, family_tests
from bizztune.eval.rundir import load_run
from bizztune.eval.runs import EvalRun
from bizztune.eval.tables import (
    accuracy_table,
    field_title,
    interval_table,
    md_header,
    paired_cell,
    truncation_note,
    usage_table,
)
from bizztune.report.pair import check_pair


def comparison_table(runs: list[EvalRun], margin_pp: float = MARGIN_PP) -> str:
    """Every other run against the first, on the items both scored: Δ = run - first; the
    McNemar p-values of all of them are one family (Holm), judged at ``margin_pp``."""
    base = runs[0]
    fam = family_tests({str(i): (base, r) for i, r in enumerate(runs[1:])}, margin_pp)
    fields = [*base.fields, "joint"]
    head = [
        "Model vs " + base.name,
        "Shared items",
        *(f"{field_title(f)} Δ pp [95% CI], McNemar p" for f in fields),
    ]
    lines = md_header(head)
    for i, r in enumerate(runs[1:]):
        t = fam[str(i)]
        cells = [r.name, str(t["n_shared"])]
        cells += [paired_cell(t[f]) for f in fields]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare_md(run_dirs: list[Path], margin_pp: float = MARGIN_PP) -> str:
    """The comparison of ``run_dirs``; a DataError when a run shares no item with the first
    (nothing to compare) or scored other gold labels for one."""
    runs = [load_run(d) for d in run_dirs]
    for r in runs[1:]:
        check_pair(runs[0], r)
    n = {r.n for r in runs}
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
            f"## Paired tests against {runs[0].metrics.get('model')}",
            "",
            comparison_table(runs, margin_pp),
            "",
            "Δ is the accuracy difference in percentage points on the items both runs scored, "
            "with a paired bootstrap interval; p is McNemar's exact test, Holm p the same "
            "adjusted over every field of every run in this table (one family). `*` marks a "
            f"Holm p < 0.05. Verdict of the run against the first at a {margin_pp:g} pp margin: "
            "superior (interval above 0 and Holm p < 0.05), non-inferior (lower end ≥ "
            f"-{margin_pp:g} pp), inferior "
            "(upper end below 0 and Holm p < 0.05) or inconclusive (docs/method.md). A "
            "difference whose interval includes 0 is not supported by the data.",
        ]
    if len(n) > 1:
        parts += ["", f"Note: the runs scored different numbers of items ({sorted(n)})."]
    return "\n".join(parts) + "\n"
