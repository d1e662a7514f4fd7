"""``bizztune eval`` and ``bizztune report``: score one provider, put finished runs side by side.

bizztune eval --provider tfidf --task tickets --data data/split
bizztune eval --provider tfidf --data tickets:foreign --train-data data/split   # train on one set, test on another
bizztune eval --provider gpt-4o --task tickets --limit 50          # OPENAI_API_KEY
bizztune report runs/eval/A runs/eval/B --out comparison.md
bizztune plan runs/eval/gpt-4 runs/eval/ft --delta 3 --power 0.8

Parses flags and shows progress; the work is in ``bizztune.eval.evaluate``,
``bizztune.report.compare`` and ``bizztune.report.planner``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bizztune.cli.common import LazyBar, output_file

F = TypeVar("F", bound=Callable[..., Any])


def provider_options(f: F) -> F:
    opts = [
        click.option("--provider", "-p", help="Provider name or alias (see 'bizztune plugins')."),
        click.option("--model", "-m", help="Model id or local path (provider default if unset)."),
        click.option("--base-url", help="OpenAI-compatible server URL (vLLM, Ollama, llama.cpp)."),
        click.option("--adapter", type=click.Path(path_type=Path), help="PEFT adapter directory."),
        click.option(
            "--decoding",
            type=click.Choice(["free", "constrained"]),
            help="free generation parsed afterwards, or constrained to valid answers.",
        ),
        click.option("--concurrency", type=int, help="Concurrent API requests."),
        click.option("--timeout", "timeout_s", type=float, help="Per-request timeout in seconds."),
        click.option("--max-retries", type=int, help="Retries on 429, 5xx and timeouts."),
        click.option("--batch-size", type=int, help="Local model batch size."),
        click.option("--max-new-tokens", type=int, help="Generation limit for free decoding."),
        click.option(
            "--load-in-4bit/--no-load-in-4bit",
            default=None,
            help="Load a local model in 4-bit NF4 (bitsandbytes).",
        ),
        click.option("--device", help="cpu, cuda, cuda:1 ... (default: cuda if present)."),
        click.option("--dtype", type=click.Choice(["auto", "float32", "bfloat16", "float16"])),
        click.option("--no-cache", is_flag=True, default=None, help="Do not use the API cache."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def provider_overrides(kw: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "model",
        "base_url",
        "adapter",
        "decoding",
        "concurrency",
        "timeout_s",
        "max_retries",
        "batch_size",
        "max_new_tokens",
        "load_in_4bit",
        "device",
        "dtype",
    )
    out = {k: kw.pop(k, None) for k in keys}
    out["name"] = kw.pop("provider", None)
    if out["adapter"] is not None:
        out["adapter"] = str(out["adapter"])
    if kw.pop("no_cache", None):
        out["cache_dir"] = None
        out["_no_cache"] = True
    return out


@click.command("eval")
@provider_options
@click.option("--task", "-t", help="Task name or task YAML file (default: tickets).")
@click.option(
    "--data",
    "-d",
    help="JSONL/CSV file, datasets folder, split directory, or a set the task ships "
    "(tickets:foreign). Default: the embedded default set.",
)
@click.option("--split", help="Split to score when --data is a split folder (default: test).")
@click.option(
    "--train-data",
    help="What fittable providers (tfidf, majority) learn from: a split folder (its train "
    "split), a labelled file, or 'default'. Default: the train split of --data.",
)
@click.option("--limit", type=int, help="Score only the first N items.")
@click.option("--style", type=click.Choice(["long", "compact"]), help="Prompt style.")
@click.option(
    "--calls",
    type=click.Choice(["joint", "per-field"]),
    help="One call for all fields, or one per field.",
)
@click.option(
    "--out",
    "-o",
    help="Run directory (default: runs/eval/<task>-<data>[-<split>]-<provider>-<decoding>-"
    "<calls>-<style>[-on-<train data>][-limitN]: named after all a rerun must match).",
)
@click.option("--seed", type=int)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="EvalConfig YAML; flags override it.",
)
def eval_cmd(config_file: Path | None, **kw: Any) -> None:
    """Score one provider on a task with the shared per-field evaluator."""
    from bizztune.core.config import build, merge, read_yaml
    from bizztune.core.paths import responses_dir
    from bizztune.eval.evaluate import EvalConfig

    prov = provider_overrides(kw)
    no_cache = prov.pop("_no_cache", False)
    data = read_yaml(config_file) if config_file else {}
    data = merge(data, {**kw, "provider": prov})
    data.setdefault("provider", {})
    if not data["provider"].get("name"):
        raise click.UsageError("--provider is required (see 'bizztune plugins')")
    if not no_cache:
        data["provider"].setdefault("cache_dir", str(responses_dir()))
    cfg = build(EvalConfig, data, str(config_file or "flags"))
    if no_cache:
        cfg.provider.cache_dir = None
    run_dir = run_eval_with_progress(cfg)
    click.echo((run_dir / "report.md").read_text(encoding="utf-8"))
    click.echo(f"run directory: {run_dir}")


def run_eval_with_progress(cfg: Any) -> Path:
    from bizztune.eval.evaluate import run_eval
    from bizztune.plugins import load_task, registry

    task, provider = load_task(cfg.task), registry().provider(cfg.provider.name)
    with LazyBar(f"eval {cfg.provider.name}") as bar:
        return run_eval(cfg, task, provider, bar.update)


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), help="Write the Markdown here too.")
@click.option(
    "--margin-pp",
    type=click.FloatRange(min=0.0),
    default=2.0,
    show_default=True,
    help="Non-inferiority margin of the verdicts against the first run, in pp.",
)
def report(run_dirs: tuple[Path, ...], out: Path | None, margin_pp: float) -> None:
    """Put eval runs side by side, with McNemar p-values against the first."""
    from bizztune.report.compare import compare_md

    with output_file(out, [("RUN_DIRS", d) for d in run_dirs]) as write:
        md = compare_md(list(run_dirs), margin_pp)
        write(md)
    click.echo(md)


@click.command("plan")
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path), required=False)
@click.option(
    "--delta", type=float, default=3.0, show_default=True, help="Difference to detect, in pp."
)
@click.option("--power", type=float, default=0.8, show_default=True, help="Power to aim at.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Two-sided level.")
@click.option(
    "--margin-pp",
    type=float,
    default=2.0,
    show_default=True,
    help="Non-inferiority margin in pp (costs.margin_pp).",
)
@click.option(
    "--field",
    default="joint",
    show_default=True,
    help="A field of the task, joint (all fields right) or all.",
)
@click.option("--out", "-o", type=click.Path(path_type=Path), help="Write the Markdown here too.")
def plan_cmd(
    run_a: Path,
    run_b: Path | None,
    delta: float,
    power: float,
    alpha: float,
    margin_pp: float,
    field: str,
    out: Path | None,
) -> None:
    """Test items needed to detect a difference of --delta pp between RUN_B and RUN_A (two
    eval runs of the same items), or to show RUN_B non-inferior to RUN_A, from their measured
    discordant items. RUN_A alone: a 'bizztune run' folder, its fine-tuned model against every
    other model."""
    from bizztune.report.planner import PlanRequest, plan_runs

    req = PlanRequest(delta, power, alpha, margin_pp, field)
    with output_file(out, [("RUN_A", run_a), ("RUN_B", run_b)]) as write:
        result = plan_runs(run_a, run_b, req)
        write(result["markdown"])
    click.echo(result["markdown"])


@click.command("combine")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="The combined model's eval run folder (written whole).",
)
@click.option("--weights", help="Comma-separated, one per run (default: equal).")
@click.option("--name", help="The model's name in reports (default: the members' joined by ×).")
@click.option("--task", "-t", help="Task name or YAML (default: the first run's).")
def combine_cmd(
    runs: tuple[Path, ...], out: Path, weights: str | None, name: str | None, task: str | None
) -> None:
    """Combine eval runs of the same items into one model: per item, the product of their
    recorded probabilities (weighted), made consistent with the task's hierarchy. Nothing is
    asked again; the result is an eval run folder for report and plan."""
    from bizztune.cli.common import floats
    from bizztune.eval.combine import combine_runs
    from bizztune.eval.rundir import load_run
    from bizztune.plugins import load_task

    w = floats(weights, "--weights")
    if len(runs) < 2:
        raise click.BadParameter("give two or more eval run folders", param_hint="RUNS")
    task_name = task or load_run(runs[0]).task
    combined = combine_runs(load_task(task_name), list(runs), out, w, name)
    m = load_run(combined).metrics
    fields = ", ".join(f"{f} {100 * v['accuracy']:.1f}" for f, v in m["fields"].items())
    click.echo(f"{m['model']}: {m['n']} items; {fields}; joint {100 * m['joint']['accuracy']:.1f}")
    click.echo(f"wrote {combined}")
