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

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizztune.core.errors import DataError
from bizztune.data.shift import shift_note, shift_table
from bizztune.eval.combine import is_combined
from bizztune.eval.costs import CostsConfig, is_api, read_train_summary
from bizztune.eval.decision import DecisionSets
from bizztune.eval.paired import (
    BASE_LABEL,
    FINETUNED_LABEL,
    ranking,
    run_name,
    summarize_answer,
)
from bizztune.eval.rundir import load_run
from bizztune.eval.runs import EvalRun
from bizztune.providers.api.prices import api_price
from bizztune.report.decision import DecisionOutput, decide, default_sets
from bizztune.report.headline import headline, options_table
from bizztune.report.html import PLOTS_DIR, Page, Plot, Section, render_html, render_markdown
from bizztune.report.plots import plot_accuracy, plot_confusion, plot_loss
from bizztune.report.set_sections import set_sections, slug


def _price_cached_answers(run: EvalRun) -> EvalRun:
    """Answers from the API response cache cost 0 in metrics.json (nothing was paid this time).
    The report prices their recorded token counts at list price, so cost per 1,000 tickets is
    what the tickets cost, whether or not a cache answered."""
    usage = run.usage
    info = run.provider_info
    model = info.get("model")
    if not model or not usage.get("cached_items") or not run.n:
        return run
    if not is_api(run):
        return run
    price = api_price(str(model), info.get("family"))
    if price is None:
        return run
    cost = price.usd(usage["prompt_tokens"], usage["completion_tokens"])
    usage = {**usage, "cost_usd": cost, "cost_per_1000": cost / run.n * 1000}
    return dataclasses.replace(run, metrics={**run.metrics, "usage": usage})


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
    costs: CostsConfig | None = None,
    sets: DecisionSets | None = None,
) -> dict[str, Any]:
    """Write ``report.md`` (plots under ``report/plots``) and ``report.html`` into ``run_dir``.

    ``evals``: (label, eval run folder, display name) per model, or such lists by test set
    name (the first set is the run's own test split); labels ``base`` and ``finetuned`` mark
    the open model before and after fine-tuning. ``shift``: ``bizztune.data.shift`` results by
    test set name. ``costs``: the cost model (``CostsConfig()`` when None); ``sets``: the set the
    Decision chooses on, the one that confirms it, and the checks (default: the first set
    chooses). Returns the files written and the summary: the decision set's at the top level,
    every set's under ``test_sets``, one verdict that names each set, and the Decision with its
    costs.
    """
    by_set = dict(evals) if isinstance(evals, Mapping) else {"test split": evals}
    loaded, roles = _load_sets(by_set, sets)
    seed = int(getattr(config, "seed", 0) or 0)
    costs = costs or CostsConfig()
    dec = _decide(loaded, roles, train_dir, costs, seed)
    sections, plots, summaries = _per_set(loaded, dec, dict(skipped or {}), confusion, costs)
    body = _Body(sections, [*plots, *dec.plots], summaries)  # the Decision's plots last
    if shift:
        body.sections.append(_shift_section(shift))
    loss = plot_loss(train_dir) if train_dir is not None else None
    if loss is not None:
        body.plots.append(("loss", "Training loss", loss))
    summary = _summary(body.summaries, dec.summary, shift)
    page = _page(title, loaded, dec, body, summary, config)
    return _write(run_dir, page, summary, config, write_html)


Runs = dict[str, EvalRun]


@dataclass
class _Body:
    """Everything below the first screen: each set's sections and plots, and their answers."""

    sections: list[Section]
    plots: list[Plot]
    summaries: dict[str, dict[str, Any]]


def _load_sets(
    by_set: Mapping[str, Sequence[tuple[str, Path, str]]], sets: DecisionSets | None
) -> tuple[dict[str, Runs], DecisionSets]:
    """Every set's runs, in the order of their roles (decide, confirm, then the checks)."""
    loaded = _load(by_set)
    roles = _roles(sets, list(loaded))
    return {s.name: loaded[s.name] for s in roles.all}, roles


def _decide(
    loaded: Mapping[str, Runs],
    roles: DecisionSets,
    train_dir: Path | None,
    costs: CostsConfig,
    seed: int,
) -> DecisionOutput:
    """The Decision (computed in eval/) with its calibration and cost sections."""
    train = read_train_summary(None, train_dir) if train_dir is not None else None
    return decide(loaded, costs, train, seed, sets=roles)


def _page(
    title: str,
    loaded: Mapping[str, Runs],
    dec: DecisionOutput,
    body: _Body,
    summary: Mapping[str, Any],
    config: Any,
) -> Page:
    """The first screen (the Decision's headline, chart and options table), the verdict and
    the set-up, then the rule, every set's sections and the costs."""
    first_n = int(next(iter(next(iter(loaded.values())).values())).n)
    choice = dec.decision
    return Page(
        title,
        headline(choice) if choice else [],
        options_table(choice) if choice else "",
        dec.chart,
        [summary["verdict"], _setup_line(config, first_n, list(body.summaries))],
        [*dec.sections[:1], *body.sections, *dec.sections[1:]],
        body.plots,
    )


