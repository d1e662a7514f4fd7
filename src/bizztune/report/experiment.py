"""The experiment report: Markdown and a self-contained HTML page, with plots.

    bizztune run                       # writes runs/default/report.md and report.html

    from bizztune.report.experiment import write_experiment_report
    write_experiment_report(run_dir, [("base", eval_dir_a, "base"), ("finetuned", eval_dir_b, "ft")])

The tables are the ones of ``bizztune.report`` (the study's Accuracy Comparison, intervals and
macro-F1, usage) plus the study's Fine-Tuned Model Comparison (deltas in percentage points
against the base model) and paired tests of the fine-tuned model against every other model.
The HTML page needs nothing but itself: inline CSS, no scripts, PNG plots as base64 data URIs;
every table has an ``id`` and the class ``bt-table``. Plots use matplotlib's Agg backend,
imported only here.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bizztune.eval.tables import (
    _pct,
    _title,
    accuracy_table,
    interval_table,
    load_run,
    paired_tests,
    usage_table,
)

BASE_LABEL = "base"
FINETUNED_LABEL = "finetuned"
PLOTS_DIR = Path("report") / "plots"


# -- numbers ----------------------------------------------------------------------------------------
def _acc(run: dict[str, Any], field: str) -> float:
    m = run["metrics"]
    return float(m["joint"]["accuracy"] if field == "joint" else m["fields"][field]["accuracy"])


def _name(run: dict[str, Any]) -> str:
    return str(run["metrics"].get("model", run["dir"].name))


def finetune_table(base: dict[str, Any], ft: dict[str, Any]) -> str:
    """The study's Fine-Tuned Model Comparison: both models, the delta in pp, McNemar's p."""
    fields = [*base["metrics"]["fields"], "joint"]
    tests = paired_tests(base, ft)
    head = ["Model", *(f"{_title(f)} Accuracy" for f in fields)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in (base, ft):
        lines.append("| " + " | ".join([_name(r), *(_pct(_acc(r, f)) for f in fields)]) + " |")
    delta = [f"{100 * (_acc(ft, f) - _acc(base, f)):+.1f}" for f in fields]
    lines.append("| " + " | ".join(["Δ vs base (pp)", *delta]) + " |")
    ci = [
        f"[{100 * tests[f]['diff_ci95'][0]:+.1f}, {100 * tests[f]['diff_ci95'][1]:+.1f}]"
        for f in fields
    ]
    lines.append("| " + " | ".join(["Δ 95% CI (paired bootstrap)", *ci]) + " |")
    lines.append(
        "| " + " | ".join(["McNemar p", *(f"{tests[f]['p_value']:.3g}" for f in fields)]) + " |"
    )
    return "\n".join(lines)


def versus_table(ref: dict[str, Any], others: Sequence[dict[str, Any]]) -> str:
    """Paired tests of ``ref`` against each other model: Δ = ref - model, on shared items."""
    fields = [*ref["metrics"]["fields"], "joint"]
    head = [
        f"{_name(ref)} vs",
        "Shared items",
        *(f"{_title(f)} Δ pp [95% CI], McNemar p" for f in fields),
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in others:
        t = paired_tests(r, ref)
        cells = [_name(r), str(t["n_shared"])]
        for f in fields:
            x = t[f]
            sig = " *" if x["p_value"] < 0.05 else ""
            cells.append(
                f"{100 * x['diff']:+.1f} [{100 * x['diff_ci95'][0]:+.1f}, "
                f"{100 * x['diff_ci95'][1]:+.1f}], p={x['p_value']:.3g}{sig}"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _significant(test: Mapping[str, Any], alpha: float = 0.05) -> int:
    """+1 / -1 when a paired difference is supported (p < alpha and its interval excludes 0),
    else 0."""
    lo, hi = test["diff_ci95"]
    if test["p_value"] >= alpha:
        return 0
    return 1 if lo > 0 else -1 if hi < 0 else 0


def summarize_answer(runs: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The answer to the study's question, as numbers and one sentence."""
    ordered = sorted(runs.values(), key=lambda r: -_acc(r, "joint"))
    out: dict[str, Any] = {
        "ranking": [{"model": _name(r), "joint_accuracy": _acc(r, "joint")} for r in ordered]
    }
    base, ft = runs.get(BASE_LABEL), runs.get(FINETUNED_LABEL)
    if base is None or ft is None:
        out["verdict"] = "The fine-tuned model has not been evaluated yet."
        return out
    fields = [*base["metrics"]["fields"], "joint"]
    tests = paired_tests(base, ft)
    delta = {f: 100 * (_acc(ft, f) - _acc(base, f)) for f in fields}
    t = tests["joint"]
    # A claim only where the data support it: McNemar p < 0.05 and a paired interval without 0.
    joint_sig = _significant(t)
    out.update(
        base={"model": _name(base), **{f: _acc(base, f) for f in fields}},
        finetuned={"model": _name(ft), **{f: _acc(ft, f) for f in fields}},
        delta_pp=delta,
        p_value={f: tests[f]["p_value"] for f in fields},
        finetuned_beats_base=joint_sig > 0,
    )

    def field_part(f: str) -> str:
        mark = "" if _significant(tests[f]) == 0 else ", significant"
        return f"{f} {delta[f]:+.1f} pp (p={tests[f]['p_value']:.2g}{mark})"

    per_field = "; ".join(field_part(f) for f in fields if f != "joint")
    lead = {
        1: "The fine-tuned model beats its base model",
        -1: "The fine-tuned model is worse than its base model",
        0: "The data cannot tell the fine-tuned model from its base model",
    }[joint_sig]
    sentence = (
        f"{lead}: joint accuracy "
        f"{_pct(_acc(base, 'joint'))}% → {_pct(_acc(ft, 'joint'))}% ({delta['joint']:+.1f} pp, "
        f"95% CI [{100 * t['diff_ci95'][0]:+.1f}, {100 * t['diff_ci95'][1]:+.1f}], McNemar "
        f"p={t['p_value']:.3g}); per field: {per_field}."
    )
    others = [r for r in ordered if r is not ft and r is not base]
    if others:
        best = others[0]
        sig = _significant(paired_tests(best, ft)["joint"])
        rel = {1: "ahead of", -1: "behind", 0: "not distinguishable from"}[sig]
        sentence += (
            f" The best other model, {_name(best)}, reaches {_pct(_acc(best, 'joint'))}% "
            f"joint accuracy; the fine-tuned model is {rel} it."
        )
    out["verdict"] = sentence
    return out


