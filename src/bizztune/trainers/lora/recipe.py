"""LoRA and QLoRA fine-tuning of a causal LM on a task's train split, in one process.

    bizztune train --trainer lora  --model smollm2-135m --data data/tickets --out runs/train/lora
    bizztune train --trainer qlora --model smollm2-135m --data data/tickets --out runs/train/qlora

    from bizztune.tasks import load_task
    from bizztune.core.registry import load_trainer
    from bizztune.trainers.config import TrainConfig
    out = load_trainer("lora").train(load_task("tickets"), TrainConfig(out="runs/train/x"))

The output folder is a PEFT adapter directory (``--adapter`` for ``bizztune eval``):
adapter_model.safetensors, adapter_config.json, the tokenizer (with its chat template),
train_config.json (resolved), loss_curve.json + loss_curve.png (train and validation loss),
train_summary.json (time, tokens/s, memory, losses) and checkpoint-N/ folders (``--resume``).

The loop is transformers' Trainer. What bizztune adds: the task's own prompt (collate.py),
loss on the answer and end-of-turn token only, logits for the supervised positions only,
length-grouped padded batches (or, for long conversations on CPU, padding-free micro-batches),
a frozen bf16 (or NF4) base with fp32 LoRA weights, and a rich progress bar with tokens/s.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bizztune.core.errors import ConfigError, DataError
from bizztune.core.interfaces import Example, Task
from bizztune.trainers.config import ALL_LINEAR, TrainConfig

SUMMARY_VERSION = 1
CONFIG_FILE = "train_config.json"
# Fields that must match for --resume to continue an earlier run in the same folder.
_RESUME_KEYS = (
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


# -- paths, devices, data -----------------------------------------------------------------------
def default_out(task_name: str, cfg: TrainConfig) -> Path:
    model = Path(cfg.model).name if ("/" in cfg.model or Path(cfg.model).exists()) else cfg.model
    return Path("runs") / "train" / f"{task_name}-{model}-{cfg.trainer}"


def pick_device(cfg: TrainConfig) -> str:
    import torch

    device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: CUDA is not available on this machine")
    return device


def use_bf16(cfg: TrainConfig, device: str) -> bool:
    """bf16 when asked, or (auto) where it is fast: CUDA with bf16, CPUs with AVX512-BF16/AMX."""
    import torch

    if cfg.bf16 != "auto":
        return bool(cfg.bf16)
    if device.startswith("cuda"):
        return bool(torch.cuda.is_bf16_supported())
    from bizztune.models.loading import cpu_supports_bf16

    return cpu_supports_bf16()


# auto turns padding-free on for CPU training when conversations average at least this many
# tokens. Measured on the 2-core CPU (docs/training.md): at ~730 tokens (long prompt) it is
# 1.04-1.08x faster with 40% less memory; at ~260 (compact) +5% with r=8 on 5 modules but
# -6% with the default recipe's r=16 on all 7, as one-row micro-batches pay the per-call
# overhead of every LoRA layer four times. Memory drops 30-40% either way.
PADDING_FREE_MIN_MEAN_TOKENS = 512


def use_padding_free(cfg: TrainConfig, device: str, mean_tokens: float) -> bool:
    """One unpadded sequence per micro-batch: on when asked, or (auto) on CPU for long
    conversations, where materialized attention matrices dominate time and memory."""
    if cfg.padding_free != "auto":
        return bool(cfg.padding_free)
    return not device.startswith("cuda") and mean_tokens >= PADDING_FREE_MIN_MEAN_TOKENS


def load_splits(task: Task, cfg: TrainConfig) -> tuple[Path, list[Example], list[Example]]:
    """(data path, train examples, validation examples); validation is empty if there is none."""
    from bizztune.data.io import load_examples
    from bizztune.data.sources import resolve_data

    data = resolve_data(task, Path(cfg.data) if cfg.data else None)
    train = load_examples(data, task, "train")
    if cfg.limit_train is not None and cfg.limit_train < len(train):
        # A seeded sample, in file order: robust to split files sorted by label.
        keep = set(random.Random(cfg.seed).sample(range(len(train)), cfg.limit_train))
        train = [ex for i, ex in enumerate(train) if i in keep]
    val: list[Example] = []
    if data.is_dir() and cfg.eval_steps != 0:
        try:
            val = load_examples(data, task, "val")
        except DataError:
            val = []  # no validation split: train without validation loss
        if cfg.limit_val is not None:
            val = val[: cfg.limit_val]
    return data, train, val


def resolve_model_path(name: str) -> Path:
    from bizztune.models.embedded import resolve_model

    return resolve_model(name)


def load_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    from bizztune.models.tokenizer import prepare_tokenizer

    return prepare_tokenizer(AutoTokenizer.from_pretrained(str(path)))


# -- model ----------------------------------------------------------------------------------------
def load_base(
    cfg: TrainConfig, path: Path, device: str, bf16: bool, *, fsdp: bool = False
) -> tuple[Any, int]:
    """The frozen base model (16-bit or NF4) and its weight memory in bytes."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if bf16 else torch.float32
    kwargs: dict[str, Any] = {"dtype": dtype}
    if cfg.quantization == "nf4":
        from bizztune.models.loading import nf4_config

        # FSDP shards float tensors only: store the packed 4-bit weights in the same float
        # dtype as every other parameter (16/4 = 4 values per bf16 element).
        kwargs["quantization_config"] = nf4_config(dtype, storage_dtype=dtype)
        if not fsdp:
            kwargs["device_map"] = {"": device}
    model = AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    if cfg.quantization is None and not fsdp:
        model.to(device)  # type: ignore[arg-type]
    memory = int(model.get_memory_footprint())
    if cfg.quantization == "nf4" and not fsdp:
        from peft import prepare_model_for_kbit_training

        # Upcasts norms to fp32 for stability and enables input grads for checkpointing.
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=cfg.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    model.config.use_cache = False
    return model, memory


