"""Markdown tables of eval runs, shared by one run's report.md and every comparison of runs.

    from bizztune.eval.tables import accuracy_table
    print(accuracy_table([load_run(Path("runs/eval/A")), load_run(Path("runs/eval/B"))]))

A run is the EvalRun ``bizztune.eval.rundir.load_run`` reads (``bizztune.eval.runs``).
Accuracies are printed in percent with one decimal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bizztune.eval.runs import EvalRun


def pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def ci(ci: list[float]) -> str:
    return f"[{pct(ci[0])}, {pct(ci[1])}]"


def md_header(head: Sequence[str]) -> list[str]:
    """The first two lines of a Markdown table: its header and the rule under it."""
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]


def field_title(field: str) -> str:
    return field.replace("_", " ").title()


def accuracy_table(runs: list[EvalRun]) -> str:
    """The study's table: Model | <Field> Accuracy ... plus joint accuracy and invalid rate."""
    fields = list(runs[0].fields)
    head = [
        "Model",
        *(f"{field_title(f)} Accuracy" for f in fields),
        "Joint Accuracy",
        "Invalid %",
        "n",
    ]
    lines = md_header(head)
    for r in runs:
        m = r.metrics
        cells = [r.name]
        cells += [pct(m["fields"][f]["accuracy"]) for f in fields]
        cells += [pct(m["joint"]["accuracy"]), pct(m["invalid_rate"]), str(m["n"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def interval_table(runs: list[EvalRun]) -> str:
    fields = list(runs[0].fields)
    head = [
        "Model",
        *(f"{field_title(f)} 95% CI" for f in fields),
        "Joint 95% CI",
        *(f"{field_title(f)} macro-F1" for f in fields),
        "Hierarchy consistent %",
    ]
    lines = md_header(head)
    for r in runs:
        m = r.metrics
        cells = [r.name]
        cells += [ci(m["fields"][f]["ci95"]) for f in fields]
        cells += [ci(m["joint"]["ci95"])]
        cells += [f"{m['fields'][f]['macro_f1']:.3f}" for f in fields]
        cells += [pct(m.get("hierarchy_consistency"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def usage_table(runs: list[EvalRun]) -> str:
    head = [
        "Model",
        "Mean latency s",
        "Items/s",
        "Prompt tokens",
        "Completion tokens",
        "Cost USD",
        "Cost per 1,000 USD",
    ]
    lines = md_header(head)
    for r in runs:
        u = r.usage
        ips = u.get("items_per_s")
        lines.append(
            "| "
            + " | ".join(
                [
                    r.name,
                    f"{u.get('latency_mean_s', 0):.3f}",
                    f"{ips:.2f}" if ips else "n/a",
                    str(u.get("prompt_tokens", 0)),
                    str(u.get("completion_tokens", 0)),
                    f"{u.get('cost_usd', 0):.4f}",
                    f"{u.get('cost_per_1000', 0):.2f}",
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def truncation_note(runs: list[EvalRun]) -> str:
    """A sentence naming the runs whose local model had items cut to fit its context, or ""."""
    cut = [(r.name, int(u.get("truncated_items") or 0)) for r in runs for u in [r.usage]]
    cut = [(m, n) for m, n in cut if n]
    if not cut:
        return ""
    parts = ", ".join(f"{m}: {n} item{'s' if n > 1 else ''}" for m, n in cut)
    return (
        f"Inputs longer than the model's context were cut in the middle to fit ({parts}; "
        "`input_truncated_tokens` in predictions.jsonl)."
    )


def probability_table(runs: list[EvalRun]) -> str | None:
    """How well each run's raw probabilities are calibrated (``metrics.json``'s
    ``calibration``); None when no run has it (runs written before probabilities)."""
    have = [r for r in runs if r.metrics.get("calibration")]
    if not have:
        return None
    fields = list(have[0].fields)
    head = [
        "Model",
        "With probabilities %",
        "ECE joint pp",
        *(f"ECE {field_title(f)} pp" for f in fields),
        "AURC %",
    ]
    lines = md_header(head)
    for r in have:
        c = r.metrics["calibration"]
        cells = [
            r.name,
            f"{100 * c['with_probs']:.0f}",
            pct(c["ece_joint"]),
            *(pct(c["ece"].get(f)) for f in fields),
            pct(c["aurc"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired_cell(test: Mapping[str, Any]) -> str:
    """One field of a paired test: the difference in pp, its interval, McNemar's p, and where
    the test has one its Holm-adjusted p and margin verdict; * if the (adjusted) p < 0.05."""
    p = test.get("p_adj", test["p_value"])
    sig = " *" if p < 0.05 else ""
    adj = f", Holm p={p:.3g}" if "p_adj" in test else ""
    verdict = f", {test['verdict']}" if "verdict" in test else ""
    return (
        f"{100 * test['diff']:+.1f} [{100 * test['diff_ci95'][0]:+.1f}, "
        f"{100 * test['diff_ci95'][1]:+.1f}], p={test['p_value']:.3g}{adj}{sig}{verdict}"
    )


def subset_table(runs: list[EvalRun]) -> str | None:
    """Accuracy with interval on the clear and on the ambiguous items (data with an
    ``ambiguous`` column); None when no run has such subsets."""
    have = [r for r in runs if r.metrics.get("subsets")]
    if not have:
        return None
    fields = [*have[0].fields, "joint"]
    head = ["Model", "Items", "n", *(f"{field_title(f)} Accuracy [95% CI]" for f in fields)]
    lines = md_header(head)
    for r in have:
        for name, m in r.metrics["subsets"].items():
            cells = [r.name, name, str(m["n"])]
            for f in fields:
                x = m["joint"] if f == "joint" else m["fields"][f]
                cells.append(f"{pct(x['accuracy'])} {ci(x['ci95'])}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def data_name(run: EvalRun) -> str:
    """What a run was scored on, as reports name it: ``tickets:foreign``, a path, or a split."""
    cfg = run.eval
    spec = cfg.get("data_spec")
    if spec and ":" in str(spec) and not str(spec).startswith(("/", ".")):
        return str(spec)
    data = str(cfg.get("data") or spec or "embedded default")
    return f"{data} (split {cfg['split']})" if not data.endswith((".jsonl", ".csv")) else data
