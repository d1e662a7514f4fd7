"""The experiment report of ``bizztune run``: report.md with its plots, summary.json, report.html.

    bizztune run                       # writes runs/default/report.md and report.html

    from bizztune.report.experiment import write_experiment_report
    write_experiment_report(run_dir, [("base", eval_dir_a, "base"), ("finetuned", eval_dir_b, "ft")])

The tables are the ones of ``bizztune.eval.tables`` (the study's Accuracy Comparison, intervals
and macro-F1, usage) plus the study's Fine-Tuned Model Comparison (deltas in percentage points
against the base model) and paired tests of the fine-tuned model against every other model:
per test set one family (``bizztune.eval.paired.family_tests``), McNemar p raw and
Holm-adjusted, the margin verdict and, for inconclusive ones, the planner's numbers of items.
The verdict is ``bizztune.eval.paired.summarize_answer``'s; the plots are ``plots.py``'s and
the HTML page is ``html.py``'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bizztune.data.shift import shift_note, shift_table
from bizztune.eval.combine import is_combined
from bizztune.eval.costs import CostsConfig, is_api, read_train_summary
from bizztune.eval.inference import verdict_cell
from bizztune.eval.paired import (
    BASE_LABEL,
    FINETUNED_LABEL,
    accuracy_of,
    family_tests,
    ranking,
    run_name,
    summarize_answer,
)
from bizztune.eval.rundir import load_run
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
from bizztune.providers.api.prices import api_price
from bizztune.report.curve import CurveRun, curve_report
from bizztune.report.decision import decide
from bizztune.report.html import Section, render_html
from bizztune.report.plots import plot_accuracy, plot_confusion, plot_loss

PLOTS_DIR = Path("report") / "plots"


def finetune_table(base: dict[str, Any], ft: dict[str, Any], tests: Mapping[str, Any]) -> str:
    """The study's Fine-Tuned Model Comparison: both models, the delta in pp, McNemar's p raw
    and Holm-adjusted, and the margin verdict; ``tests``: the family's tests of ft against
    base (``family_tests``)."""
    fields = [*base["metrics"]["fields"], "joint"]
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


def versus_table(
    ref: dict[str, Any], others: Mapping[str, dict[str, Any]], fam: Mapping[str, Any]
) -> str:
    """Paired tests of ``ref`` against each other model (Δ = ref - model, on shared items), one
    row per model and field: McNemar p raw and Holm-adjusted within ``fam``, and the verdict."""
    fields = [*ref["metrics"]["fields"], "joint"]
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


def _price_cached_answers(run: dict[str, Any]) -> None:
    """Answers from the API response cache cost 0 in metrics.json (nothing was paid this time).
    The report prices their recorded token counts at list price, so cost per 1,000 tickets is
    what the tickets cost, whether or not a cache answered."""
    usage = run["metrics"].get("usage") or {}
    info = run["config"].get("provider_info") or {}
    model = info.get("model")
    if not model or not usage.get("cached_items") or not run["metrics"].get("n"):
        return
    if not is_api(run):
        return
    price = api_price(str(model), info.get("family"))
    if price is None:
        return
    cost = price.usd(usage["prompt_tokens"], usage["completion_tokens"])
    usage["cost_usd"] = cost
    usage["cost_per_1000"] = cost / run["metrics"]["n"] * 1000


def write_experiment_report(
    run_dir: Path,
    evals: Sequence[tuple[str, Path, str]] | Mapping[str, Sequence[tuple[str, Path, str]]],
    train_dir: Path | None = None,
    skipped: Mapping[str, str] | None = None,
    title: str = "Experiment report",
    write_html: bool = True,
    confusion: str = "all",
    config: Any = None,
    shift: Mapping[str, Mapping[str, Any]] | None = None,
    calibration: Mapping[str, Path] | None = None,
    costs: CostsConfig | None = None,
    curve: Mapping[str, Sequence[CurveRun]] | None = None,
) -> dict[str, Any]:
    """Write ``report.md`` (plots under ``report/plots``) and ``report.html`` into ``run_dir``.

    ``evals``: (label, eval run folder, display name) per model, or such lists by test set
    name (the first set is the run's own test split); labels ``base`` and ``finetuned`` mark
    the open model before and after fine-tuning. ``shift``: ``bizztune.data.shift`` results by
    test set name. ``calibration``: label -> the model's eval run on the validation split, to
    fit its temperatures; ``costs``: the cost model (``CostsConfig()`` when None); ``curve``: the
    learning curve's evaluations by test set name (``report/curve.py``). Returns the
    files written and the summary: the first set's at the top level, every set's under
    ``test_sets``, one verdict that names each set, and the Decision with its costs.
    """
    by_set = dict(evals) if isinstance(evals, Mapping) else {"test split": evals}
    skipped = dict(skipped or {})
    plots: list[tuple[str, str, bytes]] = []
    sections: list[Section] = []
    summaries: dict[str, dict[str, Any]] = {}
    first_n = 0
    loaded: dict[str, dict[str, dict[str, Any]]] = {}
    for set_name, items in by_set.items():
        runs: dict[str, dict[str, Any]] = {}
        for label, d, display in items:
            r = load_run(d)
            r["metrics"]["model"] = display
            _price_cached_answers(r)
            runs[label] = r
        if runs:
            loaded[set_name] = runs
    cal_runs = {label: load_run(d) for label, d in (calibration or {}).items()}
    train = read_train_summary({}, train_dir) if train_dir is not None else None
    seed = int(getattr(config, "seed", 0) or 0)
    costs = costs or CostsConfig()
    dec = decide(loaded, cal_runs, costs, train, seed)
    for i, (set_name, runs) in enumerate(loaded.items()):
        suffix = "" if i == 0 else f"-{_slug(set_name)}"
        if not summaries:
            first_n = int(next(iter(runs.values()))["metrics"]["n"])
        # The verdict is the fine-tuned model's: a combination holding it is not its rival.
        alone = {k: r for k, r in runs.items() if not is_combined(r)}
        summaries[set_name] = summarize_answer(alone, costs.margin_pp)
        summaries[set_name]["ranking"] = ranking(runs)  # combined models ranked too
        own = _sections(runs, set_name, suffix, skipped if i == 0 else {}, costs.margin_pp)
        at = next((k for k, sec in enumerate(own) if sec[0] == "skipped"), len(own))
        sections += [*own[:at], *dec.set_sections.get(set_name, []), *own[at:]]
        plots.append(
            (
                f"accuracy{suffix}",
                f"Per-field accuracy with 95% intervals: {set_name}",
                plot_accuracy(list(runs.values())),
            )
        )
        for label, r in runs.items():
            if label in (BASE_LABEL, FINETUNED_LABEL) or (confusion == "all" and i == 0):
                plots.append(
                    (
                        f"confusion-{label}{suffix}",
                        f"Confusion matrices: {run_name(r)}, {set_name}",
                        plot_confusion(r),
                    )
                )
    lc = curve_report(curve or {}, loaded, seed)
    for set_name, sm in summaries.items():  # the verdict quotes the seeds where there are some
        line = lc.summary.get(set_name, {}).get("seed_line")
        if line:
            sm["verdict"] = f"{sm['verdict']} {line}"
    sections += lc.sections
    plots += lc.plots
    sections += dec.sections
    plots += dec.plots
    if shift:
        fields = list(next(iter(shift.values()))["labels"])
        sections.append(
            (
                "data-shift",
                "How far each test set is from the training data",
                shift_table(list(shift.items()), fields),
                shift_note()
                + " A test set the training data does not resemble is where a score says "
                "something about tickets unlike the ones the models learnt from.",
            )
        )
    loss = plot_loss(train_dir) if train_dir is not None else None
    if loss is not None:
        plots.append(("loss", "Training loss", loss))
    plot_dir = run_dir / PLOTS_DIR
    plot_dir.mkdir(parents=True, exist_ok=True)
    for key, _, png in plots:
        (plot_dir / f"{key}.png").write_bytes(png)

    first = next(iter(summaries.values()))
    many = len(summaries) > 1
    verdict = " ".join(
        (f"On {name}: " if many else "") + str(sm["verdict"]) for name, sm in summaries.items()
    )
    summary = {**first, "verdict": verdict}
    if many:
        summary["test_sets"] = summaries
    summary["decision"] = dec.summary.get("decision")
    summary["costs"] = dec.summary.get("costs")
    summary["calibration"] = {
        s: v["calibration"] for s, v in (dec.summary.get("test_sets") or {}).items()
    }
    summary["cascades"] = {
        s: v["cascades"] for s, v in (dec.summary.get("test_sets") or {}).items()
    }
    if lc.summary:
        summary["curve"] = lc.summary
    if shift:
        summary["data_shift"] = {
            name: {
                "domain_auc": r["domain_classifier"]["auc"],
                "token_coverage": r["vocabulary"]["token_coverage"],
                "label_tv": {f: x["tv_distance"] for f, x in r["labels"].items()},
            }
            for name, r in shift.items()
        }
    intro = [verdict, _setup_line(config, first_n, list(summaries))]
    lead = (dec.text, dec.decision) if dec.decision is not None else None
    md = _markdown(title, intro, sections, plots, lead)
    files = [run_dir / "report.md"]
    files[0].write_text(md, encoding="utf-8")
    (run_dir / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    files.append(run_dir / "summary.json")
    if write_html:
        page = render_html(title, intro, sections, plots, config, run_dir, lead)
        (run_dir / "report.html").write_text(page, encoding="utf-8")
        files.append(run_dir / "report.html")
    return {"files": [str(f) for f in files], "summary": summary}


def _slug(name: str) -> str:
    stem = name.split(":", 1)[1] if ":" in name else Path(name).stem
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-") or "set"


def _sections(
    runs: Mapping[str, dict[str, Any]],
    set_name: str,
    suffix: str,
    skipped: Mapping[str, str],
    margin_pp: float,
) -> list[Section]:
    ordered = list(runs.values())
    n = ordered[0]["metrics"]["n"]
    on = f" ({set_name})" if suffix else ""
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
        out.append(
            (
                "usage",
                "Latency, throughput and cost",
                usage_table(ordered),
                "Mean latency per ticket; items/s over the stage's wall time (n/a when every "
                "answer came from the cache); cost: token counts times list prices, also for "
                "answers from the response cache (local models and baselines: 0)."
                + (f" {note}" if (note := truncation_note(ordered)) else ""),
            )
        )
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


def _combined_sections(
    runs: Mapping[str, dict[str, Any]], on: str, suffix: str, margin_pp: float
) -> list[Section]:
    """Each combined model (``eval.combine``) against each of its members, one family."""
    out: list[Section] = []
    label_of = {Path(r["dir"]).resolve(): k for k, r in runs.items()}
    for label, combo in runs.items():
        if not is_combined(combo):
            continue
        given = combo["config"]["combine"]["members"]
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
                f"combined-{_slug(label)}{suffix}",
                f"Combined model: {run_name(combo)} against its members{on}",
                versus_table(combo, members, fam),
                f"The combined model answers from the product of its members' probabilities "
                f"(weights: {weights}; bizztune.eval.combine), made consistent with the "
                f"taxonomy; no parameter is fitted on these items. Δ = combined minus member. "
                f"Serving it runs every member: its latency and cost are theirs summed. The "
                f"verdict at the top is the fine-tuned model's alone. "
                + verdict_rule(margin_pp, len(members), int(combo["metrics"]["n"])),
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


def _setup_line(config: Any, n: int, sets: Sequence[str] = ()) -> str:
    """One sentence of set-up, from a RunConfig (duck-typed to keep this module standalone)."""
    scored = f"{n} test items" + (f"; test sets: {', '.join(sets)}" if len(sets) > 1 else "")
    if config is None:
        return f"{scored}."
    t = config.train
    length = f"{t.max_steps} steps" if t.max_steps else f"{t.epochs:g} epoch(s)"
    return (
        f"Task {config.task}; {scored}; open model {config.model.name} evaluated with "
        f"{config.model.decoding} decoding and the {config.model.style} prompt, fine-tuned with "
        f"{t.trainer} (r={t.r}, alpha={t.alpha}, {length}, lr {t.learning_rate:g}, "
        f"{t.lr_scheduler}); seed {config.seed}. The resolved config is in config.yaml, the "
        f"package versions in versions.json."
    )


def _markdown(
    title: str,
    intro: list[str],
    sections: list[Section],
    plots: list[tuple[str, str, bytes]],
    lead: tuple[str, Section] | None = None,
) -> str:
    parts = [f"# {title}", ""]
    if lead is not None:
        text, (_key, heading, table, note) = lead
        parts += [f"## {heading}", "", f"**{text}**", "", table, "", note, ""]
    parts += [f"**{intro[0]}**", "", *(x for line in intro[1:] for x in (line, ""))]
    for _key, heading, table, note in sections:
        parts += [f"## {heading}", "", table, "", note, ""]
    parts += ["## Plots", ""]
    for key, caption, _ in plots:
        parts += [f"![{caption}]({(PLOTS_DIR / f'{key}.png').as_posix()})", ""]
    return "\n".join(parts)
