"""The head trainer's run, top to bottom: data, model, the loop, the output folder.

    from bizztune.trainers.head.loop import train_heads
    out = train_heads(load_task("tickets"), TrainConfig(model="gemma3-270m", trainer="head"))

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import Example, Task
from bizztune.core.memory import peak_rss_mb, release_memory
from bizztune.trainers.budget import CALIBRATION_STEPS, TimeBudget
from bizztune.trainers.config import TrainConfig
from bizztune.trainers.head.adapters import add_lora, layers_below
from bizztune.trainers.head.batches import batch_stream, micro_batches
from bizztune.trainers.head.checkpoint import (
    HEAD_CHECKPOINTS,
    checkpoint_total,
    load_checkpoint,
    save_checkpoint,
)
from bizztune.trainers.head.finish import finish_heads
from bizztune.trainers.head.precision import mixed_precision
from bizztune.trainers.lora.recipe import load_splits, pick_device, use_bf16
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

DEFAULT_MAX_LEN = 512
"""Prompt tokens kept when ``max_seq_len`` is unset (longer tickets are cut in the middle)."""


def encode(
    task: Task, tok: Any, examples: Sequence[Example], style: str, max_len: int
) -> tuple[list[list[int]], int]:
    """Prompt token ids of every example, and how many were cut to ``max_len``."""
    from bizztune.models.heads import encode_prompt

    seqs, cut = [], 0
    for ex in examples:
        ids, was_cut = encode_prompt(tok, task.messages(ex, style=style), max_len)  # type: ignore[arg-type]
        seqs.append(ids)
        cut += was_cut
    return seqs, cut


def targets(task: Task, examples: Sequence[Example]) -> dict[str, Any]:
    import torch

    return {
        f.name: torch.tensor([f.labels.index(ex.labels[f.name]) for ex in examples])
        for f in task.schema.fields
    }


def _tracked(rec: dict[str, Any]) -> dict[str, float]:
    """A history record under the tracker names transformers' Trainer uses."""
    out = {"train/loss": rec["loss"], "train/learning_rate": rec["learning_rate"]}
    for k, v in rec.items():
        if k.startswith("eval_"):
            out[f"eval/{k.removeprefix('eval_')}"] = v
    return out


def _loss(
    logits: dict[str, Any],
    y: dict[str, Any],
    idx: list[int],
    weights: dict[str, Any] | None = None,
    scale: dict[str, float] | None = None,
) -> Any:
    """Cross-entropy summed over the fields, averaged over the examples; with ``weights``
    (``balance.class_weights``, mean 1 over the training data) each example counts by its
    label's weight; with ``scale`` (``--field-weights``) each named field's term by its
    weight."""
    import torch.nn.functional as F

    def field(f: str) -> Any:
        w = None if weights is None else weights[f].to(logits[f].device)
        ce = F.cross_entropy(logits[f], y[f][idx], weight=w, reduction="sum") / len(idx)
        return ce * (scale or {}).get(f, 1.0)

    return sum(field(f) for f in logits)


def train_step(
    clf: Any,
    parts: Sequence[list[int]],
    seqs: Sequence[Sequence[int]],
    y: dict[str, Any],
    pad_id: int,
    *,
    autocast: bool,
    params: Sequence[Any],
    opt: Any,
    release: Callable[[], object] | None = None,
    weights: dict[str, Any] | None = None,
    scale: dict[str, float] | None = None,
    rationale: Any = None,
) -> tuple[float, int, int]:
    """One optimizer step over the micro-batches ``parts`` of one batch: forward, loss scaled
    by the micro-batch's share, backward (then ``release``, if given: the CPU's allocator),
    gradient clipping at 1.0 and the optimizer's step. ``y`` holds every example's label ids
    per field, on the model's device; ``weights``: class weights per field (``--class-weight``);
    ``scale``: a weight per field's loss (``--field-weights``); ``rationale``: the
    ``--head-rationale`` targets (``rationale.Rationales``). Returns the batch's loss, real
    and padded tokens."""
    import torch

    from bizztune.models.heads import collate

    device = next(iter(y.values())).device
    n = sum(len(mb) for mb in parts)
    loss_sum, tokens, padded = 0.0, 0, 0
    for mb in parts:
        ids, mask = collate([seqs[i] for i in mb], pad_id)
        with mixed_precision(clf.body, device.type, autocast):
            logits = clf(ids.to(device), mask.to(device))
        loss = _loss(logits, y, mb, weights, scale)
        if rationale is not None:
            loss = loss + rationale.loss(clf.attention, mb)
        loss = loss * (len(mb) / n)
        loss.backward()
        if release is not None:
            release()
        loss_sum += float(loss.detach())
        tokens += int(mask.sum())
        padded += int(mask.numel())
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss_sum, tokens, padded


