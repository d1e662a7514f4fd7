"""``bizztune train``, ``bizztune sweep`` and ``bizztune export``: flags to configs, nothing more.

bizztune train --trainer lora --model smollm2-135m --data data/tickets --out runs/train/lora
bizztune train --trainer qlora-fsdp --nproc 2 --max-steps 20
bizztune sweep --grid learning_rate=1e-4,3e-4 --grid r=8,16 --out runs/sweep
bizztune export runs/train/lora --out runs/export/lora
bizztune export runs/train/lora --format gguf --quant q8_0 --out runs/export/lora.gguf
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bizztune.cli.common import console

if TYPE_CHECKING:
    from bizztune.trainers.config import TrainJob


F = TypeVar("F", bound=Callable[..., Any])


def train_options(f: F) -> F:
    """The common flags of a trainer's config, a recipe, a config file and ``--set``; every one
    defaults to None = "not given" (then the config file, then the recipe wins)."""
    opts = [
        click.option(
            "--recipe",
            help="Named recipe to start from: default (Gemma 3 270M heads, the run's), "
            "smollm2-lora, study-gpu (docs/training.md). Default: the trainer's own.",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(path_type=Path),
            help="The trainer's config as YAML; flags override it.",
        ),
        click.option(
            "--set",
            "assignments",
            multiple=True,
            metavar="KEY=VALUE",
            help="Any other parameter of the trainer's config, e.g. head_refit=0.01, "
            "warmup_ratio=0.1, loraplus_ratio=16 (repeat; docs/training.md lists them).",
        ),
        click.option("--trainer", help="head, lora, qlora, qlora-fsdp, ... (bizztune plugins)."),
        click.option("--model", "-m", help="Embedded model name or a local HF folder."),
        click.option("--data", "-d", help="Split directory (train.jsonl, val.jsonl)."),
        click.option("--task", "-t", help="Task name or task YAML file (default: tickets)."),
        click.option("--style", type=click.Choice(["long", "compact"]), help="Prompt style."),
        click.option("--quantization", type=click.Choice(["nf4", "none"]), help="Base weights."),
        click.option("--r", "r", type=int, help="LoRA rank."),
        click.option("--alpha", type=int, help="LoRA alpha."),
        click.option("--dropout", type=float, help="LoRA dropout."),
        click.option("--target-modules", help="Comma-separated modules, or all-linear."),
        click.option("--epochs", type=float, help="Passes over the train split."),
        click.option("--max-steps", type=int, help="Stop after N optimizer steps."),
        click.option("--learning-rate", "--lr", "learning_rate", type=float, help="Peak lr."),
        click.option("--batch-size", type=int, help="Examples per micro-batch (per process)."),
        click.option("--grad-accum", type=int, help="Micro-batches per optimizer step."),
        click.option("--max-seq-len", type=int, help="Prompt tokens kept."),
        click.option("--gradient-checkpointing/--no-gradient-checkpointing", default=None),
        click.option("--seed", type=int),
        click.option("--eval-steps", type=int, help="Validation loss every N steps (0: off)."),
        click.option("--save-steps", type=int, help="Checkpoint every N steps (for --resume)."),
        click.option("--limit-train", type=int, help="Train on N training examples only."),
        click.option("--nproc", type=int, help="Processes for qlora-fsdp (one per GPU, or CPU)."),
        click.option("--device", help="cpu, cuda, cuda:1 ... (default: cuda if present)."),
        click.option("--threads", "num_threads", type=int, help="torch CPU threads."),
        click.option(
            "--report-to",
            type=click.Choice(["none", "tensorboard", "mlflow", "wandb"]),
            help="Experiment tracker for training and validation loss (default none).",
        ),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def build_train_config(
    config_file: Path | None, kw: dict[str, Any], plugins: Any, section: str = ""
) -> TrainJob:
    """The trainer's config: the recipe, the config file (its ``section``), then the flags
    and ``--set`` (which ``kw`` holds, and which are taken out of it)."""
    from bizztune.core.config import parse_assignments, read_yaml
    from bizztune.trainers.config import build_config
    from bizztune.trainers.recipes import resolve_values

    data = read_yaml(config_file) if config_file else {}
    if section:
        data = dict(data.get(section) or {})
    flags = {k: kw.pop(k) for k in list(kw) if k not in NOT_CONFIG}
    flags.update(parse_assignments(kw.pop("assignments", ()) or (), "--set"))
    if flags.get("quantization") == "none":
        flags.pop("quantization")
        data["quantization"] = None
    if flags.get("resume") is False:
        flags["resume"] = None
    values = resolve_values(data, flags)
    trainer = plugins.trainer(values["trainer"])
    return build_config(trainer.config_type, values, str(config_file or "flags"))


NOT_CONFIG = ("grid", "mode", "trials", "eval_limit", "decoding", "assignments")
"""Flags of ``bizztune sweep`` that are its own, not the trainer's."""


