"""One test set's sections of the experiment report: the study's two tables, intervals and
macro-F1, clear and ambiguous items, usage, the paired tests of the fine-tuned model against
every other model, and each combined model against its members.

    secs = set_sections(runs, "tickets:foreign", "-foreign", skipped={}, margin_pp=2.0)

``runs``: eval label -> run (an EvalRun, renamed to its display name), all scored on one set.
Per set one family of paired tests (``bizztune.eval.paired.family_tests``): McNemar p raw and
Holm-adjusted, the margin verdict and, for inconclusive ones, the planner's numbers of items.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bizztune.eval.combine import is_combined
from bizztune.eval.inference import verdict_cell
from bizztune.eval.paired import BASE_LABEL, FINETUNED_LABEL, accuracy_of, family_tests, run_name
from bizztune.eval.runs import EvalRun
from bizztune.eval.tables import (
    accuracy_table,
    field_title,
    interval_table,
    md_header,
    pct,
    subset_table,
    truncation_note,
    usage_table,
)
from bizztune.report.html import Section


def slug(name: str) -> str:
    """A set or model name as a key of a section or plot: ``tickets:foreign`` -> ``foreign``."""
    stem = name.split(":", 1)[1] if ":" in name else Path(name).stem
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-") or "set"


def finetune_table(base: EvalRun, ft: EvalRun, tests: Mapping[str, Any]) -> str:
    """The study's Fine-Tuned Model Comparison: both models, the delta in pp, McNemar's p raw
    and Holm-adjusted, and the margin verdict; ``tests``: the family's tests of ft against
    base (``family_tests``)."""
    fields = [*base.fields, "joint"]
    head = ["Model", *(f"{field_title(f)} Accuracy" for f in fields)]
    lines = md_header(head)
    for r in (base, ft):
        lines.append(
            "| " + " | ".join([run_name(r), *(pct(accuracy_of(r, f)) for f in fields)]) + " |"
        )
    delta = [f"{100 * (accuracy_of(ft, f) - accuracy_of(base, f)):+.1f}" for f in fields]
    lines.append("| " + " | ".join(["Δ vs base (pp)", *delta]) + " |")
    ci = [
        f"[{100 * tests[f]['diff_ci95'][0]:+.1f}, {100 * tests[f]['diff_ci95'][1]:+.1f}]"
        for f in fields
    ]
    rows = [
        ("Δ 95% CI (paired bootstrap)", ci),
        ("McNemar p", [f"{tests[f]['p_value']:.3g}" for f in fields]),
        ("Holm-adjusted p", [f"{tests[f]['p_adj']:.3g}" for f in fields]),
        ("Verdict", [verdict_cell(tests[f]) for f in fields]),
    ]
    for title, cells in rows:
        lines.append("| " + " | ".join([title, *cells]) + " |")
    return "\n".join(lines)


def versus_table(ref: EvalRun, others: Mapping[str, EvalRun], fam: Mapping[str, Any]) -> str:
    """Paired tests of ``ref`` against each other model (Δ = ref - model, on shared items), one
    row per model and field: McNemar p raw and Holm-adjusted within ``fam``, and the verdict."""
    fields = [*ref.fields, "joint"]
    head = [
        f"{run_name(ref)} vs",
        "Field",
        "Shared items",
        "Δ pp [95% CI]",
        "McNemar p",
        "Holm p",
        "Verdict",
    ]
    lines = md_header(head)
    for label, r in others.items():
        t = fam[label]
        for f in fields:
            x = t[f]
            lo, hi = x["diff_ci95"]
            cells = [
                run_name(r),
                field_title(f),
                str(t["n_shared"]),
                f"{100 * x['diff']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]",
                f"{x['p_value']:.3g}",
                f"{x['p_adj']:.3g}" + (" *" if x["p_adj"] < 0.05 else ""),
                verdict_cell(x),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def set_sections(
    runs: Mapping[str, EvalRun],
    set_name: str,
    suffix: str,
    skipped: Mapping[str, str],
    margin_pp: float,
) -> list[Section]:
    ordered = list(runs.values())
    n = ordered[0].n
    on = f" ({set_name})"
    out: list[Section] = [
        (
            f"accuracy-comparison{suffix}",
            f"Accuracy Comparison{on}",
            accuracy_table(ordered),
            f"Accuracy in percent on the {n} items of {set_name}; joint: all fields right; "
            f"invalid: at least one field unparseable or outside the taxonomy. One item moves "
            f"an accuracy by {100 / max(n, 1):.1f} points.",
        )
    ]
    base, ft = runs.get(BASE_LABEL), runs.get(FINETUNED_LABEL)
    ref = ft or base
    others = {label: r for label, r in runs.items() if r is not ref and not is_combined(r)}
    fam = family_tests({k: (r, ref) for k, r in others.items()}, margin_pp) if ref else {}
    rule = verdict_rule(margin_pp, len(others), n)
    if base is not None and ft is not None:
        out.append(
            (
                f"finetuned-comparison{suffix}",
                f"Fine-Tuned Model Comparison{on}",
                finetune_table(base, ft, fam[BASE_LABEL]),
                "Δ: fine-tuned minus base in percentage points on the same items; the interval "
                "is a paired bootstrap; p is McNemar's exact test on the paired outcomes. " + rule,
            )
        )
    out.append(
        (
            f"intervals{suffix}",
            f"Intervals and macro-F1{on}",
            interval_table(ordered),
            "95% percentile-bootstrap intervals over items (2,000 resamples, seeded). Macro-F1 "
            "averages per-label F1 with every label weighted equally.",
        )
    )
    subsets = subset_table(ordered)
    if subsets:
        out.append(
            (
                f"subsets{suffix}",
                f"Clear and ambiguous items{on}",
                subsets,
                "Ambiguous: items the data flags as ones a careful second labeller could label "
                "otherwise. Judge models on the clear items first.",
            )
        )
    if not suffix:
        out.append(_usage_section(ordered))
    if ref is not None and others:
        out.append(
            (
                f"paired-tests{suffix}",
                f"Paired tests: {run_name(ref)} against every other model{on}",
                versus_table(ref, others, fam),
                "Δ = reference minus model in percentage points on the shared items, with a "
                "paired-bootstrap interval; McNemar's exact p; * marks a Holm-adjusted p < 0.05. "
                + rule,
            )
        )
    out += _combined_sections(runs, on, suffix, margin_pp)
    if skipped:
        out.append(_skipped_section(skipped))
    return out


def _usage_section(ordered: list[EvalRun]) -> Section:
    return (
        "usage",
        "Latency, throughput and cost",
        usage_table(ordered),
        "Mean latency per ticket; items/s over the stage's wall time (n/a when every "
        "answer came from the cache); cost: token counts times list prices, also for "
        "answers from the response cache (local models and baselines: 0)."
        + (f" {note}" if (note := truncation_note(ordered)) else ""),
    )


def _skipped_section(skipped: Mapping[str, str]) -> Section:
    rows = "\n".join(f"| {k} | {v} |" for k, v in skipped.items())
    return (
        "skipped",
        "Skipped models",
        f"| Model | Why |\n|---|---|\n{rows}",
        "Set the key and rerun the same command: finished stages are reused.",
    )


def _combined_sections(
    runs: Mapping[str, EvalRun], on: str, suffix: str, margin_pp: float
) -> list[Section]:
    """Each combined model (``eval.combine``) against each of its members, one family."""
    out: list[Section] = []
    label_of = {Path(r.dir).resolve(): k for k, r in runs.items()}
    for label, combo in runs.items():
        if not is_combined(combo):
            continue
        given = combo.config["combine"]["members"]
        labels = [label_of.get(Path(m["dir"]).resolve()) for m in given]
        members = {k: r for k, r in runs.items() if k in labels}
        if not members:
            continue
        fam = family_tests({k: (r, combo) for k, r in members.items()}, margin_pp)
        weights = ", ".join(
            f"{run_name(runs[k]) if k is not None else m['model']} {m['weight']:.2g}"
            for k, m in zip(labels, given, strict=True)
        )
        out.append(
            (
                f"combined-{slug(label)}{suffix}",
                f"Combined model: {run_name(combo)} against its members{on}",
                versus_table(combo, members, fam),
                f"The combined model answers from the product of its members' probabilities "
                f"(weights: {weights}; bizztune.eval.combine), made consistent with the "
                f"taxonomy; no parameter is fitted on these items. Δ = combined minus member. "
                f"Serving it runs every member: its latency and cost are theirs summed. The "
                f"verdict at the top is the fine-tuned model's alone. "
                + verdict_rule(margin_pp, len(members), combo.n),
            )
        )
    return out


def verdict_rule(margin_pp: float, n_models: int, n_items: int) -> str:
    """The note that says what the family is and how a verdict is reached."""
    m = f"{margin_pp:g}"
    return (
        f"Holm: the McNemar p-values of every field and joint of this model against the "
        f"{n_models} other model(s) on this set are one family, adjusted together. Verdict, "
        f"of the reference against the model, with margin d = {m} pp (costs.margin_pp): "
        f"superior if the interval's lower end > 0 and Holm p < 0.05; non-inferior if the "
        f"lower end ≥ -{m}; inferior if the upper end < 0 and Holm p < 0.05; else "
        f"inconclusive. For an inconclusive one, N: the test items ({n_items} here) with which "
        f"power 0.8 would show non-inferiority at {m} pp or detect the measured difference "
        f"(McNemar at 0.05 divided by the family's size), if the measured difference and "
        f"share of discordant items are the true ones (docs/method.md)."
    )