def _price_cached_answers(run: dict[str, Any]) -> None:
    """Answers from the API response cache cost 0 in metrics.json (nothing was paid this time).
    The report prices their recorded token counts at list price, so cost per 1,000 tickets is
    what the tickets cost, whether or not a cache answered."""
    usage = run["metrics"].get("usage") or {}
    model = (run["config"].get("provider_info") or {}).get("model")
    if not model or not usage.get("cached_items") or not run["metrics"].get("n"):
        return
    from bizztune.providers.api.prices import price_of

    price = price_of(str(model))
    if price is None:
        return
    cost = (usage["prompt_tokens"] * price[0] + usage["completion_tokens"] * price[1]) / 1e6
    usage["cost_usd"] = cost
    usage["cost_per_1000"] = cost / run["metrics"]["n"] * 1000


# -- plots ------------------------------------------------------------------------------------------
def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede the pyplot import
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    # No timestamp in the file, so the same run gives the same bytes.
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(fig)
    return buf.getvalue()


def plot_accuracy(runs: Sequence[dict[str, Any]]) -> bytes:
    """Grouped bars: accuracy per field (and joint) per model, with 95% bootstrap intervals."""
    import numpy as np

    plt = _pyplot()
    fields = [*runs[0]["metrics"]["fields"], "joint"]
    x = np.arange(len(fields))
    width = 0.8 / max(len(runs), 1)
    fig, ax = plt.subplots(figsize=(max(7.0, 1.6 * len(fields) + 0.5 * len(runs)), 4.2))
    for i, r in enumerate(runs):
        m = r["metrics"]
        accs = [100 * _acc(r, f) for f in fields]
        cis = [m["joint"]["ci95"] if f == "joint" else m["fields"][f]["ci95"] for f in fields]
        lo = [
            max(0.0, a - 100 * c[0]) if not math.isnan(c[0]) else 0.0
            for a, c in zip(accs, cis, strict=True)
        ]
        hi = [
            max(0.0, 100 * c[1] - a) if not math.isnan(c[1]) else 0.0
            for a, c in zip(accs, cis, strict=True)
        ]
        ax.bar(
            x + (i - (len(runs) - 1) / 2) * width,
            accs,
            width,
            yerr=[lo, hi],
            capsize=3,
            label=_name(r),
        )
    ax.set_xticks(x, [_title(f) for f in fields])
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 105)
    ax.set_title("Accuracy per field with 95% bootstrap intervals")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=min(3, len(runs)))
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def plot_confusion(run: dict[str, Any]) -> bytes:
    """One heat map per field: gold label (rows) x predicted label or <invalid> (columns)."""
    import numpy as np

    plt = _pyplot()
    fields = list(run["metrics"]["fields"])
    sizes = [len(run["metrics"]["fields"][f]["confusion"]) for f in fields]
    # square cells: widths follow the number of columns (labels + <invalid>)
    fig, axes = plt.subplots(
        1,
        len(fields),
        figsize=(0.38 * sum(s + 1 for s in sizes) + 2.4 * len(fields), 0.38 * max(sizes) + 3.2),
        gridspec_kw={"width_ratios": [s + 1 for s in sizes]},
        squeeze=False,
    )
    for ax, f in zip(axes[0], fields, strict=True):
        table = run["metrics"]["fields"][f]["confusion"]
        rows = list(table)
        cols = list(next(iter(table.values()))) if table else []
        mat = np.array([[table[g].get(c, 0) for c in cols] for g in rows], dtype=float)
        ax.imshow(mat, cmap="Blues", aspect="equal")
        for (i, j), v in np.ndenumerate(mat):
            if v:
                dark = v > mat.max() / 2
                ax.text(
                    j,
                    i,
                    f"{int(v)}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )
        ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(rows)), rows, fontsize=7)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("gold", fontsize=8)
        ax.set_title(_title(f), fontsize=9)
    fig.suptitle(f"Confusion matrices: {_name(run)}", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def read_loss_curve(train_dir: Path) -> dict[str, list[tuple[float, float]]]:
    """Series name -> (step, loss) points from the trainer's loss-curve JSON.

    Accepts a list of log records (``{"step": 1, "loss": 2.3, "eval_loss": ...}``, the shape
    of ``Trainer.state.log_history``), a mapping of series to such lists or to ``[step, loss]``
    pairs, or a mapping with parallel ``steps`` and ``loss`` lists.
    """
    candidates = sorted(train_dir.rglob("*loss*.json")) + sorted(
        train_dir.rglob("trainer_state.json")
    )
    for path in candidates:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and "log_history" in data:
            data = data["log_history"]
        series = _series(data)
        if any(series.values()):
            return {k: v for k, v in series.items() if v}
    return {}


def _series(data: Any) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    if isinstance(data, list):
        for rec in data:
            if not isinstance(rec, dict):
                continue
            step = rec.get("step", rec.get("global_step"))
            if step is None:
                continue
            for key, name in (
                ("loss", "train"),
                ("train_loss", "train"),
                ("eval_loss", "val"),
                ("val_loss", "val"),
            ):
                v = rec.get(key)
                if isinstance(v, int | float) and not (key == "train_loss" and "loss" in rec):
                    out.setdefault(name, []).append((float(step), float(v)))
        return out
    if isinstance(data, dict):
        steps = data.get("steps") or data.get("step")
        if isinstance(steps, list):
            for key, name in (
                ("loss", "train"),
                ("train_loss", "train"),
                ("train", "train"),
                ("eval_loss", "val"),
                ("val_loss", "val"),
            ):
                vals = data.get(key)
                if (
                    isinstance(vals, list)
                    and vals
                    and all(isinstance(v, int | float) for v in vals)
                ):
                    out[name] = [(float(s), float(v)) for s, v in zip(steps, vals, strict=False)]
            if out:
                return out
        for key, val in data.items():
            if not isinstance(val, list):
                continue
            name = "val" if "val" in key or "eval" in key else "train" if "train" in key else key
            pts: list[tuple[float, float]] = []
            for p in val:
                if isinstance(p, list | tuple) and len(p) == 2:
                    pts.append((float(p[0]), float(p[1])))
                elif isinstance(p, dict):
                    sub = _series([p])
                    pts += sub.get("train", []) or sub.get("val", [])
            if pts:
                out[name] = pts
    return out


def plot_loss(train_dir: Path) -> bytes | None:
    """The training (and validation) loss per optimizer step; the trainer's own PNG if the
    JSON cannot be read; None when there is neither."""
    series = read_loss_curve(train_dir)
    if not series:
        pngs = sorted(train_dir.rglob("*loss*.png"))
        return pngs[0].read_bytes() if pngs else None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for name, pts in series.items():
        xs, ys = zip(*sorted(pts), strict=True)
        ax.plot(xs, ys, marker="o" if len(pts) < 30 else None, markersize=3, label=name)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (mean token cross-entropy, answer tokens)")
    ax.set_title("Training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


# -- the report -------------------------------------------------------------------------------------
_NUMERIC = re.compile(r"^([+-]?\d|\[|n/a$)")
"""Cells that hold numbers, intervals or n/a: right-aligned."""


def _md_table_to_html(md: str, table_id: str) -> str:
    lines = [ln.strip() for ln in md.strip().splitlines() if ln.strip().startswith("|")]

    def cells(line: str) -> list[str]:
        return [html.escape(c.strip()) for c in line.strip().strip("|").split("|")]

    def td(c: str) -> str:
        return f'<td class="num">{c}</td>' if _NUMERIC.match(c) else f"<td>{c}</td>"

    head = "".join(f"<th>{c}</th>" for c in cells(lines[0]))
    body = "".join("<tr>" + "".join(td(c) for c in cells(line)) + "</tr>" for line in lines[2:])
    return (
        f'<table id="{table_id}" class="bt-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1200px;
margin:2em auto;padding:0 1em;color:#1f2328;line-height:1.45}
h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
.verdict{background:#f0f6ff;border-left:4px solid #0969da;padding:.8em 1em}
.bt-table{border-collapse:collapse;margin:1em 0;font-size:.9em;display:block;overflow-x:auto}
.bt-table th,.bt-table td{border:1px solid #d0d7de;padding:.3em .6em;white-space:nowrap}
.bt-table th{background:#f6f8fa}.bt-table td.num{text-align:right}
.bt-table tbody tr:nth-child(even){background:#fafbfc}
img.plot{max-width:100%;height:auto;display:block;margin:1em 0;border:1px solid #eee}
.note{color:#57606a;font-size:.9em}pre{background:#f6f8fa;padding:1em;overflow-x:auto}
"""


def write_experiment_report(
    run_dir: Path,
    evals: Sequence[tuple[str, Path, str]],
    train_dir: Path | None = None,
    skipped: Mapping[str, str] | None = None,
    title: str = "Experiment report",
    write_html: bool = True,
    confusion: str = "all",
    config: Any = None,
) -> dict[str, Any]:
    """Write ``report.md`` (plots under ``report/plots``) and ``report.html`` into ``run_dir``.

    ``evals``: (label, eval run folder, display name); labels ``base`` and ``finetuned`` mark
    the open model before and after fine-tuning. Returns the files written and the summary.
    """
    runs: dict[str, dict[str, Any]] = {}
    for label, d, display in evals:
        r = load_run(d)
        r["metrics"]["model"] = display
        _price_cached_answers(r)
        runs[label] = r
    ordered = list(runs.values())
    skipped = dict(skipped or {})
    summary = summarize_answer(runs)

    plots: list[tuple[str, str, bytes]] = [
        ("accuracy", "Per-field accuracy with 95% intervals", plot_accuracy(ordered))
    ]
    for label, r in runs.items():
        if confusion == "all" or label in (BASE_LABEL, FINETUNED_LABEL):
            plots.append(
                (f"confusion-{label}", f"Confusion matrices: {_name(r)}", plot_confusion(r))
            )
    loss = plot_loss(train_dir) if train_dir is not None else None
    if loss is not None:
        plots.append(("loss", "Training loss", loss))
    plot_dir = run_dir / PLOTS_DIR
    plot_dir.mkdir(parents=True, exist_ok=True)
    for key, _, png in plots:
        (plot_dir / f"{key}.png").write_bytes(png)

    sections = _sections(runs, summary, skipped, config)
    intro = [str(summary["verdict"]), _setup_line(config, ordered[0]["metrics"]["n"])]
    md = _markdown(title, intro, sections, plots)
    files = [run_dir / "report.md"]
    files[0].write_text(md, encoding="utf-8")
    (run_dir / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    files.append(run_dir / "summary.json")
    if write_html:
        page = _html(title, intro, sections, plots, config, run_dir)
        (run_dir / "report.html").write_text(page, encoding="utf-8")
        files.append(run_dir / "report.html")
    return {"files": [str(f) for f in files], "summary": summary}


Section = tuple[str, str, str, str]
"""(table id, heading, Markdown table, note below it)"""


def _sections(
    runs: Mapping[str, dict[str, Any]],
    summary: Mapping[str, Any],
    skipped: Mapping[str, str],
    config: Any,
) -> list[Section]:
    ordered = list(runs.values())
    n = ordered[0]["metrics"]["n"]
    out: list[Section] = [
        (
            "accuracy-comparison",
            "Accuracy Comparison",
            accuracy_table(ordered),
            f"Accuracy in percent on the {n} test items; joint: all fields right; invalid: at "
            f"least one field unparseable or outside the taxonomy. One item moves an accuracy by "
            f"{100 / max(n, 1):.1f} points.",
        )
    ]
    base, ft = runs.get(BASE_LABEL), runs.get(FINETUNED_LABEL)
    if base is not None and ft is not None:
        out.append(
            (
                "finetuned-comparison",
                "Fine-Tuned Model Comparison",
                finetune_table(base, ft),
                "Δ: fine-tuned minus base in percentage points on the same items; the interval "
                "is a paired bootstrap; p is McNemar's exact test on the paired outcomes.",
            )
        )
    out += [
        (
            "intervals",
            "Intervals and macro-F1",
            interval_table(ordered),
            "95% percentile-bootstrap intervals over items (2,000 resamples, seeded). Macro-F1 "
            "averages per-label F1 with every label weighted equally.",
        ),
        (
            "usage",
            "Latency, throughput and cost",
            usage_table(ordered),
            "Mean latency per ticket; items/s over the stage's wall time (n/a when every answer "
            "came from the cache); cost: token counts times list prices, also for answers from "
            "the response cache (local models and baselines: 0).",
        ),
    ]
    ref = ft or base
    others = [r for r in ordered if r is not ref]
    if ref is not None and others:
        out.append(
            (
                "paired-tests",
                f"Paired tests: {_name(ref)} against every other model",
                versus_table(ref, others),
                "Δ = reference minus model in percentage points on the shared items, with a "
                "paired-bootstrap interval; McNemar's exact p; * marks p < 0.05 (no correction "
                "for multiple comparisons).",
            )
        )
    if skipped:
        rows = "\n".join(f"| {k} | {v} |" for k, v in skipped.items())
        out.append(
            (
                "skipped",
                "Skipped models",
                f"| Model | Why |\n|---|---|\n{rows}",
                "Set the key and rerun the same command: finished stages are reused.",
            )
        )
    return out


def _setup_line(config: Any, n: int) -> str:
    """One sentence of set-up, from a RunConfig (duck-typed to keep this module standalone)."""
    if config is None:
        return f"{n} test items."
    t = config.train
    length = f"{t.max_steps} steps" if t.max_steps else f"{t.epochs:g} epoch(s)"
    return (
        f"Task {config.task}; {n} test items; open model {config.model.name} evaluated with "
        f"{config.model.decoding} decoding and the {config.model.style} prompt, fine-tuned with "
        f"{t.trainer} (r={t.r}, alpha={t.alpha}, {length}, lr {t.learning_rate:g}, "
        f"{t.lr_scheduler}); seed {config.seed}. The resolved config is in config.yaml, the "
        f"package versions in versions.json."
    )


def _markdown(
    title: str, intro: list[str], sections: list[Section], plots: list[tuple[str, str, bytes]]
) -> str:
    parts = [f"# {title}", "", f"**{intro[0]}**", "", *intro[1:], ""]
    for _key, heading, table, note in sections:
        parts += [f"## {heading}", "", table, "", note, ""]
    parts += ["## Plots", ""]
    for key, caption, _ in plots:
        parts += [f"![{caption}]({(PLOTS_DIR / f'{key}.png').as_posix()})", ""]
    return "\n".join(parts)


def _html(
    title: str,
    intro: list[str],
    sections: list[Section],
    plots: list[tuple[str, str, bytes]],
    config: Any,
    run_dir: Path,
) -> str:
    esc = html.escape
    body = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="verdict" id="verdict">{esc(intro[0])}</p>',
        *(f'<p class="note">{esc(x)}</p>' for x in intro[1:]),
    ]
    for key, heading, table, note in sections:
        body += [
            f"<h2>{esc(heading)}</h2>",
            _md_table_to_html(table, key),
            f'<p class="note">{esc(note)}</p>',
        ]
    body.append("<h2>Plots</h2>")
    for key, caption, png in plots:
        data = base64.b64encode(png).decode("ascii")
        body.append(
            f'<figure><img id="plot-{key}" class="plot" alt="{esc(caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption class="note">{esc(caption)}'
            f"</figcaption></figure>"
        )
    extras = []
    if config is not None:
        from bizztune.core.config import to_yaml

        extras.append(("Resolved config", to_yaml(config)))
    vpath = run_dir / "versions.json"
    if vpath.is_file():
        extras.append(("Versions", vpath.read_text(encoding="utf-8")))
    for heading, text in extras:
        body.append(f"<details><summary>{esc(heading)}</summary><pre>{esc(text)}</pre></details>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
