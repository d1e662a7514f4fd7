"""The head trainer's run, top to bottom: data, model, optimiser, the loop, the output folder.

    from bizztune.trainers.head.loop import train_heads
    out = train_heads(load_task("tickets"), HeadConfig(**RECIPES["default"].params))

A plain PyTorch loop (no transformers Trainer: there is no generation, no label masking and no
LM head to work around). Batches group tickets of similar length (a shuffled pool of 32
batches is sorted by length, then cut), so little compute goes into padding; with
``padding_free`` every ticket is its own micro-batch and attention needs no mask. The base is
frozen in bf16 (or NF4), the LoRA weights and heads train in fp32 with AdamW.

Checkpoints (``checkpoint-N/``: the trainable weights, optimizer, scheduler and the loss
history) are written every ``save_steps``; ``--resume`` continues from the newest, and the
batch order is a function of the seed and the epoch, so a resumed run sees the same batches.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import Task
from bizztune.core.memory import peak_rss_mb, release_memory
from bizztune.trainers.budget import CALIBRATION_STEPS, TimeBudget
from bizztune.trainers.config import HeadConfig
from bizztune.trainers.head.adapters import add_lora, layers_below
from bizztune.trainers.head.batches import batch_stream, micro_batches
from bizztune.trainers.head.checkpoint import (
    HEAD_CHECKPOINTS,
    checkpoint_total,
    load_checkpoint,
    save_checkpoint,
)
from bizztune.trainers.head.finish import finish_heads
from bizztune.trainers.head.steps import (
    Progress,
    encode,
    eval_record,
    summary_curves,
    targets,
    tracked,
    train_step,
    validate,
)
from bizztune.trainers.lora.run import load_splits, pick_device, use_bf16
from bizztune.trainers.lora.run_folder import (
    CONFIG_FILE,
    already_done,
    check_resume,
    config_record,
    default_out,
    last_checkpoint,
    speed,
    write_loss_curve,
)
from bizztune.trainers.tracking import open_tracker, tracker

if TYPE_CHECKING:
    from torch.optim.lr_scheduler import LRScheduler

DEFAULT_MAX_LEN = 512
"""Prompt tokens kept when ``max_seq_len`` is unset (longer tickets are cut in the middle)."""


@dataclass
class Data:
    """The training and validation tickets, encoded, with their labels."""

    path: Path
    model_path: Path
    tok: Any
    pad_id: int
    max_len: int
    seqs: list[list[int]]
    cut: int
    val_seqs: list[list[int]]
    y: dict[str, Any]
    val_y: dict[str, Any]

    @property
    def lengths(self) -> list[int]:
        return [len(s) for s in self.seqs]


@dataclass
class Plan:
    """How many steps, what each holds, and when to validate and save."""

    per_step: int
    planned: int
    """The steps the epochs or max_steps ask for."""
    total: int
    """The steps this run takes (fewer when a time budget fitted them)."""
    eval_steps: int
    do_eval: bool
    save_steps: int
    padding_free: bool
    ckpt: str | None
    """The checkpoint a resumed run starts from."""
    fitted: int | None
    """The steps a time budget chose (None: not fitted yet, or no budget)."""


@dataclass
class Model:
    """The classifier in training, how it computes, and what its loss weighs."""

    clf: Any
    device: str
    bf16: bool
    dtype: Any
    autocast: bool
    lower: list[Any]
    """Layers left without LoRA (forward only), for the MFU count."""
    weights: dict[str, Any] | None
    """Class weights per field (``class_weight: balanced``)."""


@dataclass
class Loop:
    """The optimiser and what the loop has done so far."""

    opt: Any
    sched: Any
    schedule: Callable[[int], Any]
    trainable: int
    """Trained parameters (LoRA and heads)."""
    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    tokens: int = 0
    padded: int = 0
    seconds: float = 0.0
    budget_record: dict[str, Any] | None = None
    resumed_from: int | None = None


def train_heads(task: Task, cfg: HeadConfig, show_progress: bool = True) -> Path:
    """Train the heads and LoRA and write the output folder (the caller holds its lock)."""
    from bizztune.models.loading import quiet_transformers

    if cfg.num_threads:
        import torch

        torch.set_num_threads(cfg.num_threads)
    quiet_transformers()
    out = Path(cfg.out) if cfg.out else default_out(task.name, cfg)
    device = pick_device(cfg)
    check_resume(out, cfg, HEAD_CHECKPOINTS)
    tracker(cfg.report_to)  # a tracker that is not installed: one line, before any loading
    check_field_weights(task, cfg)
    data = load_data(task, cfg)
    plan = plan_steps(cfg, data, out)
    if plan is None:
        return out  # --resume of a finished run of the same length
    model = build_model(task, cfg, data, device)
    loop = build_optimiser(cfg, model, plan)
    out.mkdir(parents=True, exist_ok=True)
    record_config(task, cfg, out, data, plan, model)
    run_loop(cfg, out, data, plan, model, loop, show_progress)
    finish_run(cfg, out, data, plan, model, loop)
    return out


def check_field_weights(task: Task, cfg: HeadConfig) -> None:
    """``field_weights`` may name only the task's output fields: one line, before loading."""
    names = [f.name for f in task.schema.fields]
    unknown = sorted(set(cfg.field_weights or {}) - set(names))
    if unknown:
        raise ConfigError(
            f"field_weights names {', '.join(unknown)}; the task's fields are {', '.join(names)}"
        )