def validate(clf: Any, seqs: list[list[int]], y: dict[str, Any], pad_id: int) -> dict[str, float]:
    """Mean loss (summed over fields) and per-field accuracy on the validation examples."""
    import torch

    from bizztune.models.heads import answer_labels, label_probs, predict_logits

    clf.eval()
    logits = predict_logits(clf, seqs, pad_id, batch_size=16)
    clf.train()
    idx = list(range(len(seqs)))
    out = {"loss": float(_loss(logits, y, idx))}
    names = [f.name for f in clf.spec.fields]
    answers = [answer_labels(clf.spec, p, names) for p in label_probs(clf.spec, logits, names)]
    right = {
        f.name: torch.tensor(
            [a[f.name] == f.labels[int(t)] for a, t in zip(answers, y[f.name], strict=True)]
        )
        for f in clf.spec.fields
    }
    for f, ok in right.items():
        out[f"acc_{f}"] = float(ok.float().mean())
    out["acc_joint"] = float(torch.stack(list(right.values())).all(0).float().mean())
    return out


def _eval_record(v: dict[str, float]) -> dict[str, float]:
    """``validate``'s figures under the history's names (eval_loss, eval_acc_<field>)."""
    return {"eval_loss": v["loss"], **{f"eval_{k}": x for k, x in v.items() if k != "loss"}}


def check_field_weights(task: Task, cfg: TrainConfig) -> None:
    """``--field-weights`` and ``--head-rationale`` may name only the task's output fields:
    one line, before loading."""
    names = [f.name for f in task.schema.fields]
    for flag, given in (
        ("--field-weights", cfg.field_weights),
        ("--head-rationale", cfg.head_rationale),
    ):
        unknown = sorted(set(given or {}) - set(names))
        if unknown:
            raise ConfigError(
                f"{flag} names {', '.join(unknown)}; the task's fields are {', '.join(names)}"
            )