@click.command()
@train_options
@click.option("--out", "-o", help="Output folder (default: runs/train/<task>-<model>-<trainer>).")
@click.option("--resume", is_flag=True, default=None, help="Continue from the last checkpoint.")
def train(config_file: Path | None, **kw: Any) -> None:
    """Fine-tune an open model with LoRA/QLoRA on a task's train split."""
    from bizztune.plugins import load_task, registry

    plugins = registry()
    cfg = build_train_config(config_file, kw, plugins)
    task = load_task(cfg.task)
    out = plugins.trainer(cfg.trainer).train(task, cfg)
    summary = out / "train_summary.json"
    quantization = getattr(cfg, "quantization", None)
    if summary.is_file():
        s = json.loads(summary.read_text())
        quantization = s.get("quantization", quantization)  # the trainer's, e.g. qlora -> nf4
        console().print(
            f"[bold green]trained[/] {s['steps']} steps in {s['train_time_s']:.0f} s, "
            f"{s['tokens_per_s']:.0f} tokens/s, train loss {s['final_train_loss']:.4f}"
            + (f", val loss {s['final_val_loss']:.4f}" if s.get("final_val_loss") else "")
        )
    click.echo(f"adapter: {out}")
    # A QLoRA adapter was fitted to the NF4-rounded weights: score it on the same 4-bit base
    # (on a 16-bit base it lost 6-14 points per field in docs/training.md, "QLoRA on CPU").
    nf4 = " --load-in-4bit" if quantization == "nf4" else ""
    click.echo(
        f"evaluate: bizztune eval --provider hf --model {cfg.model} --adapter {out} "
        f"--style {cfg.style} --decoding constrained{nf4}"
    )


