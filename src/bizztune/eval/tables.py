"""Reports: one run's report.md, and several runs side by side with paired tests.

bizztune report runs/eval/A runs/eval/B --out comparison.md
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bizztune.core.errors import DataError


def _pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def _ci(ci: list[float]) -> str:
    return f"[{_pct(ci[0])}, {_pct(ci[1])}]"


def load_run(run_dir: Path) -> dict[str, Any]:
    mpath = run_dir / "metrics.json"
    if not mpath.is_file():
        raise DataError(f"{run_dir}: not a finished run directory (no metrics.json)")
    metrics = json.loads(mpath.read_text(encoding="utf-8"))
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    from bizztune.eval.evaluate import read_predictions

    preds = read_predictions(run_dir / "predictions.jsonl")
    return {"dir": run_dir, "metrics": metrics, "config": config, "predictions": preds}


def _title(field: str) -> str:
    return field.replace("_", " ").title()


def accuracy_table(runs: list[dict[str, Any]]) -> str:
    """The study's table: Model | <Field> Accuracy ... plus joint accuracy and invalid rate."""
    fields = list(runs[0]["metrics"]["fields"])
    head = ["Model", *(f"{_title(f)} Accuracy" for f in fields), "Joint Accuracy", "Invalid %", "n"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        m = r["metrics"]
        cells = [m.get("model", r["dir"].name)]
        cells += [_pct(m["fields"][f]["accuracy"]) for f in fields]
        cells += [_pct(m["joint"]["accuracy"]), _pct(m["invalid_rate"]), str(m["n"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def interval_table(runs: list[dict[str, Any]]) -> str:
    fields = list(runs[0]["metrics"]["fields"])
    head = [
        "Model",
        *(f"{_title(f)} 95% CI" for f in fields),
        "Joint 95% CI",
        *(f"{_title(f)} macro-F1" for f in fields),
        "Hierarchy consistent %",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        m = r["metrics"]
        cells = [m.get("model", r["dir"].name)]
        cells += [_ci(m["fields"][f]["ci95"]) for f in fields]
        cells += [_ci(m["joint"]["ci95"])]
        cells += [f"{m['fields'][f]['macro_f1']:.3f}" for f in fields]
        cells += [_pct(m.get("hierarchy_consistency"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def usage_table(runs: list[dict[str, Any]]) -> str:
    head = [
        "Model",
        "Mean latency s",
        "Items/s",
        "Prompt tokens",
        "Completion tokens",
        "Cost USD",
        "Cost per 1,000 USD",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        u = r["metrics"].get("usage", {})
        ips = u.get("items_per_s")
        lines.append(
            "| "
            + " | ".join(
                [
                    r["metrics"].get("model", r["dir"].name),
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


def paired_tests(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """McNemar exact p and paired-bootstrap difference per field and joint, on shared items."""
    from bizztune.eval.metrics import mcnemar_exact, paired_diff_ci

    ids = [i for i in base["predictions"] if i in other["predictions"]]
    fields = list(base["metrics"]["fields"])
    out: dict[str, Any] = {"n_shared": len(ids)}
    for f in [*fields, "joint"]:

        def ok(run: dict[str, Any], i: str, f: str = f) -> bool:
            c = run["predictions"][i]["correct"]
            return all(c.values()) if f == "joint" else bool(c.get(f))

        a = [ok(base, i) for i in ids]
        b = [ok(other, i) for i in ids]
        mc = mcnemar_exact(a, b)
        d, lo, hi = paired_diff_ci(a, b)
        out[f] = {**mc, "diff": d, "diff_ci95": [lo, hi]}
    return out


def comparison_table(runs: list[dict[str, Any]]) -> str:
    base = runs[0]
    fields = [*base["metrics"]["fields"], "joint"]
    head = [
        "Model vs " + base["metrics"].get("model", base["dir"].name),
        "Shared items",
        *(f"{_title(f)} Δ pp [95% CI], McNemar p" for f in fields),
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs[1:]:
        t = paired_tests(base, r)
        cells = [r["metrics"].get("model", r["dir"].name), str(t["n_shared"])]
        for f in fields:
            x = t[f]
            sig = "" if x["p_value"] >= 0.05 else " *"
            cells.append(
                f"{100 * x['diff']:+.1f} [{100 * x['diff_ci95'][0]:+.1f}, "
                f"{100 * x['diff_ci95'][1]:+.1f}], p={x['p_value']:.3g}{sig}"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_report_md(run: dict[str, Any]) -> str:
    m = run["metrics"]
    cfg = run["config"]["eval"]
    parts = [
        f"# Evaluation: {m.get('model')}",
        "",
        f"Task `{cfg['task']}`, split `{cfg['split']}`, {m['n']} items, prompt `{cfg['style']}`, "
        f"calls `{cfg['calls']}`, decoding `{cfg['provider']['decoding']}`.",
        "",
        accuracy_table([run]),
        "",
        "## Intervals and macro-F1",
        "",
        interval_table([run]),
        "",
        "## Usage",
        "",
        usage_table([run]),
        "",
        f"Accuracy in percent; 95% intervals are percentile bootstraps over items. With n={m['n']} "
        f"a single item moves an accuracy by {100 / max(m['n'], 1):.1f} points.",
    ]
    return "\n".join(parts) + "\n"


def write_run_report(run_dir: Path) -> Path:
    run = load_run(run_dir)
    path = run_dir / "report.md"
    path.write_text(run_report_md(run), encoding="utf-8")
    return path


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
