"""The learning curve and the seeds in the experiment report: a plot and tables per test set.

    rep = curve_report({"test split": [CurveRun("finetuned", "ft", 100, 0, dir_a), ...]},
                       loaded, seed=0)
    rep.sections, rep.plots, rep.summary, rep.lines

Each point of the curve is one model (the fine-tuned open model, or a fittable baseline)
trained on one nested subset of the train split with one or more seeds, scored on a test set.
A point with one seed shows its accuracy and its item bootstrap interval (from metrics.json);
a point with several shows the mean over seeds and the interval over seeds and items of
``bizztune.eval.seeds``, and the seeds section adds the spread between seeds. Models that are
not fitted on the train split (the base model, API models) are horizontal bands: their
accuracy and its interval, the same at every size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bizztune.eval.combine import is_combined
from bizztune.eval.paired import BASE_LABEL, FINETUNED_LABEL, accuracy_of, run_name
from bizztune.eval.rundir import load_run
from bizztune.eval.seeds import seed_summary
from bizztune.eval.tables import field_title, md_header, pct
from bizztune.report.html import Section
from bizztune.report.plots import plot_curve


@dataclass(frozen=True)
class CurveRun:
    """One evaluation of the curve: which model, trained on how many tickets, with which
    seed, and its eval run folder."""

    model: str
    """``finetuned`` or a fittable baseline's label (``tfidf``)."""
    display: str
    size: int
    seed: int
    dir: Path


@dataclass
class Point:
    """One model at one size, over its seeds; ``stats``: field -> mean, low, high (0-1), and
    for several seeds sd, min, max and per_seed."""

    model: str
    display: str
    size: int
    seeds: list[int]
    n: int
    stats: dict[str, dict[str, Any]]


