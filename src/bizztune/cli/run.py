"""``bizztune run``: the whole experiment with one command, resumable.

    bizztune run                                              # defaults = experiments/default.yaml
    bizztune run --config experiments/study-gpu.yaml --out runs/study
    bizztune run --stages train,finetuned,report --force      # redo just these
    bizztune run --no-api                                     # skip API baselines, fully offline

Parses flags and shows progress; the pipeline is ``bizztune.pipeline.stages``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from bizztune.cli.common import console

_ICONS = {
    "start": "[bold cyan]▶[/]",
    "cached": "[green]✓[/]",
    "done": "[bold green]✓[/]",
    "skipped": "[yellow]–[/]",
    "redo": "[magenta]↻[/]",
}
_WORDS = {"cached": "cached", "done": "done", "skipped": "skipped", "redo": "redo", "start": ""}


class RichReporter:
    """One line per stage event, a progress bar while an evaluation scores items."""

    def __init__(self, con: Any, header: str = "") -> None:
        self.console = con
        self.header = header
        """Printed with the first stage line: a run that fails before its first stage (a bad
        flag, a foreign --out) shows its one error line only."""
        self.bar: Any = None
        self.task_id: Any = None
        self.shown = 0
        self.t0 = time.perf_counter()

    def _clock(self) -> str:
        s = int(time.perf_counter() - self.t0)
        return f"[dim]{s // 60:02d}:{s % 60:02d}[/]"

    def stage(self, key: str, status: str, detail: str = "") -> None:
        from rich.markup import escape

        self._stop_bar()
        if self.header:
            self.console.print(self.header, soft_wrap=True)
            self.header = ""
        word = _WORDS.get(status, status)
        text = f"{self._clock()} {_ICONS.get(status, '')} [bold]{escape(key)}[/]"
        if word:
            text += f" {word}"
        if detail:
            text += f"[dim]: {escape(detail)}[/]"
        self.console.print(text, soft_wrap=True)
        if status != "start" or not (key.startswith("eval:") or key == "generate"):
            return
        self.shown = 0
        if self.console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                "  [progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.start()
            self.task_id = self.bar.add_task(key, total=None)

    def progress(self, key: str, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task_id, completed=done, total=total)
        elif total and done * 4 // total > self.shown:
            # not a terminal (a log file, CI): a line at every quarter instead of a bar
            self.shown = done * 4 // total
            self.console.print(f"{self._clock()}   {key}: {done}/{total}", soft_wrap=True)

    def _stop_bar(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


@click.command("run")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="Experiment YAML (experiments/*.yaml); default: the built-in defaults, which are "
    "experiments/default.yaml.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="Run folder (default: runs/<name>; name defaults to the config file's stem; with "
    "--data FILE: runs/<name>-<FILE's stem>[-gen<N>], so your study never replaces the default "
    "one). A folder that holds a run of other data is refused.",
)
@click.option(
    "--stages",
    help="Comma-separated stages to run (default: all): generate,split,baselines,train,"
    "finetuned,folds,report. Stages they need must have finished.",
)
@click.option("--force", is_flag=True, help="Redo the chosen stages even when they finished.")
@click.option(
    "--data",
    "data_file",
    help="Your own labelled tickets (JSONL, CSV or a datasets folder) to split and learn from "
    "instead of generated ones (data.file).",
)
@click.option(
    "--add-generated",
    type=click.IntRange(min=0),
    help="With --data: this many generated tickets join the training split only; validation "
    "and test stay yours (data.add_generated).",
)
@click.option(
    "--choose-on",
    help="The set the Decision chooses on (decision.choose_on): val, folds, TASK:NAME or a "
    "file. Default: tickets:foreign-dev; with --data, your val split (cross-fitted folds "
    "under 500 tickets).",
)
@click.option(
    "--confirm-on",
    help="The set that confirms the choice, with no further choice (decision.confirm_on): "
    "test, TASK:NAME or a file. Default: tickets:foreign; with --data, your test split.",
)
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    help="Cross-fitting: folds of your own tickets (decision.folds, default 5).",
)
@click.option("--seed", type=int, help="Seed for everything (overrides the config).")
@click.option("--limit", type=int, help="Score only the first N test items.")
@click.option(
    "--no-api", is_flag=True, default=False, help="Skip the API baselines even if keys are set."
)
@click.option(
    "--tickets-per-month",
    type=int,
    help="Volume the Decision is made for (costs.tickets_per_month).",
)
@click.option(
    "--cpu-usd-per-hour", type=float, help="Price of your CPU machine (costs.cpu_usd_per_hour)."
)
@click.option(
    "--gpu-usd-per-hour", type=float, help="Price of your GPU machine (costs.gpu_usd_per_hour)."
)
def run_cmd(
    config_file: Path | None,
    out: Path | None,
    stages: str | None,
    force: bool,
    data_file: str | None,
    add_generated: int | None,
    choose_on: str | None,
    confirm_on: str | None,
    folds: int | None,
    seed: int | None,
    limit: int | None,
    no_api: bool,
    tickets_per_month: int | None,
    cpu_usd_per_hour: float | None,
    gpu_usd_per_hour: float | None,
) -> None:
    """Generate data (or split your own, --data), benchmark baselines, fine-tune, benchmark
    again, and write the report."""

    from bizztune.pipeline.config import default_out, load_run_config
    from bizztune.pipeline.stages import run_experiment
    from bizztune.plugins import load_task, registry

    overrides: dict[str, Any] = {
        "seed": seed,
        "data": {"file": data_file, "add_generated": add_generated},
        "eval": {"limit": limit},
        "decision": {"choose_on": choose_on, "confirm_on": confirm_on, "folds": folds},
        "costs": {
            "tickets_per_month": tickets_per_month,
            "cpu_usd_per_hour": cpu_usd_per_hour,
            "gpu_usd_per_hour": gpu_usd_per_hour,
        },
    }
    if no_api:
        overrides["eval"]["api"] = False
    plugins = registry()
    cfg = load_run_config(config_file, plugins, overrides)
    run_dir = out or default_out(cfg)
    wanted = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    con = console()
    reporter = RichReporter(
        con,
        f"[bold]bizztune run[/] {cfg.name}: task {cfg.task}, model {cfg.model.name}, "
        f"trainer {cfg.train.trainer}, seed {cfg.seed} -> {run_dir}",
    )
    try:
        result = run_experiment(cfg, load_task(cfg.task), plugins, run_dir, wanted, force, reporter)
    finally:
        reporter._stop_bar()
    for label, why in result.skipped.items():
        con.print(f"[yellow]skipped {label}[/]: {why}", soft_wrap=True)
    for path in result.reports:
        if path.suffix in (".md", ".html"):
            con.print(f"report: {path}")
    click.echo(f"run folder: {run_dir}")
    decision = result.summary.get("decision")
    if decision and "decide_on" in decision:  # a report written before the sets: not shown
        print_decision(con, decision)


def print_decision(con: Any, summary: dict[str, Any]) -> None:
    """The run's last words: at most six lines of decision and one compact table."""
    from rich.markup import escape
    from rich.table import Table

    from bizztune.eval.decision import Decision
    from bizztune.report.headline import console_lines, console_table

    d = Decision.from_dict(summary)
    for line in console_lines(d):
        warn = line.startswith("Too few tickets")
        style = "bold yellow" if warn else "bold green" if line.startswith("Decision:") else "bold"
        con.print(f"[{style}]{escape(line)}[/]", soft_wrap=True)
    head, rows = console_table(d)
    table = Table(title="Joint accuracy % (all fields right)", box=None, pad_edge=False)
    for i, h in enumerate(head):
        # one row per option even on a pipe's 80 columns: the names are never folded, the
        # headers are
        first = (
            {"no_wrap": True, "min_width": max(len(r[0]) for r in rows)}
            if i == 0
            else {"overflow": "fold"}
        )
        table.add_column(h, justify="left" if i == 0 else "right", **first)
    for row in rows:
        table.add_row(*row, style="bold" if row[0].endswith("(chosen)") else None)
    con.print(table)
