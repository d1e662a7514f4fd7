"""``bizztune train``, ``bizztune sweep`` and ``bizztune export``: flags to configs, nothing more.

bizztune train --trainer lora --model smollm2-135m --data data/tickets --out runs/train/lora
bizztune train --trainer qlora-fsdp --nproc 2 --max-steps 20
bizztune sweep --grid learning_rate=1e-4,3e-4 --grid r=8,16 --out runs/sweep
bizztune export runs/train/lora --out runs/export/lora
bizztune export runs/train/lora --format gguf --quant q8_0 --out runs/export/lora.gguf
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bizztune.cli.common import console

_TRAIN_KEYS = (
    "trainer", "model", "data", "out", "task", "style", "quantization", "r", "alpha", "dropout",
    "loraplus_ratio", "head_pooling", "head_init", "head_layers", "class_weight", "head_refit", "head_refit_mix", "head_refit_tickets", "field_weights", "head_rationale", "lora_layers", "target_modules", "epochs", "max_steps", "learning_rate", "lr_scheduler", "warmup_ratio",
    "weight_decay", "batch_size", "grad_accum", "head_lr_ratio", "max_seq_len", "gradient_checkpointing", "bf16",
    "group_by_length", "padding_free", "micro_batch_tokens", "seed", "eval_steps", "logging_steps", "save_steps", "time_budget", "limit_train",
    "limit_val", "nproc", "resume", "device", "num_threads", "report_to",
)  # fmt: skip


def train_options(f: Any) -> Any:
    """The TrainConfig flags; every one defaults to None = "not given" (YAML or default wins)."""
    opts = [
        click.option(
            "--trainer", help="lora (default; 16-bit base), qlora (NF4 base) or qlora-fsdp."
        ),
        click.option(
            "--model", "-m", help="Embedded model name (smollm2-135m) or local HF folder."
        ),
        click.option(
            "--data", "-d", help="Split directory (train.jsonl, val.jsonl); default: embedded."
        ),
        click.option("--task", "-t", help="Task name or task YAML file (default: tickets)."),
        click.option(
            "--style", type=click.Choice(["long", "compact"]), help="Prompt style (train = eval)."
        ),
        click.option(
            "--quantization", type=click.Choice(["nf4", "none"]), help="Base quantization."
        ),
        click.option("--r", "r", type=int, help="LoRA rank (default 8)."),
        click.option("--alpha", type=int, help="LoRA alpha (default 8)."),
        click.option("--dropout", type=float, help="LoRA dropout (default 0.05)."),
        click.option(
            "--loraplus-ratio", type=float, help="LoRA+: B learns this many times faster than A."
        ),
        click.option("--target-modules", help="Comma-separated modules, or all-linear."),
        click.option("--epochs", type=float, help="Epochs (default 1)."),
        click.option("--max-steps", type=int, help="Stop after N optimizer steps."),
        click.option(
            "--learning-rate", "--lr", "learning_rate", type=float, help="Peak learning rate."
        ),
        click.option(
            "--lr-scheduler",
            type=click.Choice(["cosine", "linear", "constant", "constant_with_warmup"]),
        ),
        click.option("--warmup-ratio", type=float, help="Fraction of steps with linear warmup."),
        click.option("--weight-decay", type=float),
        click.option("--batch-size", type=int, help="Examples per micro-batch (per process)."),
        click.option("--grad-accum", type=int, help="Micro-batches per optimizer step."),
        click.option(
            "--head-lr-ratio", type=float, help="head trainer: heads learn N times faster."
        ),
        click.option(
            "--head-pooling",
            type=click.Choice(["last", "mean", "attn", "mean+embed"]),
            help="head trainer: read the prompt's last state, the mean state, per field an "
            "attention over the states, or the mean state beside the mean input embedding "
            "(default last).",
        ),
        click.option(
            "--head-init",
            type=click.Choice(["zero", "probe"]),
            help="head trainer: start the heads at zero or at a linear probe (LP-FT).",
        ),
        click.option(
            "--class-weight",
            type=click.Choice(["none", "balanced"]),
            help="head trainer: balanced gives every label the same total weight (rare "
            "urgent tickets), then puts the heads back on the data's prior (default none).",
        ),
        click.option(
            "--field-weights",
            metavar="FIELD=W,...",
            help="head trainer: each named field's loss counts W times (e.g. urgency=3), so "
            "the shared LoRA weights lean towards it (default: every field once).",
        ),
        click.option(
            "--head-rationale",
            metavar="FIELD=W,...",
            help="head trainer, --head-pooling attn: teach each named field's attention where "
            "to look, from the words a TF-IDF regression on the same tickets finds for its "
            "gold label; W weighs that loss (e.g. urgency=1).",
        ),
        click.option(
            "--head-refit",
            type=float,
            metavar="C",
            help="head trainer: after training, refit the heads as a logistic regression "
            "(inverse L2 strength C) on the fine-tuned states of the training tickets.",
        ),
        click.option(
            "--head-refit-mix",
            type=float,
            metavar="A",
            help="head trainer, with --head-refit: serve (1 - A) of the heads as trained plus "
            "A of the refitted ones (default 1: the refitted heads alone).",
        ),
        click.option(
            "--head-refit-tickets",
            type=int,
            metavar="N",
            help="head trainer, with --head-refit: refit on a seeded sample of N training "
            "tickets (default: all).",
        ),
        click.option(
            "--head-layers",
            type=float,
            help="head trainer: keep the body's first N layers only (below 1: a fraction).",
        ),
        click.option(
            "--lora-layers",
            type=float,
            help="head trainer: LoRA on the top N kept layers only (below 1: a fraction); the "
            "backward pass stops above the rest (default: every layer).",
        ),
        click.option(
            "--max-seq-len", type=int, help="Leave out longer conversations (default: fit)."
        ),
        click.option("--gradient-checkpointing/--no-gradient-checkpointing", default=None),
        click.option("--bf16", type=click.Choice(["auto", "true", "false"]), help="bf16 compute."),
        click.option(
            "--group-by-length/--no-group-by-length", default=None, help="Length-grouped batches."
        ),
        click.option(
            "--padding-free",
            type=click.Choice(["auto", "true", "false"]),
            help="One unpadded sequence per micro-batch, batch-size accumulated (auto: on CPU).",
        ),
        click.option(
            "--micro-batch-tokens",
            type=int,
            help="head trainer: micro-batches of at most N padded tokens (bounds memory).",
        ),
        click.option("--seed", type=int),
        click.option("--eval-steps", type=int, help="Validation loss every N steps (0: off)."),
        click.option("--logging-steps", type=int),
        click.option("--save-steps", type=int, help="Checkpoint every N steps (for --resume)."),
        click.option(
            "--time-budget",
            type=float,
            help="head trainer: minutes for the training loop; steps fitted to throughput.",
        ),
        click.option("--limit-train", type=int, help="Train on N training examples only."),
        click.option("--limit-val", type=int, help="Validation loss on N examples (default 64)."),
        click.option("--nproc", type=int, help="Processes for qlora-fsdp (one per GPU, or CPU)."),
        click.option("--device", help="cpu, cuda, cuda:1 ... (default: cuda if present)."),
        click.option("--threads", "num_threads", type=int, help="torch CPU threads."),
        click.option(
            "--report-to",
            type=click.Choice(["none", "tensorboard", "mlflow", "wandb"]),
            help="Experiment tracker for training and validation loss (default none).",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(path_type=Path),
            help="TrainConfig YAML; flags override it.",
        ),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def build_train_config(config_file: Path | None, kw: dict[str, Any], section: str = "") -> Any:
    from bizztune.core.config import build, merge, read_yaml
    from bizztune.trainers.config import TrainConfig

    data = read_yaml(config_file) if config_file else {}
    if section:
        data = data.get(section) or {}
    flags = {k: kw.pop(k, None) for k in _TRAIN_KEYS if k in kw}
    if flags.get("quantization") == "none":
        flags["quantization"] = None
        data["quantization"] = None
    if flags.get("resume") is False:
        flags["resume"] = None
    return build(TrainConfig, merge(data, flags), str(config_file or "flags"))


@click.command()
@train_options
@click.option("--out", "-o", help="Output folder (default: runs/train/<task>-<model>-<trainer>).")
@click.option("--resume", is_flag=True, default=None, help="Continue from the last checkpoint.")
def train(config_file: Path | None, **kw: Any) -> None:
    """Fine-tune an open model with LoRA/QLoRA on a task's train split."""
    from bizztune.plugins import load_task, load_trainer

    cfg = build_train_config(config_file, kw)
    task = load_task(cfg.task)
    trainer = load_trainer(cfg.trainer)
    out = trainer.train(task, cfg)
    summary = out / "train_summary.json"
    quantization = cfg.quantization
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

    yaml_data = read_yaml(config_file) if config_file else {}
    out = kw.pop("out", None)
    train_cfg = build_train_config(config_file, {**kw, "out": None}, section="train")
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

    board = run_sweep(task, cfg, registry(), on_trial=on_trial)
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
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True,
              help="Folder (merged, vllm) or .gguf file (gguf; a folder gets model-QUANT.gguf).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["merged", "gguf", "vllm"]), default="merged",
              show_default=True, help="merged safetensors, one GGUF file, or a vLLM LoRA folder.")  # fmt: skip
@click.option("--model", "-m", help="Base model (default: the one the adapter was trained from).")
@click.option("--dtype", type=click.Choice(["bfloat16", "float16", "float32"]), default="bfloat16",
              show_default=True, help="merged: weight dtype.")  # fmt: skip
@click.option("--quant", type=click.Choice(["f16", "q8_0"]), default="q8_0", show_default=True,
              help="gguf: float16 or 8-bit blocks.")  # fmt: skip
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
