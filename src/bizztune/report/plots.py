"""The experiment report's plots, as PNG bytes: accuracy with intervals, confusion matrices,
and the training loss.

    png = plot_accuracy([load_run(d) for d in eval_dirs])

matplotlib is imported here only, with the Agg backend; a PNG carries no timestamp, so the same
run gives the same bytes.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bizztune.eval.paired import accuracy_of, run_name
from bizztune.eval.runs import EvalRun
from bizztune.eval.tables import field_title


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


def plot_accuracy(runs: Sequence[EvalRun]) -> bytes:
    """Grouped bars: accuracy per field (and joint) per model, with 95% bootstrap intervals."""
    import numpy as np

    plt = _pyplot()
    fields = [*runs[0].fields, "joint"]
    x = np.arange(len(fields))
    width = 0.8 / max(len(runs), 1)
    fig, ax = plt.subplots(figsize=(max(7.0, 1.6 * len(fields) + 0.5 * len(runs)), 4.2))
    for i, r in enumerate(runs):
        m = r.metrics
        accs = [100 * accuracy_of(r, f) for f in fields]
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
            label=run_name(r),
        )
    ax.set_xticks(x, [field_title(f) for f in fields])
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 105)
    ax.set_title("Accuracy per field with 95% bootstrap intervals")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=min(3, len(runs)))
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def plot_confusion(run: EvalRun) -> bytes:
    """One heat map per field: gold label (rows) x predicted label or <invalid> (columns)."""
    import numpy as np

    plt = _pyplot()
    fields = list(run.fields)
    sizes = [len(run.metrics["fields"][f]["confusion"]) for f in fields]
    # square cells: widths follow the number of columns (labels + <invalid>)
    fig, axes = plt.subplots(
        1,
        len(fields),
        figsize=(0.38 * sum(s + 1 for s in sizes) + 2.4 * len(fields), 0.38 * max(sizes) + 3.2),
        gridspec_kw={"width_ratios": [s + 1 for s in sizes]},
        squeeze=False,
    )
    for ax, f in zip(axes[0], fields, strict=True):
        table = run.metrics["fields"][f]["confusion"]
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
        ax.set_title(field_title(f), fontsize=9)
    fig.suptitle(f"Confusion matrices: {run_name(run)}", fontsize=10)
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
