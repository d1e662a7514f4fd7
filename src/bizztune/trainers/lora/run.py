"""LoRA and QLoRA fine-tuning of a causal LM on a task's train split, in one process.

    bizztune train --trainer lora  --model smollm2-135m --data data/tickets --out runs/train/lora
    bizztune train --trainer qlora --model smollm2-135m --data data/tickets --out runs/train/qlora

    from bizztune.plugins import load_task
    from bizztune.plugins import load_trainer
    from bizztune.trainers.config import LoraConfig
    out = load_trainer("lora").train(load_task("tickets"), LoraConfig(out="runs/train/x"))

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

import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bizztune.core.errors import ConfigError, DataError
from bizztune.core.interfaces import Example, Task
from bizztune.core.memory import peak_rss_mb
from bizztune.data.io import load_examples
from bizztune.data.sources import resolve_train_data
from bizztune.models.adapters import recorded_base
from bizztune.models.embedded import resolve_model
from bizztune.models.loading import (
    cpu_supports_bf16,
    nf4_config,
    quiet_bitsandbytes,
    quiet_peft_wrap,
)
from bizztune.models.tokenizer import load_tokenizer
from bizztune.trainers.config import ALL_LINEAR, LoraConfig, TrainConfig
from bizztune.trainers.lora.collate import CompletionCollator, encode_examples
from bizztune.trainers.lora.hf_trainer import (
    progress_callback,
    trainer_class,
    with_cpu_fsdp,
)
from bizztune.trainers.lora.run_folder import (
    CONFIG_FILE,
    LORA_CHECKPOINTS,
    already_done,
    check_resume,
    config_record,
    default_out,
    last_checkpoint,
    loss_curve,
    speed,
    write_loss_curve,
)
from bizztune.trainers.tracking import tracker

if TYPE_CHECKING:
    from datasets import Dataset
    from peft import PeftModel
    from transformers import Trainer, TrainingArguments


# -- devices and data -----------------------------------------------------------------------------
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
    data = resolve_train_data(task, cfg.data)
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


def model_context(path: Path) -> int | None:
    """The longest sequence the model was built for (max_position_embeddings), if it says."""
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(str(path))
    text = cfg.get_text_config(decoder=True) if hasattr(cfg, "get_text_config") else cfg
    n = getattr(text, "max_position_embeddings", None)
    return n if isinstance(n, int) and n > 0 else None


# -- model ----------------------------------------------------------------------------------------
def load_base(
    cfg: LoraConfig, path: Path, device: str, bf16: bool, *, fsdp: bool = False
) -> tuple[Any, int]:
    """The frozen base model (16-bit or NF4) and its weight memory in bytes."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if bf16 else torch.float32
    kwargs: dict[str, Any] = {"dtype": dtype}
    if cfg.quantization == "nf4":
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


def add_lora(model: Any, cfg: TrainConfig, *, uniform_dtype: Any = None) -> PeftModel:
    """Wrap the base with LoRA adapters. ``uniform_dtype``: cast them to it (FSDP)."""
    from peft import LoraConfig, get_peft_model

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


# -- the run --------------------------------------------------------------------------------------
@dataclass
class Setup:
    """What the run resolved to on this machine: device, data, the steps it takes."""

    data: Path
    model_path: Path
    tok: Any
    device: str
    bf16: bool
    train_enc: Any
    val_enc: Any
    max_seq_len: int
    padding_free: bool
    micro_batch: int
    accum: int
    world: int
    per_step: int
    total_steps: int
    eval_steps: int
    do_eval: bool
    save_steps: int


