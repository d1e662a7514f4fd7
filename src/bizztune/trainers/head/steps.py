"""The pieces of the head trainer's loop: tickets to token ids and label ids, one optimizer step,
validation, the records it keeps and the progress bar.

    seqs, cut = encode(task, tok, examples, "compact", 512)
    loss, tokens, padded = train_step(clf, parts, seqs, y, pad_id, autocast=True, params=p, opt=opt)
    figures = validate(clf, val_seqs, val_y, pad_id)      # loss, acc_<field>, acc_joint

``loop.py`` puts them together; ``benchmarks/profile_train.py`` and ``lora_layers.py`` time
``train_step`` as the trainer runs it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from bizztune.core.interfaces import Example, PromptStyle, Task
from bizztune.trainers.head.precision import mixed_precision

if TYPE_CHECKING:
    import torch


def encode(
    task: Task, tok: Any, examples: Sequence[Example], style: PromptStyle, max_len: int
) -> tuple[list[list[int]], int]:
    """Prompt token ids of every example, and how many were cut to ``max_len``."""
    from bizztune.models.heads import encode_prompt

    seqs, cut = [], 0
    for ex in examples:
        ids, n_cut = encode_prompt(tok, task.messages(ex, style=style), max_len)
        seqs.append(ids)
        cut += n_cut > 0
    return seqs, cut


def targets(task: Task, examples: Sequence[Example]) -> dict[str, Any]:
    """Every field's label ids, as tensors in example order."""
    import torch

    return {
        f.name: torch.tensor([f.labels.index(ex.labels[f.name]) for ex in examples])
        for f in task.schema.fields
    }


def loss_of(
    logits: dict[str, Any],
    y: dict[str, Any],
    idx: list[int],
    weights: dict[str, Any] | None = None,
    scale: dict[str, float] | None = None,
) -> torch.Tensor:
    """Cross-entropy summed over the fields, averaged over the examples; with ``weights``
    (``balance.class_weights``, mean 1 over the training data) each example counts by its
    label's weight; with ``scale`` (``field_weights``) each named field's term by its
    weight."""
    import torch.nn.functional as F

    def field(f: str) -> torch.Tensor:
        w = None if weights is None else weights[f].to(logits[f].device)
        ce = F.cross_entropy(logits[f], y[f][idx], weight=w, reduction="sum") / len(idx)
        return ce * (scale or {}).get(f, 1.0)

    return cast("torch.Tensor", sum(field(f) for f in logits))  # never 0: a task has fields


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
) -> tuple[float, int, int]:
    """One optimizer step over the micro-batches ``parts`` of one batch: forward, loss scaled
    by the micro-batch's share, backward (then ``release``, if given: the CPU's allocator),
    gradient clipping at 1.0 and the optimizer's step. ``y`` holds every example's label ids
    per field, on the model's device; ``weights``: class weights per field; ``scale``: a
    weight per field's loss. Returns the batch's loss, real and padded tokens."""
    import torch

    from bizztune.models.heads import collate

    device = next(iter(y.values())).device
    n = sum(len(mb) for mb in parts)
    loss_sum, tokens, padded = 0.0, 0, 0
    for mb in parts:
        ids, mask = collate([seqs[i] for i in mb], pad_id)
        with mixed_precision(clf.body, device.type, autocast):
            logits = clf(ids.to(device), mask.to(device))
        loss = loss_of(logits, y, mb, weights, scale) * (len(mb) / n)
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
    out = {"loss": float(loss_of(logits, y, idx))}
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


def eval_record(v: dict[str, float]) -> dict[str, float]:
    """``validate``'s figures under the history's names (eval_loss, eval_acc_<field>)."""
    return {"eval_loss": v["loss"], **{f"eval_{k}": x for k, x in v.items() if k != "loss"}}


def tracked(rec: dict[str, Any]) -> dict[str, float]:
    """A history record under the tracker names transformers' Trainer uses."""
    out = {"train/loss": rec["loss"], "train/learning_rate": rec["learning_rate"]}
    for k, v in rec.items():
        if k.startswith("eval_"):
            out[f"eval/{k.removeprefix('eval_')}"] = v
    return out


def summary_curves(
    history: list[dict[str, Any]],
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """The loss curves (train, with both learning rates; validation) and the last figures of
    ``train_summary.json``."""
    train = [
        {
            "step": h["step"],
            "loss": h["loss"],
            "lr": h["learning_rate"],
            "head_lr": h.get("head_learning_rate", h["learning_rate"]),
        }
        for h in history
    ]
    val = [{"step": h["step"], "loss": h["eval_loss"]} for h in history if "eval_loss" in h]
    last_val = next((h for h in reversed(history) if "eval_loss" in h), None)
    last = {
        "final_train_loss": history[-1]["loss"] if history else None,
        "final_val_loss": last_val["eval_loss"] if last_val else None,
        "final_val_accuracy": {
            k.removeprefix("eval_acc_"): v
            for k, v in (last_val or {}).items()
            if k.startswith("eval_acc_")
        },
    }
    return {"train": train, "val": val}, last


class Progress:
    """A rich progress bar on stderr with loss and tokens/s (nothing when disabled)."""

    def __init__(self, total: int, start: int, enabled: bool) -> None:
        self.bar: Any = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        self.bar = Bar(
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
