"""The training output folder: what may resume it, what was trained, and the loss curve.

    runs/train/<task>-<model>-<trainer>/
        adapter_model.safetensors, adapter_config.json, tokenizer files   (PEFT, --adapter)
        train_config.json     the resolved TrainConfig and what it resolved to (schema_version)
        train_summary.json    steps, time, tokens/s, memory, losses
        loss_curve.json/png   train and validation loss per step
        checkpoint-N/         the Trainer's checkpoints, for --resume

A run resumes only with the same setup (``RESUME_KEYS``); a finished run of the same length
has nothing left to do.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any

from bizztune.core.errors import ConfigError
from bizztune.trainers.config import TrainConfig

TRAIN_SCHEMA_VERSION = 1
"""The ``schema_version`` of a training output folder, in its train_config.json."""
CONFIG_FILE = "train_config.json"
RESUME_KEYS = (
    "model",
    "data",
    "task",
    "style",
    "quantization",
    "r",
    "alpha",
    "target_modules",
    "batch_size",
    "grad_accum",
    "padding_free",  # micro-batch size and data order depend on it
    "group_by_length",
    "seed",
    "limit_train",
)


def default_out(task_name: str, cfg: TrainConfig) -> Path:
    model = Path(cfg.model).name if ("/" in cfg.model or Path(cfg.model).exists()) else cfg.model
    return Path("runs") / "train" / f"{task_name}-{model}-{cfg.trainer}"


def check_resume(out: Path, cfg: TrainConfig) -> None:
    """Refuse to overwrite a run with checkpoints or an adapter unless --resume is given, and
    refuse to resume a run trained with another setup. A folder with nothing to lose (a run
    that stopped before its first checkpoint) is simply started again."""
    has_ckpt = last_checkpoint(out) is not None
    finished = (out / "adapter_model.safetensors").is_file()
    if not cfg.resume:
        if has_ckpt or finished:
            raise ConfigError(
                f"{out} already holds a training run; pass --resume to continue it, or another --out"
            )
        return
    path = out / CONFIG_FILE
    if not path.is_file():
        return
    old = json.loads(path.read_text()).get("train", {})
    for k in RESUME_KEYS:
        if k in old and old[k] != getattr(cfg, k):
            raise ConfigError(
                f"--resume: {out} was trained with {k}={old[k]!r}, not {getattr(cfg, k)!r}; "
                f"use the same --{k.replace('_', '-')} or another --out"
            )


def already_done(out: Path, total_steps: int) -> bool:
    """A finished run of the same length: --resume has nothing left to do."""
    try:
        summary = json.loads((out / "train_summary.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return bool(
        summary.get("steps") == total_steps and (out / "adapter_model.safetensors").is_file()
    )


def last_checkpoint(out: Path) -> str | None:
    """The newest ``checkpoint-N`` folder the Trainer wrote into ``out``."""
    ckpts = sorted(
        (p for p in out.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
    )
    return str(ckpts[-1]) if ckpts else None


def loss_curve(log_history: list[dict[str, Any]]) -> dict[str, list[dict[str, float]]]:
    train = [
        {"step": h["step"], "loss": h["loss"], "lr": h.get("learning_rate", 0.0)}
        for h in log_history
        if "loss" in h and "step" in h
    ]
    val = [{"step": h["step"], "loss": h["eval_loss"]} for h in log_history if "eval_loss" in h]
    return {"train": train, "val": val}


def write_loss_curve(out: Path, curve: dict[str, list[dict[str, float]]], title: str) -> None:
    (out / "loss_curve.json").write_text(json.dumps(curve, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    if curve["train"]:
        ax.plot(
            [p["step"] for p in curve["train"]],
            [p["loss"] for p in curve["train"]],
            label="train",
            lw=1.2,
        )
    if curve["val"]:
        ax.plot(
            [p["step"] for p in curve["val"]],
            [p["loss"] for p in curve["val"]],
            "o-",
            label="validation",
            lw=1.5,
        )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (answer tokens)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "loss_curve.png")
    plt.close(fig)


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