def run_training(
    task: Task, cfg: LoraConfig, *, fsdp: dict[str, Any] | None = None, show_progress: bool = True
) -> Path:
    """Train and write the output folder; returns it. ``fsdp``: transformers' fsdp_config
    (set by the qlora-fsdp worker, which runs this in every process)."""
    out = Path(cfg.out) if cfg.out else default_out(task.name, cfg)
    distributed = fsdp is not None
    rank0 = not distributed or int(os.environ.get("RANK", "0")) == 0
    if not distributed:
        check_resume(out, cfg, LORA_CHECKPOINTS)
    # The data first: a bad file is one clear line before seconds of importing torch.
    data, train_ex, val_ex = load_splits(task, cfg)
    setup = prepare(task, cfg, data, train_ex, val_ex)
    if cfg.resume and already_done(out, setup.total_steps):
        return out
    from transformers import set_seed

    set_seed(cfg.seed)
    model, base_memory = load_model(cfg, setup, distributed)
    trainable, total_params = model.get_nb_trainable_parameters()
    progress = progress_callback(setup.total_steps, enabled=show_progress)
    trainer = build_trainer(cfg, out, setup, model, fsdp, progress)
    resolved = config_record(cfg, out, task=task.name, **resolved_setup(setup), fsdp=fsdp)
    if rank0:
        out.mkdir(parents=True, exist_ok=True)
        (out / CONFIG_FILE).write_text(json.dumps(resolved, indent=2, ensure_ascii=False))
    resume_from = last_checkpoint(out) if cfg.resume else None
    if resume_from is not None and rank0:
        print(f"resuming from {resume_from}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume_from)
    train_time = time.perf_counter() - t0
    final_val = final_val_loss(trainer) if setup.do_eval else None
    trainer.save_model(str(out))  # adapter + tokenizer (gathered from all ranks under FSDP)
    if rank0:
        resumed = progress.started_at if resume_from is not None else None
        record = {"train_time": train_time, "result": result, "final_val": final_val}
        record |= {"trainable": trainable, "total_params": total_params}
        write_summary(cfg, out, setup, trainer, base_memory, resumed, record)
    return out


def prepare(
    task: Task, cfg: LoraConfig, data: Path, train_ex: list[Example], val_ex: list[Example]
) -> Setup:
    """Device and precision, the tokenizer, the encoded conversations and the steps."""
    quiet_bitsandbytes()
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars; the rich bar shows training
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    device = pick_device(cfg)
    model_path = resolve_model(cfg.model)
    tok = load_tokenizer(model_path)
    # Without --max-seq-len, conversations longer than the model's context are left out
    # (counted in dropped_too_long) instead of padding every batch to their length.
    limit = cfg.max_seq_len or model_context(model_path)
    train_enc = encode_examples(task, tok, train_ex, cfg.style, limit, "train")
    val_limit = cfg.max_seq_len or train_enc.max_len
    val_enc = encode_examples(task, tok, val_ex, cfg.style, val_limit, "val") if val_ex else None
    lengths = [len(e.input_ids) for e in train_enc.items]
    padding_free = use_padding_free(cfg, device, sum(lengths) / max(1, len(lengths)))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    per_step = cfg.batch_size * cfg.grad_accum * world
    steps_per_epoch = max(1, math.ceil(len(train_enc.items) / per_step))
    total_steps = cfg.max_steps or max(1, math.ceil(steps_per_epoch * cfg.epochs))
    eval_steps = cfg.eval_steps if cfg.eval_steps is not None else max(1, total_steps // 5)
    return Setup(
        data=data,
        model_path=model_path,
        tok=tok,
        device=device,
        bf16=use_bf16(cfg, device),
        train_enc=train_enc,
        val_enc=val_enc,
        max_seq_len=cfg.max_seq_len or train_enc.max_len,
        padding_free=padding_free,
        # Padding-free: micro-batches of one sequence, batch_size of them accumulated per
        # step, so the optimizer sees the same examples per step as padded batches.
        micro_batch=1 if padding_free else cfg.batch_size,
        accum=cfg.grad_accum * (cfg.batch_size if padding_free else 1),
        world=world,
        per_step=per_step,
        total_steps=total_steps,
        eval_steps=eval_steps,
        do_eval=bool(val_enc and val_enc.items) and eval_steps > 0,
        save_steps=cfg.save_steps or (eval_steps if eval_steps > 0 else max(1, total_steps // 5)),
    )


def load_model(cfg: LoraConfig, setup: Setup, distributed: bool) -> tuple[Any, int]:
    """The frozen base with LoRA on it (under FSDP every trained weight in the base's dtype),
    and the base's weight memory in bytes."""
    import torch

    uniform = (torch.bfloat16 if setup.bf16 else torch.float32) if distributed else None
    model, base_memory = load_base(
        cfg, setup.model_path, setup.device, setup.bf16, fsdp=distributed
    )
    model = add_lora(model, cfg, uniform_dtype=uniform)
    # the base by name where it is an embedded model, not the path of this machine's copy
    model.peft_config["default"].base_model_name_or_path = recorded_base(cfg.model)
    return model, base_memory


def training_arguments(cfg: LoraConfig, out: Path, setup: Setup, fsdp: Any) -> TrainingArguments:
    """transformers' TrainingArguments for this run."""
    from transformers import TrainingArguments

    distributed = fsdp is not None
    return TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=setup.micro_batch,
        per_device_eval_batch_size=cfg.batch_size,  # no backward: padded batches are cheap
        gradient_accumulation_steps=setup.accum,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps or -1,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        # A fraction, not a count: transformers 5 reads a warmup_steps below 1 as a share of
        # all steps (it has no warmup_ratio any more); TrainConfig keeps it in [0, 1).
        warmup_steps=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay,
        logging_steps=cfg.logging_steps,
        eval_strategy="steps" if setup.do_eval else "no",
        eval_steps=setup.eval_steps if setup.do_eval else None,
        save_strategy="steps",
        save_steps=setup.save_steps,
        save_total_limit=2,
        seed=cfg.seed,
        data_seed=cfg.seed,
        # The base weights are already bf16 (or NF4 with bf16 compute): no autocast, which
        # would re-cast fp32 weights every call; the LoRA weights stay fp32 masters.
        bf16=False,
        activation_checkpointing=cfg.gradient_checkpointing and cfg.quantization is None,
        activation_checkpointing_kwargs={"use_reentrant": False},
        train_sampling_strategy=(
            "group_by_length" if cfg.group_by_length and not setup.padding_free else "random"
        ),
        remove_unused_columns=False,
        report_to=tracker(cfg.report_to),
        disable_tqdm=True,
        use_cpu=setup.device == "cpu",
        ddp_backend=("gloo" if setup.device == "cpu" else "nccl") if distributed else None,
        dataloader_num_workers=0,
        fsdp=True if distributed else None,  # type: ignore[arg-type]  # bool since 5.x
        fsdp_config=fsdp,
        log_level="warning",
    )


def build_trainer(
    cfg: LoraConfig, out: Path, setup: Setup, model: Any, fsdp: Any, progress: Any
) -> Trainer:
    """The Trainer over the encoded data, with the rich bar instead of printed logs."""
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback

    def to_ds(items: list[Any]) -> Dataset:
        return Dataset.from_list([{**e.features(), "length": len(e.input_ids)} for e in items])

    collator = CompletionCollator(pad_id=int(setup.tok.pad_token_id), padding_side="left")
    cls = trainer_class()
    if fsdp is not None:
        cls = with_cpu_fsdp(cls)
    trainer = cls(
        model=model,
        args=training_arguments(cfg, out, setup, fsdp),
        train_dataset=to_ds(setup.train_enc.items),
        eval_dataset=to_ds(setup.val_enc.items) if setup.do_eval and setup.val_enc else None,
        data_collator=collator,
        processing_class=setup.tok,
        callbacks=[progress],
    )
    trainer.remove_callback(PrinterCallback)  # the rich bar replaces the printed log dicts
    trainer.loraplus_ratio = cfg.loraplus_ratio
    return trainer


def resolved_setup(setup: Setup) -> dict[str, Any]:
    """What ``train_config.json`` records the run resolved to."""
    items = setup.train_enc.items
    return {
        "data": str(setup.data),
        "model_path": str(setup.model_path),
        "device": setup.device,
        "bf16": setup.bf16,
        "padding_free": setup.padding_free,
        "micro_batch_size": setup.micro_batch,
        "grad_accum_micro_batches": setup.accum,
        "max_seq_len": setup.max_seq_len,
        "world_size": setup.world,
        "total_steps": setup.total_steps,
        "eval_steps": setup.eval_steps if setup.do_eval else 0,
        "save_steps": setup.save_steps,
        "train_examples": len(items),
        "val_examples": len(setup.val_enc.items) if setup.val_enc else 0,
        "dropped_too_long": setup.train_enc.dropped,
        "end_of_turn": setup.tok.convert_ids_to_tokens(items[0].input_ids[-1]),
    }


def final_val_loss(trainer: Any) -> float:
    """The validation loss at the last step (logged, or evaluated now)."""
    last = [h for h in trainer.state.log_history if "eval_loss" in h]
    if last and last[-1].get("step") == trainer.state.global_step:
        return float(last[-1]["eval_loss"])
    return float(trainer.evaluate()["eval_loss"])


def write_summary(
    cfg: LoraConfig,
    out: Path,
    setup: Setup,
    trainer: Any,
    base_memory: int,
    resumed_from: int | None,
    record: dict[str, Any],
) -> None:
    """``train_summary.json`` and the loss curve (on rank 0)."""
    import torch

    train_time, device, world = record["train_time"], setup.device, setup.world
    curve = loss_curve(trainer.state.log_history)
    tokens = trainer.tokens_this_session * world
    peak_gpu = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
    eff: dict[str, Any] = {"mfu": None}  # FSDP shards the weights: counted on one process
    if world == 1:
        from bizztune.trainers.mfu import efficiency

        dtype = torch.bfloat16 if setup.bf16 else torch.float32
        eff = efficiency(trainer.model, tokens / max(train_time, 1e-9), dtype, device)
    n, steps = len(setup.train_enc.items), trainer.state.global_step
    summary = {
        "trainer": cfg.trainer,
        "model": cfg.model,
        "quantization": cfg.quantization,
        "style": cfg.style,
        "device": device,
        "bf16": setup.bf16,
        "padding_free": setup.padding_free,
        "world_size": world,
        "steps": steps,
        "resumed_from": resumed_from,
        "epochs": round(float(trainer.state.epoch or 0.0), 3),
        "train_examples": n,
        "dropped_too_long": len(setup.train_enc.dropped),
        "max_seq_len": setup.max_seq_len,
        **speed(train_time, tokens, steps, setup.per_step, n, cfg.epochs),
        "final_train_loss": curve["train"][-1]["loss"] if curve["train"] else None,
        "mean_train_loss": round(float(record["result"].training_loss), 5),
        "final_val_loss": record["final_val"],
        "trainable_params": int(record["trainable"]),
        "total_params": int(record["total_params"]),
        **eff,
        "base_weight_memory_mb": round(base_memory / 2**20, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_gpu_memory_mb": round(peak_gpu, 1) if peak_gpu is not None else None,
    }
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    title = f"{cfg.trainer} {cfg.model} r={cfg.r} α={cfg.alpha} lr={cfg.learning_rate:g}"
    write_loss_curve(out, curve, title)
