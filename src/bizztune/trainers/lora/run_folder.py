"""The training output folder: what may resume it, what was trained, and the loss curve.

    runs/train/<task>-<model>-<trainer>/
        adapter_model.safetensors, adapter_config.json, tokenizer files   (PEFT, --adapter)
        train_config.json     the resolved TrainConfig and what it resolved to (schema_version)
        train_summary.json    steps, time, tokens/s, memory, losses
        loss_curve.json/png   train and validation loss per step
        checkpoint-N/         the Trainer's checkpoints, for --resume

A run resumes only with the same setup (``RESUME_KEYS``); a finished run of the same length
has nothing left to do. What makes a checkpoint resumable is the trainer's own
``CheckpointRule`` (this trainer's: ``LORA_CHECKPOINTS``; the head trainer's is in
``trainers/head/checkpoint.py``): ``check_resume`` takes it, never a default.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizztune.core.errors import ConfigError
from bizztune.trainers.config import TRAIN_CONFIG_VERSION, TrainConfig, TrainJob

log = logging.getLogger("bizztune.train")
TRAIN_SCHEMA_VERSION = TRAIN_CONFIG_VERSION
"""The ``schema_version`` of a training output folder, in its train_config.json: that of the
config it records (2: the trainer's own config type, every field)."""
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


def default_out(task_name: str, cfg: TrainJob) -> Path:
    model = Path(cfg.model).name if ("/" in cfg.model or Path(cfg.model).exists()) else cfg.model
    return Path("runs") / "train" / f"{task_name}-{model}-{cfg.trainer}"


def read_json_file(path: Path) -> Any:
    """A JSON file's value, or None when it is missing or damaged (not UTF-8, not JSON)."""
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class CheckpointRule:
    """What makes a trainer's ``checkpoint-N`` folder resumable. Each trainer has its own: the
    files it writes and reads back differ, and another trainer's rule would call every intact
    checkpoint damaged and restart at step 0."""

    problem: Callable[[Path], str | None]
    """Why a checkpoint cannot be resumed from (cut by a crash, a file deleted), or None."""
    optional: tuple[str, ...] = ()
    """Files whose absence only warns: resuming without them changes the loss curve."""
    pickled: tuple[str, ...] = ()
    """``torch.save`` files the trainer loads on resume: checked with ``load_torch_state``
    first, so one that names anything but tensors is refused in one line, never run."""


def check_resume(out: Path, cfg: TrainConfig, rule: CheckpointRule) -> None:
    """Refuse to overwrite a run with checkpoints or an adapter unless --resume is given, and
    refuse to resume a run trained with another setup. A folder with nothing to lose (a run
    that stopped before its first checkpoint) is simply started again. With --resume,
    checkpoints that break the trainer's ``rule`` are moved aside first (``set_aside_damaged``)."""
    has_ckpt = last_checkpoint(out) is not None
    finished = (out / "adapter_model.safetensors").is_file()
    if not cfg.resume:
        if has_ckpt or finished:
            raise ConfigError(
                f"{out} already holds a training run; pass --resume to continue it, or another --out"
            )
        return
    path = out / CONFIG_FILE
    if path.is_file():
        data = read_json_file(path)
        if not isinstance(data, dict) or not isinstance(data.get("train", {}), dict):
            raise ConfigError(
                f"--resume: {path} is damaged (not the JSON bizztune train writes); "
                "delete it to resume from the checkpoints, or choose another --out"
            )
        old = data.get("train", {})
        for k in RESUME_KEYS:
            if (
                k in old
                and hasattr(cfg, k)
                and old[k] != getattr(cfg, k)
                and not _moved_with_out(k, old, out, cfg)
            ):
                raise ConfigError(
                    f"--resume: {out} was trained with {k}={old[k]!r}, not {getattr(cfg, k)!r}; "
                    f"train with the same {k}, or into another --out"
                )
    set_aside_damaged(out, rule)
    newest = last_checkpoint(out)
    for name in rule.pickled if newest else ():
        if (Path(str(newest)) / name).is_file():
            load_torch_state(Path(str(newest)) / name)


def _moved_with_out(key: str, old: dict[str, Any], out: Path, cfg: TrainConfig) -> bool:
    """Whether the data path differs only because it moved with the output folder (a run
    folder moved to another path): the same place relative to ``out`` as it was to the old one."""
    was, now, was_out = old.get(key), getattr(cfg, key), old.get("out")
    if key != "data" or not all(isinstance(x, str) for x in (was, now, was_out)):
        return False
    return os.path.relpath(str(was), str(was_out)) == os.path.relpath(str(now), out)


def load_torch_state(path: Path) -> Any:
    """A ``torch.save`` file of tensors and plain containers (optimizer, scheduler, random
    state), loaded with ``weights_only=True``: a pickle that names any other object (a
    function to call, a class to build) is refused with a ConfigError, not run. A checkpoint
    folder may come from someone else (a copied run, a shared drive)."""
    import pickle

    import torch
    from transformers.trainer_pt_utils import safe_globals

    try:
        # numpy's array types allowed, as the Trainer does for its rng_state.pth
        with safe_globals():
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ConfigError(
            f"{path}: holds objects other than tensors, numbers and lists, which bizztune never "
            "writes; refused, since loading it could run code. Delete its checkpoint folder to "
            "resume from an earlier one, or train into another --out"
        ) from None


def already_done(out: Path, total_steps: int, planned: bool = False) -> bool:
    """A finished run of the same length, its adapter intact: --resume has nothing left to do.
    ``planned``: ``total_steps`` is what was planned before a time budget fitted the steps."""
    summary = read_json_file(out / "train_summary.json")
    if not isinstance(summary, dict):
        return False
    fit = summary.get("time_budget") if planned else None
    steps = fit.get("planned_steps") if isinstance(fit, dict) else summary.get("steps")
    return steps == total_steps and safetensors_intact(out / "adapter_model.safetensors")


def last_checkpoint(out: Path) -> str | None:
    """The newest ``checkpoint-N`` folder the Trainer wrote into ``out``."""
    ckpts = checkpoints(out)
    return str(ckpts[-1]) if ckpts else None


def checkpoints(out: Path) -> list[Path]:
    """The ``checkpoint-N`` folders of ``out``, oldest first."""
    return sorted(
        (p for p in out.glob("checkpoint-*") if p.name.split("-")[-1].isdigit() and p.is_dir()),
        key=lambda p: int(p.name.split("-")[-1]),
    )


RESUME_STATE = ("optimizer.pt", "scheduler.pt", "rng_state.pth")
"""What a checkpoint needs besides the adapter to resume exactly where it stopped."""


def safetensors_intact(path: Path) -> bool:
    """Whether a safetensors file is complete: its header parses and its data is all there."""
    try:
        with path.open("rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            if not 0 < n < 100_000_000:
                return False
            header = json.loads(fh.read(n))
        ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
        return path.stat().st_size >= 8 + n + max(ends, default=0)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return False


def lora_checkpoint_problem(ckpt: Path) -> str | None:
    """Why a transformers Trainer checkpoint cannot be resumed from (a crash inside its write,
    a deleted file), or None. Files of the resume state are checked when present; missing ones
    only warn. The Trainer writes trainer_state.json last, so a checkpoint with it is whole."""
    import zipfile

    state = read_json_file(ckpt / "trainer_state.json")
    if not isinstance(state, dict) or not isinstance(state.get("global_step"), int):
        return "trainer_state.json is missing or damaged"
    if not isinstance(read_json_file(ckpt / "adapter_config.json"), dict):
        return "adapter_config.json is missing or damaged"
    if not safetensors_intact(ckpt / "adapter_model.safetensors"):
        return "adapter_model.safetensors is missing or cut short"
    for name in RESUME_STATE:
        f = ckpt / name
        if f.exists() and not zipfile.is_zipfile(f):  # torch.save writes a zip archive
            return f"{name} is cut short"
    return None


LORA_CHECKPOINTS = CheckpointRule(
    lora_checkpoint_problem, optional=RESUME_STATE, pickled=RESUME_STATE
)
"""The LoRA trainers' checkpoints (transformers' Trainer)."""


def set_aside_damaged(out: Path, rule: CheckpointRule) -> None:
    """Move checkpoints that break ``rule`` (newest first, down to an intact one) to
    ``damaged-checkpoint-N``, so --resume continues from the newest intact one; a warning
    line each, and one when that checkpoint lacks one of the rule's optional files."""
    moved: list[tuple[Path, str, Path]] = []
    intact: Path | None = None
    for ckpt in reversed(checkpoints(out)):
        why = rule.problem(ckpt)
        if why is None:
            intact = ckpt
            break
        aside = ckpt.with_name(f"damaged-{ckpt.name}")
        if aside.exists():
            shutil.rmtree(aside)
        ckpt.rename(aside)
        moved.append((ckpt, why, aside))
    start = intact.name if intact else "the first step (no intact checkpoint is left)"
    for ckpt, why, aside in moved:
        log.warning(
            f"warning: {ckpt} is damaged ({why}); moved to {aside.name}, resuming from {start}"
        )
    if intact is not None:
        missing = [n for n in rule.optional if not (intact / n).is_file()]
        if missing:
            log.warning(
                f"warning: {intact} has no {', '.join(missing)}: training resumes with a fresh "
                "optimizer, schedule or random state, so its loss will differ from an "
                "uninterrupted run"
            )


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


def config_record(cfg: TrainJob, out: Path, **resolved: Any) -> dict[str, Any]:
    """What ``train_config.json`` holds for every trainer: its config as given (with the
    data and the output folder) and what it resolved to on this machine."""
    from bizztune import __version__

    return {
        "schema_version": TRAIN_SCHEMA_VERSION,
        "bizztune_version": __version__,
        "train": {**cfg.to_dict(), "data": cfg.data, "out": str(out)},
        "resolved": resolved,
    }


def speed(
    train_time: float, tokens: int, steps: int, per_step: int, n_examples: int, epochs: float
) -> dict[str, Any]:
    """The speed figures of ``train_summary.json``: seconds, tokens trained and per second, and
    training examples per second (at most one pass of ``epochs`` over the examples counted)."""
    t = max(train_time, 1e-9)
    return {
        "train_time_s": round(train_time, 2),
        "tokens_trained": tokens,
        "tokens_per_s": round(tokens / t, 1),
        "examples_per_s": round(min(steps * per_step, n_examples * epochs) / t, 3),
    }