@dataclass
class CurveReport:
    sections: list[Section] = field(default_factory=list)
    plots: list[tuple[str, str, bytes]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    """One sentence per test set on the seeds at the largest size (for the report's intro)."""


def points_of(runs: Sequence[CurveRun], seed: int = 0) -> list[Point]:
    """The runs of one test set grouped into points, the fine-tuned model first, by size."""
    groups: dict[tuple[str, int], list[CurveRun]] = {}
    for r in runs:
        groups.setdefault((r.model, r.size), []).append(r)
    order = sorted(groups, key=lambda k: (k[0] != FINETUNED_LABEL, k[0], k[1]))
    out: list[Point] = []
    for key in order:
        members = sorted(groups[key], key=lambda r: r.seed)
        loaded = [load_run(r.dir) for r in members]
        fields = [*loaded[0]["metrics"]["fields"], "joint"]
        stats: dict[str, dict[str, Any]] = {}
        for f in fields:
            if len(loaded) == 1:
                m = loaded[0]["metrics"]
                lo, hi = m["joint"]["ci95"] if f == "joint" else m["fields"][f]["ci95"]
                stats[f] = {"mean": accuracy_of(loaded[0], f), "low": lo, "high": hi}
            else:
                s = seed_summary(loaded, f, seed=seed)
                stats[f] = {
                    "mean": s.mean,
                    "low": s.low,
                    "high": s.high,
                    "sd": s.sd,
                    "min": s.min,
                    "max": s.max,
                    "per_seed": list(s.per_seed),
                }
        n = min(int(r["metrics"]["n"]) for r in loaded)
        out.append(Point(key[0], members[0].display, key[1], [r.seed for r in members], n, stats))
    return out


def bands_of(runs: Mapping[str, dict[str, Any]], fitted: set[str]) -> dict[str, dict[str, Any]]:
    """label -> its run, for the models that are not fitted on the train split (a combined
    model holds the fine-tuned one: it is not a band either)."""
    return {
        k: r
        for k, r in runs.items()
        if k not in fitted and k != FINETUNED_LABEL and not is_combined(r)
    }


def curve_table(points: Sequence[Point], bands: Mapping[str, dict[str, Any]]) -> str:
    fields = list(points[0].stats)
    head = ["Model", "Training tickets", "Seeds", *(f"{field_title(f)} %" for f in fields)]
    lines = md_header(head)
    for p in points:
        cells = [p.display, str(p.size), ",".join(map(str, p.seeds))]
        cells += [_cell(p.stats[f]) for f in fields]
        lines.append("| " + " | ".join(cells) + " |")
    for r in bands.values():
        m = r["metrics"]
        cells = [run_name(r), "not fitted", "–"]
        for f in fields:
            lo, hi = m["joint"]["ci95"] if f == "joint" else m["fields"][f]["ci95"]
            cells.append(_cell({"mean": accuracy_of(r, f), "low": lo, "high": hi}))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seeds_table(points: Sequence[Point]) -> str | None:
    many = [p for p in points if len(p.seeds) > 1]
    if not many:
        return None
    head = [
        "Model",
        "Training tickets",
        "Field",
        "Mean %",
        "SD between seeds (pp)",
        "Min–max %",
        "Per seed %",
        "95% interval, seeds and items",
    ]
    lines = md_header(head)
    for p in many:
        for f, s in p.stats.items():
            per = ", ".join(
                f"{seed}: {pct(a)}" for seed, a in zip(p.seeds, s["per_seed"], strict=True)
            )
            cells = [
                p.display,
                str(p.size),
                field_title(f),
                pct(s["mean"]),
                f"{100 * s['sd']:.1f}",
                f"{pct(s['min'])}–{pct(s['max'])}",
                per,
                f"[{pct(s['low'])}, {pct(s['high'])}]",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seed_line(
    points: Sequence[Point], set_name: str, best: tuple[str, float] | None = None
) -> str | None:
    """One sentence on the fine-tuned model's seeds at its largest size, or None. ``best``:
    the best other model of the set and its joint accuracy, placed against that interval."""
    mine = [p for p in points if p.model == FINETUNED_LABEL and len(p.seeds) > 1]
    if not mine:
        return None
    p = max(mine, key=lambda q: q.size)
    s = p.stats["joint"]
    moves = ", ".join(
        f"{f} {100 * (v['max'] - v['min']):.1f}" for f, v in p.stats.items() if f != "joint"
    )
    line = (
        f"Seeds ({set_name}): over {len(p.seeds)} training seeds at {p.size} tickets the "
        f"fine-tuned model's joint accuracy is {pct(s['mean'])}% on average (between-seed sd "
        f"{100 * s['sd']:.1f} pp, min–max {pct(s['min'])}–{pct(s['max'])}%; 95% interval over "
        f"seeds and items [{pct(s['low'])}, {pct(s['high'])}]); the seed moves each field by "
        f"(max − min, pp): {moves}."
    )
    if best is not None:
        name, acc = best
        where = (
            "below that interval: over seeds the fine-tuned model stays ahead of it"
            if acc < s["low"]
            else "above that interval: over seeds the fine-tuned model stays behind it"
            if acc > s["high"]
            else "inside that interval: over seeds and items the two cannot be told apart"
        )
        line += f" The best other model, {name} ({pct(acc)}%), lies {where}."
    return line


def curve_report(
    curve: Mapping[str, Sequence[CurveRun]],
    loaded: Mapping[str, Mapping[str, dict[str, Any]]],
    seed: int = 0,
) -> CurveReport:
    """Sections, plots, summary and intro lines of the curve, one set after the other (in the
    order of ``loaded``, the report's sets; ``loaded`` gives the bands)."""
    rep = CurveReport()
    names = [s for s in loaded if curve.get(s)] + [s for s in curve if s not in loaded]
    for i, set_name in enumerate(names):
        points = points_of(curve[set_name], seed)
        if not points:
            continue
        suffix = "" if i == 0 else f"-{_slug(set_name)}"
        bands = bands_of(loaded.get(set_name, {}), {p.model for p in points})
        n = points[0].n
        rep.sections.append(
            (
                f"learning-curve{suffix}",
                f"Learning curve ({set_name})",
                curve_table(points, bands),
                f"Accuracy on the {n} items of {set_name} after training on nested, stratified "
                "subsets of the train split (every point is scored on the same items). One "
                "seed: the item bootstrap interval; several: the mean over seeds and a 95% "
                'interval over seeds and items (docs/method.md, "Learning curves and seeds"). '
                "Models that are not fitted on the train split are the same at every size.",
            )
        )
        table = seeds_table(points)
        if table is not None:
            rep.sections.append(
                (
                    f"seeds{suffix}",
                    f"Seeds ({set_name})",
                    table,
                    "The same recipe and subset, trained with each seed (initialisation and "
                    "data order). SD: sample standard deviation of the seeds' accuracies. The "
                    "interval resamples seeds and items together, so it is wider than one "
                    "seed's item interval when the seed matters.",
                )
            )
        others = [
            r for k, r in loaded.get(set_name, {}).items() if k not in (FINETUNED_LABEL, BASE_LABEL)
        ]
        top = max(others, key=lambda r: accuracy_of(r, "joint"), default=None)
        line = seed_line(
            points, set_name, (run_name(top), accuracy_of(top, "joint")) if top else None
        )
        if line:
            rep.lines.append(line)
        rep.plots.append(
            (
                f"learning-curve{suffix}",
                f"Learning curve: accuracy per field against training tickets, {set_name}",
                _plot(points, bands, set_name),
            )
        )
        rep.summary[set_name] = {
            "n_items": n,
            "points": [
                {"model": p.model, "size": p.size, "seeds": p.seeds, "fields": p.stats}
                for p in points
            ],
            "bands": {k: {f: accuracy_of(r, f) for f in points[0].stats} for k, r in bands.items()},
            **({"seed_line": line} if line else {}),
        }
    return rep


def seed_interval(curve_set: Mapping[str, Any], field: str) -> dict[str, Any] | None:
    """The fine-tuned model's numbers over seeds at its largest size with several seeds, from
    one test set's ``summary.json["curve"][set]``: ``mean``, ``low``, ``high`` (the interval
    over seeds and items), ``sd``, ``min``, ``max``, ``per_seed``, and ``size`` and ``seeds``;
    None when no size has several seeds. What a verdict over seeds should quote."""
    many = [
        p
        for p in curve_set.get("points", [])
        if p["model"] == FINETUNED_LABEL and len(p["seeds"]) > 1
    ]
    if not many:
        return None
    p = max(many, key=lambda q: q["size"])
    return {**p["fields"][field], "size": p["size"], "seeds": p["seeds"]}


def _slug(name: str) -> str:
    """A set's name in file names, as the rest of the report writes it (``foreign``)."""
    stem = name.split(":", 1)[1] if ":" in name else Path(name).stem
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-") or "set"


def _cell(s: Mapping[str, Any]) -> str:
    return f"{pct(s['mean'])} [{pct(s['low'])}, {pct(s['high'])}]"


def _plot(points: Sequence[Point], bands: Mapping[str, dict[str, Any]], set_name: str) -> bytes:
    fields = list(points[0].stats)
    series: dict[str, list[tuple[int, dict[str, dict[str, Any]]]]] = {}
    for p in points:
        series.setdefault(p.display, []).append((p.size, p.stats))
    band_stats: dict[str, dict[str, tuple[float, float, float]]] = {}
    for r in bands.values():
        m = r["metrics"]
        band_stats[run_name(r)] = {
            f: (
                accuracy_of(r, f),
                *(m["joint"]["ci95"] if f == "joint" else m["fields"][f]["ci95"]),
            )
            for f in fields
        }
    return plot_curve(series, band_stats, fields, f"Learning curve: {set_name}")