def add_lora(model: Any, cfg: TrainConfig, *, uniform_dtype: Any = None) -> Any:
    """Wrap the base with LoRA adapters. ``uniform_dtype``: cast them to it (FSDP)."""
    from peft import LoraConfig, get_peft_model

    from bizztune.models.loading import quiet_peft_wrap

    targets: Any = cfg.target_modules
    if targets in (["all-linear"], ["all"]):
        targets = "all-linear"
    lcfg = LoraConfig(
        r=cfg.r,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )
    try:
        with quiet_peft_wrap():
            model = get_peft_model(model, lcfg, autocast_adapter_dtype=uniform_dtype is None)
    except ValueError as e:
        if "not found" in str(e) or "Target modules" in str(e):
            names = sorted({n.rsplit(".", 1)[-1] for n, _ in model.named_modules() if "." in n})
            linear = [n for n in ALL_LINEAR if n in names]
            raise ConfigError(
                f"--target-modules {','.join(cfg.target_modules)}: not in this model; "
                f"its projections are {','.join(linear) or ', '.join(names[:12])}"
            ) from None
        raise
    if uniform_dtype is not None:
        for p in model.parameters():
            if p.requires_grad:
                p.data = p.data.to(uniform_dtype)
    return model


# -- the Trainer ----------------------------------------------------------------------------------
def trainer_class() -> type:
    """transformers.Trainer with the answer-only loss on the last positions, token counting
    and loss-only evaluation. Built lazily so importing this module needs no torch."""
    import torch
    import torch.nn.functional as F
    from transformers import Trainer

    from bizztune.trainers.lora.collate import IGNORE_INDEX

    class AnswerLossTrainer(Trainer):
        # Our loss is already sum / (answer tokens of the whole accumulated batch).
        loss_is_scaled_for_ga = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.model_accepts_loss_kwargs = True  # so Trainer counts num_items_in_batch
            self.tokens_seen = 0
            self.tokens_this_session = 0
            self.session_start = time.perf_counter()
            self.loraplus_ratio: float | None = None

        def create_optimizer(self, model: Any = None) -> Any:
            if self.loraplus_ratio and self.optimizer is None:
                # LoRA+: B matrices learn loraplus_ratio times faster than A (arXiv 2402.12354).
                from peft.optimizers import create_loraplus_optimizer

                target: Any = model if model is not None else self.model
                self.optimizer = create_loraplus_optimizer(
                    target,
                    torch.optim.AdamW,
                    lr=self.args.learning_rate,
                    loraplus_lr_ratio=self.loraplus_ratio,
                    weight_decay=self.args.weight_decay,
                )
                return self.optimizer
            return super().create_optimizer(model)

        def compute_loss(
            self,
            model: Any,
            inputs: dict[str, Any],
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            labels = inputs.pop("labels")
            keep = int(inputs.pop("logits_to_keep", 0) or 0)
            if model.training:
                n = int(inputs["attention_mask"].sum())
                self.tokens_seen += n
                self.tokens_this_session += n
            out = model(**inputs, logits_to_keep=keep, use_cache=False)
            logits = out.logits[:, :-1]
            targets = labels[:, labels.size(1) - logits.size(1) :]
            loss_sum = F.cross_entropy(
                logits.float().flatten(0, 1),
                targets.flatten(),
                ignore_index=IGNORE_INDEX,
                reduction="sum",
            )
            if num_items_in_batch is None or not model.training:
                loss = loss_sum / (targets != IGNORE_INDEX).sum().clamp(min=1)
            else:
                loss = loss_sum / num_items_in_batch
                if self.args.average_tokens_across_devices and self.args.world_size > 1:
                    # num_items_in_batch counts every rank's tokens; DDP/FSDP average gradients.
                    loss = loss * self.args.world_size
            return (loss, out) if return_outputs else loss

        def prediction_step(
            self,
            model: Any,
            inputs: dict[str, Any],
            prediction_loss_only: bool,
            ignore_keys: list[str] | None = None,
        ) -> tuple[Any, None, None]:
            inputs = self._prepare_inputs(inputs)
            with torch.no_grad(), self.compute_loss_context_manager():
                loss = self.compute_loss(model, inputs)
            return loss.detach(), None, None

        def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
            if "loss" in logs:
                elapsed = max(time.perf_counter() - self.session_start, 1e-9)
                world = max(1, self.args.world_size)
                logs["tokens_seen"] = self.tokens_seen * world
                logs["tokens_per_s"] = round(self.tokens_this_session * world / elapsed, 1)
            super().log(logs, start_time)

    return AnswerLossTrainer


def progress_callback(total_hint: int, enabled: bool = True) -> Any:
    """A rich progress bar: step, train loss, validation loss, tokens/s."""
    from transformers import TrainerCallback

    class RichProgress(TrainerCallback):
        def __init__(self) -> None:
            self.bar: Any = None
            self.task: Any = None
            self.fields = {"loss": "-", "val": "-", "tps": "-"}

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if not enabled or not state.is_world_process_zero:
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(
                    "loss {task.fields[loss]} · val {task.fields[val]} · {task.fields[tps]} tok/s"
                ),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self.bar.start()
            self.task = self.bar.add_task(
                "train",
                total=state.max_steps or total_hint,
                completed=state.global_step,
                **self.fields,
            )

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.bar is not None:
                self.bar.update(self.task, completed=state.global_step, **self.fields)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if self.bar is None or not logs:
                return
            if "loss" in logs:
                self.fields["loss"] = f"{logs['loss']:.4f}"
            if "eval_loss" in logs:
                self.fields["val"] = f"{logs['eval_loss']:.4f}"
            if "tokens_per_s" in logs:
                self.fields["tps"] = f"{logs['tokens_per_s']:.0f}"
            self.bar.update(self.task, **self.fields)
            if not self.bar.console.is_terminal and ("loss" in logs or "eval_loss" in logs):
                # a log file: one plain line per train/eval log
                f = self.fields
                self.bar.console.print(
                    f"step {state.global_step}/{state.max_steps} loss {f['loss']} "
                    f"val {f['val']} {f['tps']} tok/s"
                )

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.bar is not None:
                self.bar.stop()
                self.bar = None

    return RichProgress()


# -- outputs --------------------------------------------------------------------------------------
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
    for k in _RESUME_KEYS:
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


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


# -- the run --------------------------------------------------------------------------------------
def run_training(
    task: Task, cfg: TrainConfig, *, fsdp: dict[str, Any] | None = None, show_progress: bool = True
) -> Path:
    """Train and write the output folder; returns it. ``fsdp``: transformers' fsdp_config
    (set by the qlora-fsdp worker, which runs this in every process)."""
    import torch
    from datasets import Dataset
    from transformers import TrainingArguments, set_seed

    from bizztune import __version__
    from bizztune.trainers.lora.collate import CompletionCollator, encode_examples

    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    out = Path(cfg.out) if cfg.out else default_out(task.name, cfg)
    device = pick_device(cfg)
    bf16 = use_bf16(cfg, device)
    distributed = fsdp is not None
    rank0 = not distributed or int(os.environ.get("RANK", "0")) == 0
    if not distributed:
        check_resume(out, cfg)
    data, train_ex, val_ex = load_splits(task, cfg)
    model_path = resolve_model_path(cfg.model)
    tok = load_tokenizer(model_path)
    train_enc = encode_examples(task, tok, train_ex, cfg.style, cfg.max_seq_len, "train")
    val_enc = (
        encode_examples(task, tok, val_ex, cfg.style, cfg.max_seq_len or train_enc.max_len, "val")
        if val_ex
        else None
    )
    max_seq_len = cfg.max_seq_len or train_enc.max_len
    lengths = [len(e.input_ids) for e in train_enc.items]
    padding_free = use_padding_free(cfg, device, sum(lengths) / max(1, len(lengths)))
    # Padding-free: micro-batches of one sequence, batch_size of them accumulated per step, so
    # the optimizer sees the same examples per step as with padded batches of batch_size.
    micro_batch = 1 if padding_free else cfg.batch_size
    accum = cfg.grad_accum * (cfg.batch_size if padding_free else 1)

    world = int(os.environ.get("WORLD_SIZE", "1"))
    per_step = cfg.batch_size * cfg.grad_accum * world
    steps_per_epoch = max(1, math.ceil(len(train_enc.items) / per_step))
    total_steps = cfg.max_steps or max(1, math.ceil(steps_per_epoch * cfg.epochs))
    eval_steps = cfg.eval_steps if cfg.eval_steps is not None else max(1, total_steps // 5)
    do_eval = bool(val_enc and val_enc.items) and eval_steps > 0
    save_steps = cfg.save_steps or (eval_steps if eval_steps > 0 else max(1, total_steps // 5))

    if cfg.resume and already_done(out, total_steps):
        return out
    set_seed(cfg.seed)
    uniform = (torch.bfloat16 if bf16 else torch.float32) if distributed else None
    model, base_memory = load_base(cfg, model_path, device, bf16, fsdp=distributed)
    model = add_lora(model, cfg, uniform_dtype=uniform)
    trainable, total_params = model.get_nb_trainable_parameters()

    def to_ds(items: list[Any]) -> Any:
        return Dataset.from_list([{**e.features(), "length": len(e.input_ids)} for e in items])

    args = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=micro_batch,
        per_device_eval_batch_size=cfg.batch_size,  # no backward: padded batches are cheap
        gradient_accumulation_steps=accum,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps or -1,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay,
        logging_steps=cfg.logging_steps,
        eval_strategy="steps" if do_eval else "no",
        eval_steps=eval_steps if do_eval else None,
        save_strategy="steps",
        save_steps=save_steps,
        save_total_limit=2,
        seed=cfg.seed,
        data_seed=cfg.seed,
        # The base weights are already bf16 (or NF4 with bf16 compute): no autocast, which
        # would re-cast fp32 weights every call; the LoRA weights stay fp32 masters.
        bf16=False,
        activation_checkpointing=cfg.gradient_checkpointing and cfg.quantization is None,
        activation_checkpointing_kwargs={"use_reentrant": False},
        train_sampling_strategy=(
            "group_by_length" if cfg.group_by_length and not padding_free else "random"
        ),
        remove_unused_columns=False,
        report_to=[],
        disable_tqdm=True,
        use_cpu=device == "cpu",
        ddp_backend=("gloo" if device == "cpu" else "nccl") if distributed else None,
        dataloader_num_workers=0,
        fsdp=True if distributed else None,  # type: ignore[arg-type]  # bool since 5.x
        fsdp_config=fsdp,
        log_level="warning",
    )
    collator = CompletionCollator(pad_id=int(tok.pad_token_id), padding_side="left")
    cls = trainer_class()
    if distributed:
        from bizztune.trainers.lora.fsdp import with_cpu_fsdp

        cls = with_cpu_fsdp(cls)
    trainer = cls(
        model=model,
        args=args,
        train_dataset=to_ds(train_enc.items),
        eval_dataset=to_ds(val_enc.items) if do_eval and val_enc else None,
        data_collator=collator,
        processing_class=tok,
        callbacks=[progress_callback(total_steps, enabled=show_progress)],
    )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # the rich bar replaces the printed log dicts
    trainer.loraplus_ratio = cfg.loraplus_ratio

    resolved = {
        "schema_version": SUMMARY_VERSION,
        "bizztune_version": __version__,
        "train": {**cfg.to_dict(), "data": cfg.data, "out": str(out)},
        "resolved": {
            "task": task.name,
            "data": str(data),
            "model_path": str(model_path),
            "device": device,
            "bf16": bf16,
            "padding_free": padding_free,
            "micro_batch_size": micro_batch,
            "grad_accum_micro_batches": accum,
            "max_seq_len": max_seq_len,
            "world_size": world,
            "total_steps": total_steps,
            "eval_steps": eval_steps if do_eval else 0,
            "save_steps": save_steps,
            "train_examples": len(train_enc.items),
            "val_examples": len(val_enc.items) if val_enc else 0,
            "dropped_too_long": train_enc.dropped,
            "end_of_turn": tok.convert_ids_to_tokens(train_enc.items[0].input_ids[-1]),
            "fsdp": fsdp,
        },
    }
    if rank0:
        out.mkdir(parents=True, exist_ok=True)
        (out / CONFIG_FILE).write_text(json.dumps(resolved, indent=2, ensure_ascii=False))

    resume_from = last_checkpoint(out) if cfg.resume else None
    t0 = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume_from)
    train_time = time.perf_counter() - t0
    final_val = None
    if do_eval:
        last = [h for h in trainer.state.log_history if "eval_loss" in h]
        if last and last[-1].get("step") == trainer.state.global_step:
            final_val = float(last[-1]["eval_loss"])
        else:
            final_val = float(trainer.evaluate()["eval_loss"])

    trainer.save_model(str(out))  # adapter + tokenizer (gathered from all ranks under FSDP)
    if rank0:
        curve = loss_curve(trainer.state.log_history)
        tokens = trainer.tokens_this_session * world
        peak_gpu = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
        summary = {
            "trainer": cfg.trainer,
            "model": cfg.model,
            "quantization": cfg.quantization,
            "style": cfg.style,
            "device": device,
            "bf16": bf16,
            "padding_free": padding_free,
            "world_size": world,
            "steps": trainer.state.global_step,
            "epochs": round(float(trainer.state.epoch or 0.0), 3),
            "train_examples": len(train_enc.items),
            "dropped_too_long": len(train_enc.dropped),
            "max_seq_len": max_seq_len,
            "train_time_s": round(train_time, 2),
            "tokens_trained": tokens,
            "tokens_per_s": round(tokens / max(train_time, 1e-9), 1),
            "examples_per_s": round(
                min(trainer.state.global_step * per_step, len(train_enc.items) * cfg.epochs)
                / max(train_time, 1e-9),
                3,
            ),
            "final_train_loss": curve["train"][-1]["loss"] if curve["train"] else None,
            "mean_train_loss": round(float(result.training_loss), 5),
            "final_val_loss": final_val,
            "trainable_params": int(trainable),
            "total_params": int(total_params),
            "base_weight_memory_mb": round(base_memory / 2**20, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "peak_gpu_memory_mb": round(peak_gpu, 1) if peak_gpu is not None else None,
        }
        (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
        title = f"{cfg.trainer} {cfg.model} r={cfg.r} α={cfg.alpha} lr={cfg.learning_rate:g}"
        write_loss_curve(out, curve, title)
    return out


# -- the registered trainers ----------------------------------------------------------------------
@dataclasses.dataclass
class LoraTrainer:
    """LoRA on a 16-bit (bf16 where fast, else fp32) base; the sensible default on CPU."""

    name: str = "lora"

    def train(self, task: Task, config: TrainConfig) -> Path:
        cfg = dataclasses.replace(config, trainer=self.name, quantization=None)
        return run_training(task, cfg)


@dataclasses.dataclass
class QLoraTrainer:
    """QLoRA: the frozen base in 4-bit NF4 with double quantization (bitsandbytes)."""

    name: str = "qlora"

    def train(self, task: Task, config: TrainConfig) -> Path:
        cfg = dataclasses.replace(config, trainer=self.name, quantization="nf4")
        return run_training(task, cfg)