def train_heads(task: Task, cfg: TrainConfig, show_progress: bool = True) -> Path:
    import torch
    from transformers import get_scheduler, set_seed

    from bizztune.models.embedded import resolve_model
    from bizztune.models.heads import HeadClassifier, HeadSpec, Pooling, load_body
    from bizztune.models.loading import nf4_config, quiet_transformers
    from bizztune.models.tokenizer import load_tokenizer

    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    quiet_transformers()
    out = Path(cfg.out) if cfg.out else default_out(task.name, cfg)
    device = pick_device(cfg)
    bf16 = use_bf16(cfg, device)
    check_resume(out, cfg, HEAD_CHECKPOINTS)
    tracker(cfg.report_to)  # a tracker that is not installed: one line, before any loading
    check_field_weights(task, cfg)
    data, train_ex, val_ex = load_splits(task, cfg)
    model_path = resolve_model(cfg.model)
    tok = load_tokenizer(model_path)
    pad_id = int(tok.pad_token_id if tok.pad_token_id is not None else 0)
    max_len = cfg.max_seq_len or DEFAULT_MAX_LEN
    seqs, cut = encode(task, tok, train_ex, cfg.style, max_len)
    val_seqs, _ = encode(task, tok, val_ex, cfg.style, max_len)
    y, val_y = targets(task, train_ex), targets(task, val_ex)
    lengths = [len(s) for s in seqs]
    padding_free = cfg.padding_free is True  # off unless asked: short prompts batch well
    per_step = cfg.batch_size * cfg.grad_accum
    steps_per_epoch = max(1, math.ceil(len(seqs) / per_step))
    total = cfg.max_steps or max(1, math.ceil(steps_per_epoch * cfg.epochs))
    eval_steps = cfg.eval_steps if cfg.eval_steps is not None else max(1, total // 5)
    do_eval = bool(val_seqs) and eval_steps > 0
    save_steps = cfg.save_steps or (eval_steps if eval_steps > 0 else max(1, total // 5))
    if cfg.resume and already_done(out, total, planned=cfg.time_budget is not None):
        return out
    # A run fitted to a time budget resumes with the number of steps it chose.
    planned = total
    ckpt = last_checkpoint(out) if cfg.resume else None
    fitted = checkpoint_total(Path(ckpt)) if ckpt is not None else None
    total = fitted or total

    set_seed(cfg.seed)
    dtype = torch.bfloat16 if bf16 else torch.float32
    quant = nf4_config(dtype) if cfg.quantization == "nf4" else None
    body = load_body(model_path, dtype, quant, device, layers=cfg.head_layers)
    hidden = int(body.config.get_text_config().hidden_size)
    kept = len(body.layers) if cfg.head_layers is not None else None  # a fraction, resolved
    lower = layers_below(body, cfg)  # --lora-layers: left without LoRA, forward only
    body = add_lora(body, cfg)
    spec = HeadSpec.for_schema(
        task.schema,
        hidden,
        pooling=cast(Pooling, cfg.head_pooling),
        layers=kept,
        max_length=max_len,
        base_model=cfg.model,
        task=task.name,
        style=cfg.style,
    )
    # LoRA over a 16-bit (not NF4) body runs under bf16 autocast: see mixed_precision.
    autocast = bf16 and quant is None
    clf = HeadClassifier(body, spec)
    clf.heads.to(device)
    clf.train()
    rationale = None  # --head-rationale: where each named field's attention should look
    if cfg.head_rationale:
        from bizztune.trainers.head.rationale import Rationales

        rationale = Rationales.build(task, tok, train_ex, cfg.style, seqs, cfg.head_rationale)
        clf.keep_attention = True
    probe = None  # LP-FT: heads start at a linear probe (a resumed run has its own heads)
    if cfg.head_init == "probe" and ckpt is None:
        from bizztune.trainers.head.probe import fit_probe_heads

        probe = fit_probe_heads(clf, seqs, y, pad_id, autocast)
    weights = None  # --class-weight balanced: every label the same total weight (balance.py)
    if cfg.class_weight == "balanced":
        from bizztune.trainers.head.balance import class_weights

        weights = class_weights(spec, y)
    params = [p for p in clf.parameters() if p.requires_grad]
    trainable = sum(p.numel() for p in params)
    head_ids = {id(p) for p in clf.heads.parameters()}
    groups = [
        {"params": [p for p in params if id(p) not in head_ids], "lr": cfg.learning_rate},
        {"params": list(clf.heads.parameters()), "lr": cfg.learning_rate * cfg.head_lr_ratio},
    ]
    opt = torch.optim.AdamW(groups, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)

    def schedule(n: int) -> Any:
        return get_scheduler(
            cfg.lr_scheduler,
            opt,
            num_warmup_steps=int(cfg.warmup_ratio * n),
            num_training_steps=n,
        )

    sched = schedule(total)
    out.mkdir(parents=True, exist_ok=True)
    resolved = config_record(
        cfg,
        out,
        task=task.name,
        data=str(data),
        model_path=str(model_path),
        device=device,
        bf16=bf16,
        padding_free=padding_free,
        autocast=autocast,
        max_seq_len=max_len,
        total_steps=total,
        eval_steps=eval_steps if do_eval else 0,
        save_steps=save_steps,
        train_examples=len(seqs),
        val_examples=len(val_seqs),
        truncated=cut,
        pooling=spec.pooling,
        layers=spec.layers,
        **({"rationale_coverage": rationale.coverage()} if rationale else {}),
    )
    (out / CONFIG_FILE).write_text(json.dumps(resolved, indent=2, ensure_ascii=False))
    log = open_tracker(cfg.report_to, out, cfg.to_dict())

    step = 0
    history: list[dict[str, Any]] = []
    if ckpt is not None:
        step, history = load_checkpoint(Path(ckpt), clf, opt, sched)
        print(f"resuming from {ckpt} at step {step} of {total}", file=sys.stderr, flush=True)
    resumed_from = step if ckpt is not None else None

    def split(batch: list[int]) -> list[list[int]]:
        if padding_free:
            return [[i] for i in batch]
        return micro_batches(batch, lengths, cfg.batch_size, cfg.micro_batch_tokens)

    y_dev = {f: v.to(device) for f, v in y.items()}
    # activations of another shape each micro-batch: see core/memory.py
    release = (lambda: release_memory(collect=False)) if device == "cpu" else None
    budget = TimeBudget(cfg.time_budget) if cfg.time_budget else None
    fit_record: dict[str, Any] | None = None
    tokens, padded, t0 = 0, 0, time.perf_counter()
    stream = batch_stream(lengths, per_step, cfg.seed, planned)
    for _ in range(step):  # a resumed run skips the batches it has trained on
        next(stream)
    progress = _Progress(total, step, enabled=show_progress)
    for batch in stream:
        if step >= total:
            break
        loss_sum, n_tokens, n_padded = train_step(
            clf, split(batch), seqs, y_dev, pad_id,
            autocast=autocast, params=params, opt=opt, release=release, weights=weights,
            scale=cfg.field_weights, rationale=rationale,
        )  # fmt: skip
        tokens += n_tokens
        padded += n_padded
        sched.step()
        step += 1
        rec: dict[str, Any] = {
            "step": step,
            "loss": loss_sum,
            "learning_rate": sched.get_last_lr()[0],
            "head_learning_rate": sched.get_last_lr()[1],
        }
        if do_eval and (step % eval_steps == 0 or step == total):
            rec.update(_eval_record(validate(clf, val_seqs, val_y, pad_id)))
        history.append(rec)
        if log is not None:
            log.log(step, _tracked(rec))
        if budget is not None and fitted is None and step == min(CALIBRATION_STEPS, planned):
            elapsed = time.perf_counter() - t0
            step_tokens = [
                sum(len(mb) * max(lengths[i] for i in mb) for mb in split(b))
                for b in batch_stream(lengths, per_step, cfg.seed, planned)
            ]
            fitted = budget.fit(elapsed, padded, step, step_tokens, planned)
            fit_record = {
                "minutes": cfg.time_budget,
                "planned_steps": planned,
                "steps": fitted,
                "calibration_steps": step,
                "seconds_per_padded_token": round(elapsed / max(padded, 1), 6),
            }
            if fitted < total:
                total = fitted
                sched = schedule(total)  # the schedule laid over the fitted steps
                for _ in range(step):
                    sched.step()
                progress.set_total(total)
        progress.update(step, loss_sum, tokens / max(time.perf_counter() - t0, 1e-9))
        if step % save_steps == 0 and step < total:
            save_checkpoint(out, step, clf, opt, sched, history, total=fitted)
    progress.close()
    if log is not None:
        log.close()
    train_time = time.perf_counter() - t0
    from bizztune.trainers.mfu import efficiency

    eff = efficiency(clf, tokens / max(train_time, 1e-9), dtype, device, forward_only=lower)

    clf.body.save_pretrained(str(out))  # the LoRA weights, before finish_heads merges them
    finished = finish_heads(clf, cfg, weights, seqs, y, pad_id, autocast)
    if finished and do_eval and history and "eval_loss" in history[-1]:
        history[-1].update(_eval_record(validate(clf, val_seqs, val_y, pad_id)))
    clf.save_heads(out)
    tok.save_pretrained(str(out))
    for old in out.glob("checkpoint-*"):
        shutil.rmtree(old, ignore_errors=True)
    train_curve = [
        {
            "step": h["step"],
            "loss": h["loss"],
            "lr": h["learning_rate"],
            "head_lr": h.get("head_learning_rate", h["learning_rate"]),
        }
        for h in history
    ]
    val_curve = [{"step": h["step"], "loss": h["eval_loss"]} for h in history if "eval_loss" in h]
    last_val = next((h for h in reversed(history) if "eval_loss" in h), None)
    summary = {
        "trainer": cfg.trainer,
        "model": cfg.model,
        "quantization": cfg.quantization,
        "style": cfg.style,
        "device": device,
        "bf16": bf16,
        "padding_free": padding_free,
        "autocast": autocast,
        "micro_batch_tokens": cfg.micro_batch_tokens,
        "time_budget": fit_record,
        **({"head_init": {"how": "probe", **probe}} if probe else {}),
        **finished,
        "steps": step,
        "resumed_from": resumed_from,
        "epochs": round(step * per_step / max(len(seqs), 1), 3),
        "train_examples": len(seqs),
        "truncated": cut,
        "max_seq_len": max_len,
        **speed(train_time, tokens, step, per_step, len(seqs), cfg.epochs),
        "final_train_loss": history[-1]["loss"] if history else None,
        "final_val_loss": last_val["eval_loss"] if last_val else None,
        "final_val_accuracy": {
            k.removeprefix("eval_acc_"): v
            for k, v in (last_val or {}).items()
            if k.startswith("eval_acc_")
        },
        "trainable_params": int(trainable),
        **eff,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    title = f"head {cfg.model} r={cfg.r} α={cfg.alpha} lr={cfg.learning_rate:g}"
    write_loss_curve(out, {"train": train_curve, "val": val_curve}, title)
    return out


class _Progress:
    """A rich progress bar on stderr with loss and tokens/s (nothing when disabled)."""

    def __init__(self, total: int, start: int, enabled: bool) -> None:
        self.bar: Any = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("train head"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.3f}  {task.fields[tps]:.0f} tok/s"),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
        )
        self.bar.start()
        self.task = self.bar.add_task("train", total=total, completed=start, loss=0.0, tps=0.0)

    def update(self, step: int, loss: float, tps: float) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=step, loss=loss, tps=tps)

    def set_total(self, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, total=total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