@click.command()
@train_options
@click.option("--out", "-o", help="Sweep folder (default: runs/sweep).")
@click.option(
    "--grid", "-g", multiple=True, help="FIELD=V1,V2 (repeat); target_modules sets split by |."
)
@click.option(
    "--mode", type=click.Choice(["grid", "random"]), help="Every combination, or a random draw."
)
@click.option("--trials", type=int, help="Random search: number of trials (grid: at most).")
@click.option("--eval-limit", type=int, help="Score trials on the first N validation items.")
@click.option("--decoding", type=click.Choice(["free", "constrained"]), help="Scoring decoding.")
def sweep(config_file: Path | None, **kw: Any) -> None:
    """Search learning rate, r, alpha, epochs, target modules; score on the validation split."""
    from rich.console import Console
    from rich.table import Table

    from bizztune.core.config import build, read_yaml
    from bizztune.pipeline.sweep import SweepConfig, cell_text, parse_grid, run_sweep
    from bizztune.plugins import load_task, registry

    plugins = registry()
    yaml_data = read_yaml(config_file) if config_file else {}
    out = kw.pop("out", None)
    train_cfg = build_train_config(config_file, kw, plugins, section="train")
    space = dict(yaml_data.get("space") or {})
    space.update(parse_grid(kw.pop("grid") or ()))
    data: dict[str, Any] = {k: v for k, v in yaml_data.items() if k not in ("train", "space")}
    for k in ("mode", "trials", "eval_limit", "decoding"):
        if kw.get(k) is not None:
            data[k] = kw[k]
    if out:
        data["out"] = out
    data["space"] = space
    data["train"] = train_cfg
    cfg = build(SweepConfig, data, str(config_file or "flags"))
    task = load_task(train_cfg.task)
    con = console()

    def on_trial(i: int, n: int, p: dict[str, Any]) -> None:
        con.print(f"[bold cyan]trial {i + 1}/{n}[/] " + ", ".join(f"{k}={v}" for k, v in p.items()))

    board = run_sweep(task, cfg, plugins, on_trial=on_trial)
    table = Table(title=f"sweep leaderboard (validation, {cfg.decoding})")
    cols = list(board["rows"][0].keys())
    for c in cols:
        table.add_column(c)
    for r in board["rows"]:
        table.add_row(*(cell_text(r[c]) for c in cols))
    Console(width=200).print(table)
    click.echo(f"best: {board['best']['trial']} -> {Path(cfg.out) / 'best'}")


@click.command("export")
@click.argument("adapter", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder (merged, vllm) or .gguf file (gguf; a folder gets model-QUANT.gguf).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["merged", "gguf", "vllm"]),
    default="merged",
    show_default=True,
    help="merged safetensors, one GGUF file, or a vLLM LoRA folder.",
)
@click.option("--model", "-m", help="Base model (default: the one the adapter was trained from).")
@click.option(
    "--dtype",
    type=click.Choice(["bfloat16", "float16", "float32"]),
    default="bfloat16",
    show_default=True,
    help="merged: weight dtype.",
)
@click.option(
    "--quant",
    type=click.Choice(["f16", "q8_0"]),
    default="q8_0",
    show_default=True,
    help="gguf: float16 or 8-bit blocks.",
)
@click.option("--name", help="gguf/vllm: the model name written into the file or command.")
def export_cmd(
    adapter: Path, out: Path, fmt: str, model: str | None, dtype: str, quant: str, name: str | None
) -> None:
    """Export an adapter for other engines: merged safetensors, GGUF (llama.cpp, Ollama), vLLM."""
    from bizztune.data.locks import output_guard

    gguf = fmt == "gguf"
    target = out if not gguf or out.suffix == ".gguf" else out / f"model-{quant}.gguf"
    # never over the adapter or the base it reads; one writer
    with output_guard(target, folder=not gguf, inputs=[("ADAPTER", adapter), ("--model", model)]):
        _export(adapter, target, fmt, model, dtype, quant, name)


def _export(
    adapter: Path, out: Path, fmt: str, model: str | None, dtype: str, quant: str, name: str | None
) -> None:
    from bizztune.trainers.export import base_model_of, export_merged, export_vllm

    if fmt == "vllm":
        path = export_vllm(adapter, out, model=model, name=name)
        command = json.loads((path / "vllm.json").read_text())["command"]
        click.echo(f"vLLM adapter folder: {path}")
        click.echo(f"serve: {command}")
        return
    if fmt == "gguf":
        from bizztune.trainers.gguf_export import export_gguf

        base = model or base_model_of(adapter)
        path = export_gguf(base, adapter, out, quant, name)  # type: ignore[arg-type]
        click.echo(f"GGUF ({quant}): {path}")
        click.echo(f"serve: llama-server -m {path} --port 8080   (docs/serving.md: Ollama)")
        click.echo(f"evaluate: bizztune eval --provider hf --model {path} --decoding constrained")
        return
    path = export_merged(adapter, out, model=model, dtype=dtype)
    click.echo(f"merged model: {path}")
    click.echo(f"evaluate: bizztune eval --provider hf --model {path}")
