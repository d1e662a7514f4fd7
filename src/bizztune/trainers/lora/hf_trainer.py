"""transformers' Trainer as bizztune runs it: the loss on the answer tokens only, tokens/s in
the logs, loss-only evaluation, LoRA+, a rich progress bar, and FSDP on CPU processes.

    cls = trainer_class()                     # a Trainer subclass, built when first asked for
    cls = with_cpu_fsdp(cls)                  # under qlora-fsdp
    trainer = cls(model=..., args=..., callbacks=[progress_callback(total_steps)])

Built lazily inside functions, so importing this module needs no torch.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bizztune.trainers.lora.collate import IGNORE_INDEX

if TYPE_CHECKING:
    import torch


def trainer_class() -> type:
    """transformers.Trainer with the answer-only loss on the last positions, token counting
    and loss-only evaluation. Built lazily so importing this module needs no torch."""
    import torch
    from transformers import Trainer

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

        def create_optimizer(self, model: Any = None) -> torch.optim.Optimizer:
            if self.loraplus_ratio and self.optimizer is None:
                target = model if model is not None else self.model
                self.optimizer = loraplus_optimizer(target, self.args, self.loraplus_ratio)
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
            per_items = num_items_in_batch if model.training else None
            loss = answer_loss(out.logits, labels, per_items, self.args)
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


def answer_loss(logits: Any, labels: Any, num_items_in_batch: Any, args: Any) -> torch.Tensor:
    """The loss on the answer tokens: summed over the batch, divided by the answer tokens of
    the whole accumulated batch (``num_items_in_batch``; None, as in evaluation: this
    batch's)."""
    import torch.nn.functional as F

    logits = logits[:, :-1]
    targets = labels[:, labels.size(1) - logits.size(1) :]
    loss_sum = F.cross_entropy(
        logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX, reduction="sum"
    )
    if num_items_in_batch is None:
        return loss_sum / (targets != IGNORE_INDEX).sum().clamp(min=1)
    loss = loss_sum / num_items_in_batch
    if args.average_tokens_across_devices and args.world_size > 1:
        # num_items_in_batch counts every rank's tokens; DDP/FSDP average gradients.
        loss = loss * args.world_size
    return loss


def loraplus_optimizer(model: Any, args: Any, ratio: float) -> torch.optim.Optimizer:
    """LoRA+: AdamW with the B matrices learning ``ratio`` times faster than A
    (arXiv 2402.12354)."""
    import torch
    from peft.optimizers import create_loraplus_optimizer

    return create_loraplus_optimizer(
        model,
        torch.optim.AdamW,
        lr=args.learning_rate,
        loraplus_lr_ratio=ratio,
        weight_decay=args.weight_decay,
    )


def with_cpu_fsdp(cls: Any) -> Any:
    """A Trainer subclass that runs accelerate's FSDP2 path on CPU processes (gloo) too."""

    class CpuFsdpTrainer(cls):
        is_fsdp_enabled: bool

        def create_accelerator_and_postprocess(self) -> None:
            super().create_accelerator_and_postprocess()
            if not (self.args.use_cpu and self.args.fsdp) or self.is_fsdp_enabled:
                return
            from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

            state = self.accelerator.state
            state.fsdp_plugin = FullyShardedDataParallelPlugin(**self.args.fsdp_plugin_args)
            state.distributed_type = DistributedType.FSDP
            self.is_fsdp_enabled = True

        def _save(self, output_dir: str | None = None, state_dict: Any = None) -> None:
            # On CPU, torch's full-state-dict gather hands back the DTensor shards unchanged
            # (its CPU offload is a no-op there). Gather the adapter weights on every rank
            # (a collective), drop the frozen base shards PEFT would not save anyway.
            if self.args.use_cpu and state_dict is not None:
                from torch.distributed.tensor import DTensor

                full = {}
                for k, v in state_dict.items():
                    if not isinstance(v, DTensor):
                        full[k] = v
                    elif "lora_" in k or "modules_to_save" in k:
                        full[k] = v.full_tensor()
                state_dict = full
            super()._save(output_dir, state_dict)

    return CpuFsdpTrainer


def progress_callback(total_hint: int, enabled: bool = True) -> Any:
    """A rich progress bar: step, train loss, validation loss, tokens/s; ``started_at`` is the
    step the Trainer began at (a resumed run's checkpoint step, else 0)."""
    from transformers import TrainerCallback

    class RichProgress(TrainerCallback):
        def __init__(self) -> None:
            self.bar: Any = None
            self.task: Any = None
            self.fields = {"loss": "-", "val": "-", "tps": "-"}
            self.started_at: int | None = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.started_at = int(state.global_step)
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