def _write(
    run_dir: Path, page: Page, summary: Mapping[str, Any], config: Any, write_html: bool
) -> dict[str, Any]:
    """The plots, report.md, summary.json and report.html; the files written and the summary."""
    plot_dir = run_dir / PLOTS_DIR
    plot_dir.mkdir(parents=True, exist_ok=True)
    for key, _, png in [*([page.chart] if page.chart else []), *page.plots]:
        (plot_dir / f"{key}.png").write_bytes(png)
    files = [run_dir / "report.md", run_dir / "summary.json"]
    files[0].write_text(render_markdown(page), encoding="utf-8")
    files[1].write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    if write_html:
        (run_dir / "report.html").write_text(render_html(page, config, run_dir), encoding="utf-8")
        files.append(run_dir / "report.html")
    return {"files": [str(f) for f in files], "summary": dict(summary)}


def _load(by_set: Mapping[str, Sequence[tuple[str, Path, str]]]) -> dict[str, Runs]:
    """Every set's runs, each with the name the report shows and cached answers priced."""
    loaded: dict[str, Runs] = {}
    for set_name, items in by_set.items():
        runs: Runs = {}
        for label, d, display in items:
            runs[label] = _price_cached_answers(load_run(d).renamed(display))
        if runs:
            loaded[set_name] = runs
    return loaded


def _per_set(
    loaded: Mapping[str, Runs],
    dec: DecisionOutput,
    skipped: Mapping[str, str],
    confusion: str,
    costs: CostsConfig,
) -> tuple[list[Section], list[Plot], dict[str, dict[str, Any]]]:
    """Each set's sections (its own, then its calibration), plots and answer."""
    sections: list[Section] = []
    plots: list[Plot] = []
    summaries: dict[str, dict[str, Any]] = {}
    for i, (set_name, runs) in enumerate(loaded.items()):
        suffix = "" if i == 0 else f"-{slug(set_name)}"
        # The verdict is the fine-tuned model's: a combination holding it is not its rival.
        alone = {k: r for k, r in runs.items() if not is_combined(r)}
        summaries[set_name] = summarize_answer(alone, costs.margin_pp)
        summaries[set_name]["ranking"] = ranking(runs)  # combined models ranked too
        own = set_sections(runs, set_name, suffix, skipped if i == 0 else {}, costs.margin_pp)
        at = next((k for k, sec in enumerate(own) if sec[0] == "skipped"), len(own))
        sections += [*own[:at], *dec.set_sections.get(set_name, []), *own[at:]]
        caption = f"Per-field accuracy with 95% intervals: {set_name}"
        plots.append((f"accuracy{suffix}", caption, plot_accuracy(list(runs.values()))))
        for label, r in runs.items():
            if label in (BASE_LABEL, FINETUNED_LABEL) or (confusion == "all" and i == 0):
                caption = f"Confusion matrices: {run_name(r)}, {set_name}"
                plots.append((f"confusion-{label}{suffix}", caption, plot_confusion(r)))
    return sections, plots, summaries


def _shift_section(shift: Mapping[str, Mapping[str, Any]]) -> Section:
    fields = list(next(iter(shift.values()))["labels"])
    return (
        "data-shift",
        "How far each test set is from the training data",
        shift_table(list(shift.items()), fields),
        shift_note() + " A test set the training data does not resemble is where a score says "
        "something about tickets unlike the ones the models learnt from.",
    )


def _summary(
    summaries: Mapping[str, dict[str, Any]],
    dec: Mapping[str, Any],
    shift: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """summary.json: the decision set's answer at the top level, every set's under
    ``test_sets``, one verdict naming each set, the Decision, costs, calibration."""
    first = next(iter(summaries.values()))
    many = len(summaries) > 1
    verdict = " ".join(
        (f"On {name}: " if many else "") + str(sm["verdict"]) for name, sm in summaries.items()
    )
    summary = {**first, "verdict": verdict}
    if many:
        summary["test_sets"] = dict(summaries)
    per_set = dec.get("test_sets") or {}
    summary["decision"] = dec.get("decision")
    summary["costs"] = dec.get("costs")
    summary["calibration"] = {s: v["calibration"] for s, v in per_set.items()}
    if shift:
        summary["data_shift"] = {
            name: {
                "domain_auc": r["domain_classifier"]["auc"],
                "token_coverage": r["vocabulary"]["token_coverage"],
                "label_tv": {f: x["tv_distance"] for f, x in r["labels"].items()},
            }
            for name, r in shift.items()
        }
    return summary


def _roles(sets: DecisionSets | None, names: Sequence[str]) -> DecisionSets:
    """The roles of the loaded sets: ``sets`` where they were loaded (a set not loaded is left
    out; one loaded but not named is a check), else the first set chooses."""
    if sets is None:
        return default_sets(names)
    if sets.decide.name not in names:
        raise DataError(
            f"the Decision chooses on {sets.decide.name}, and no model has finished there: run "
            f"the stages that score it (baselines, finetuned, folds), or drop --stages"
        )
    named = {s.name for s in sets.all}
    confirm = sets.confirm if sets.confirm and sets.confirm.name in names else None
    checks = tuple(s for s in sets.checks if s.name in names)
    checks += tuple(default_sets(["x", *(n for n in names if n not in named)]).checks)
    return DecisionSets(sets.decide, confirm, checks)


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