def load_data(task: Task, cfg: HeadConfig) -> Data:
    """The train and validation split, encoded with the model's chat template."""
    from bizztune.models.embedded import resolve_model
    from bizztune.models.tokenizer import load_tokenizer

    path, train_ex, val_ex = load_splits(task, cfg)
    model_path = resolve_model(cfg.model)
    tok = load_tokenizer(model_path)
    pad_id = int(tok.pad_token_id if tok.pad_token_id is not None else 0)
    max_len = cfg.max_seq_len or DEFAULT_MAX_LEN
    seqs, cut = encode(task, tok, train_ex, cfg.style, max_len)
    val_seqs, _ = encode(task, tok, val_ex, cfg.style, max_len)
    y, val_y = targets(task, train_ex), targets(task, val_ex)
    return Data(path, model_path, tok, pad_id, max_len, seqs, cut, val_seqs, y, val_y)


def plan_steps(cfg: HeadConfig, data: Data, out: Path) -> Plan | None:
    """The run's steps; None when ``--resume`` finds the run finished."""
    per_step = cfg.batch_size * cfg.grad_accum
    steps_per_epoch = max(1, math.ceil(len(data.seqs) / per_step))
    total = cfg.max_steps or max(1, math.ceil(steps_per_epoch * cfg.epochs))
    eval_steps = cfg.eval_steps if cfg.eval_steps is not None else max(1, total // 5)
    save_steps = cfg.save_steps or (eval_steps if eval_steps > 0 else max(1, total // 5))
    if cfg.resume and already_done(out, total, planned=cfg.time_budget is not None):
        return None
    # A run fitted to a time budget resumes with the number of steps it chose.
    ckpt = last_checkpoint(out) if cfg.resume else None
    fitted = checkpoint_total(Path(ckpt)) if ckpt is not None else None
    return Plan(
        per_step=per_step,
        planned=total,
        total=fitted or total,
        eval_steps=eval_steps,
        do_eval=bool(data.val_seqs) and eval_steps > 0,
        save_steps=save_steps,
        padding_free=cfg.padding_free is True,  # off unless asked: short prompts batch well
        ckpt=ckpt,
        fitted=fitted,
    )


def build_model(task: Task, cfg: HeadConfig, data: Data, device: str) -> Model:
    """The body (cut to ``head_layers``, LoRA on its top ``lora_layers``) and the heads."""
    import torch
    from transformers import set_seed

    from bizztune.models.heads import HeadClassifier, HeadSpec, load_body
    from bizztune.models.loading import nf4_config

    bf16 = use_bf16(cfg, device)
    set_seed(cfg.seed)
    dtype = torch.bfloat16 if bf16 else torch.float32
    quant = nf4_config(dtype) if cfg.quantization == "nf4" else None
    body = load_body(data.model_path, dtype, quant, device, layers=cfg.head_layers)
    hidden = int(body.config.get_text_config().hidden_size)
    kept = len(body.layers) if cfg.head_layers is not None else None  # a fraction, resolved
    lower = layers_below(body, cfg)  # lora_layers: left without LoRA, forward only
    body = add_lora(body, cfg)
    spec = HeadSpec.for_schema(
        task.schema,
        hidden,
        pooling=cfg.head_pooling,
        layers=kept,
        max_length=data.max_len,
        base_model=cfg.model,
        task=task.name,
        style=cfg.style,
    )
    clf = HeadClassifier(body, spec)
    clf.heads.to(device)
    clf.train()
    weights = None  # class_weight balanced: every label the same total weight (balance.py)
    if cfg.class_weight == "balanced":
        from bizztune.trainers.head.balance import class_weights

        weights = class_weights(spec, data.y)
    # LoRA over a 16-bit (not NF4) body runs under bf16 autocast: see mixed_precision.
    return Model(clf, device, bf16, dtype, bf16 and quant is None, lower, weights)


def build_optimiser(cfg: HeadConfig, model: Model, plan: Plan) -> Loop:
    """AdamW over the LoRA weights and the heads (at ``head_lr_ratio`` times the rate), the
    schedule over the planned steps, and the checkpoint's state when resuming."""
    import torch
    from transformers import get_scheduler

    clf = model.clf
    params = [p for p in clf.parameters() if p.requires_grad]
    head_ids = {id(p) for p in clf.heads.parameters()}
    groups = [
        {"params": [p for p in params if id(p) not in head_ids], "lr": cfg.learning_rate},
        {"params": list(clf.heads.parameters()), "lr": cfg.learning_rate * cfg.head_lr_ratio},
    ]
    opt = torch.optim.AdamW(groups, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)

    def schedule(n: int) -> LRScheduler:
        warmup = int(cfg.warmup_ratio * n)
        return get_scheduler(cfg.lr_scheduler, opt, num_warmup_steps=warmup, num_training_steps=n)

    loop = Loop(opt, schedule(plan.total), schedule, sum(p.numel() for p in params))
    if plan.ckpt is not None:
        loop.step, loop.history = load_checkpoint(Path(plan.ckpt), clf, opt, loop.sched)
        loop.resumed_from = loop.step
        print(
            f"resuming from {plan.ckpt} at step {loop.step} of {plan.total}",
            file=sys.stderr,
            flush=True,
        )
    return loop


def record_config(
    task: Task, cfg: HeadConfig, out: Path, data: Data, plan: Plan, model: Model
) -> None:
    """``train_config.json``: the config and what it resolved to on this machine."""
    spec = model.clf.spec
    resolved = config_record(
        cfg,
        out,
        task=task.name,
        data=str(data.path),
        model_path=str(data.model_path),
        device=model.device,
        bf16=model.bf16,
        padding_free=plan.padding_free,
        autocast=model.autocast,
        max_seq_len=data.max_len,
        total_steps=plan.total,
        eval_steps=plan.eval_steps if plan.do_eval else 0,
        save_steps=plan.save_steps,
        train_examples=len(data.seqs),
        val_examples=len(data.val_seqs),
        truncated=data.cut,
        pooling=spec.pooling,
        layers=spec.layers,
    )
    (out / CONFIG_FILE).write_text(json.dumps(resolved, indent=2, ensure_ascii=False))


def run_loop(
    cfg: HeadConfig,
    out: Path,
    data: Data,
    plan: Plan,
    model: Model,
    loop: Loop,
    show_progress: bool,
) -> None:
    """The optimizer steps, from the checkpoint's (if any) to ``plan.total``: validation,
    tracking, the time budget's fit, checkpoints."""
    lengths = data.lengths
    log = open_tracker(cfg.report_to, out, cfg.to_dict())
    y_dev = {f: v.to(model.device) for f, v in data.y.items()}
    # activations of another shape each micro-batch: see core/memory.py
    release = (lambda: release_memory(collect=False)) if model.device == "cpu" else None
    params = [p for p in model.clf.parameters() if p.requires_grad]
    stream = batch_stream(lengths, plan.per_step, cfg.seed, plan.planned)
    for _ in range(loop.step):  # a resumed run skips the batches it has trained on
        next(stream)
    progress = Progress(plan.total, loop.step, enabled=show_progress)
    t0 = time.perf_counter()
    for batch in stream:
        if loop.step >= plan.total:
            break
        loss_sum, n_tokens, n_padded = train_step(
            model.clf,
            parts(cfg, plan, lengths, batch),
            data.seqs,
            y_dev,
            data.pad_id,
            autocast=model.autocast,
            params=params,
            opt=loop.opt,
            release=release,
            weights=model.weights,
            scale=cfg.field_weights,
        )
        loop.tokens += n_tokens
        loop.padded += n_padded
        loop.sched.step()
        loop.step += 1
        rec = record_step(loop, loss_sum)
        if plan.do_eval and (loop.step % plan.eval_steps == 0 or loop.step == plan.total):
            rec.update(eval_record(validate(model.clf, data.val_seqs, data.val_y, data.pad_id)))
        loop.history.append(rec)
        if log is not None:
            log.log(loop.step, tracked(rec))
        if (
            cfg.time_budget
            and plan.fitted is None
            and loop.step == min(CALIBRATION_STEPS, plan.planned)
        ):
            fit_budget(cfg, plan, loop, lengths, time.perf_counter() - t0, progress)
        progress.update(loop.step, loss_sum, loop.tokens / max(time.perf_counter() - t0, 1e-9))
        if loop.step % plan.save_steps == 0 and loop.step < plan.total:
            save_checkpoint(
                out, loop.step, model.clf, loop.opt, loop.sched, loop.history, total=plan.fitted
            )
    progress.close()
    if log is not None:
        log.close()
    loop.seconds = time.perf_counter() - t0


def parts(cfg: HeadConfig, plan: Plan, lengths: list[int], batch: list[int]) -> list[list[int]]:
    """The micro-batches of one batch: one ticket each (padding-free), or at most
    ``micro_batch_tokens`` padded tokens each."""
    if plan.padding_free:
        return [[i] for i in batch]
    return micro_batches(batch, lengths, cfg.batch_size, cfg.micro_batch_tokens)


def record_step(loop: Loop, loss: float) -> dict[str, Any]:
    lr = loop.sched.get_last_lr()
    return {"step": loop.step, "loss": loss, "learning_rate": lr[0], "head_learning_rate": lr[1]}


def fit_budget(
    cfg: HeadConfig, plan: Plan, loop: Loop, lengths: list[int], elapsed: float, progress: Any
) -> None:
    """After the calibration steps, fit the steps to ``time_budget`` at the measured seconds
    per padded token, and lay the schedule over them."""
    assert cfg.time_budget is not None
    step_tokens = [
        sum(len(mb) * max(lengths[i] for i in mb) for mb in parts(cfg, plan, lengths, b))
        for b in batch_stream(lengths, plan.per_step, cfg.seed, plan.planned)
    ]
    fitted = TimeBudget(cfg.time_budget).fit(
        elapsed, loop.padded, loop.step, step_tokens, plan.planned
    )
    plan.fitted = fitted
    loop.budget_record = {
        "minutes": cfg.time_budget,
        "planned_steps": plan.planned,
        "steps": fitted,
        "calibration_steps": loop.step,
        "seconds_per_padded_token": round(elapsed / max(loop.padded, 1), 6),
    }
    if fitted < plan.total:
        plan.total = fitted
        loop.sched = loop.schedule(fitted)  # the schedule laid over the fitted steps
        for _ in range(loop.step):
            loop.sched.step()
        progress.set_total(fitted)


def finish_run(
    cfg: HeadConfig, out: Path, data: Data, plan: Plan, model: Model, loop: Loop
) -> None:
    """The adapter, the finished heads, the tokenizer, ``train_summary.json`` and the loss
    curve; the checkpoints go."""
    from bizztune.trainers.mfu import efficiency

    clf = model.clf
    tps = loop.tokens / max(loop.seconds, 1e-9)
    eff = efficiency(clf, tps, model.dtype, model.device, forward_only=model.lower)
    clf.body.save_pretrained(str(out))  # the LoRA weights, before finish_heads merges them
    args = (clf, cfg, model.weights, data.seqs, data.y, data.pad_id, model.autocast)
    finished = finish_heads(*args)
    history = loop.history
    if finished and plan.do_eval and history and "eval_loss" in history[-1]:
        history[-1].update(eval_record(validate(clf, data.val_seqs, data.val_y, data.pad_id)))
    clf.save_heads(out)
    data.tok.save_pretrained(str(out))
    for old in out.glob("checkpoint-*"):
        shutil.rmtree(old, ignore_errors=True)
    curves, last = summary_curves(history)
    summary = {
        "trainer": cfg.trainer,
        "model": cfg.model,
        "quantization": cfg.quantization,
        "style": cfg.style,
        "device": model.device,
        "bf16": model.bf16,
        "padding_free": plan.padding_free,
        "autocast": model.autocast,
        "micro_batch_tokens": cfg.micro_batch_tokens,
        "time_budget": loop.budget_record,
        **finished,
        "steps": loop.step,
        "resumed_from": loop.resumed_from,
        "epochs": round(loop.step * plan.per_step / max(len(data.seqs), 1), 3),
        "train_examples": len(data.seqs),
        "truncated": data.cut,
        "max_seq_len": data.max_len,
        **speed(loop.seconds, loop.tokens, loop.step, plan.per_step, len(data.seqs), cfg.epochs),
        **last,
        "trainable_params": loop.trainable,
        **eff,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    title = f"head {cfg.model} r={cfg.r} α={cfg.alpha} lr={cfg.learning_rate:g}"
    write_loss_curve(out, curves, title)
