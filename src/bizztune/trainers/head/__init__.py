"""The ``head`` trainer: LoRA on a model's body plus one linear head per output field.

    bizztune train --trainer head --model gemma3-270m --data data/split --out runs/train/head
    bizztune eval --provider gemma3-270m --adapter runs/train/head --data tickets:foreign

One forward pass per ticket and no decoding: the body reads the task's own chat prompt, the
state it ends in (the last token, where an answer would start) goes through a LayerNorm and a
linear layer per field, and the loss is the cross-entropy of every field. The folder it writes
is a PEFT adapter with ``heads.json`` and ``heads.safetensors`` beside it
(``bizztune.models.heads``); the local providers recognise it by ``heads.json`` and answer
with the heads, with a probability for every label. ``quantization: nf4`` trains the same on
a 4-bit base (QLoRA).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bizztune.core.interfaces import Task
from bizztune.data.locks import output_guard
from bizztune.trainers.config import HeadConfig, Quantization
from bizztune.trainers.lora.run_folder import default_out


@dataclasses.dataclass
class HeadTrainer:
    name: str = "head"
    quantization: Quantization | None = None
    config_type: type[HeadConfig] = HeadConfig

    def train(self, task: Task, config: HeadConfig) -> Path:
        from bizztune.trainers.head.loop import train_heads

        cfg = dataclasses.replace(config, trainer=self.name, quantization=self.quantization)
        out = Path(cfg.out) if cfg.out else default_out(task.name, cfg)
        # One writer per output folder, as the LoRA trainers: a second process fails at once,
        # and the output is never the data or the base model it reads.
        inputs = [("--data", cfg.data), ("--model", cfg.model)]
        with output_guard(out, folder=True, inputs=inputs):
            return train_heads(task, dataclasses.replace(cfg, out=str(out)))
