"""The LoRA trainer: one recipe for ``lora``, ``qlora`` and ``qlora-fsdp``.

    load_trainer("qlora").train(task, LoraConfig(model="smollm2-135m", out="runs/train/q"))

``LoraTrainer`` is parametrised by what the three differ in: the base's quantization (16-bit or
NF4) and whether it runs in one process or under FSDP in ``--nproc`` processes. The recipe is
``run.py`` (model, data, the run); ``hf_trainer.py`` is transformers' Trainer as it runs
it; ``collate.py`` builds the sequences that carry loss on the answer only; ``run_folder.py``
is the output folder (resume rules, loss curve, summary); ``fsdp.py`` the launcher and worker.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bizztune.core.interfaces import Task
from bizztune.data.locks import output_guard
from bizztune.trainers.config import LoraConfig, Quantization
from bizztune.trainers.lora.fsdp import launch
from bizztune.trainers.lora.run import run_training
from bizztune.trainers.lora.run_folder import default_out


@dataclasses.dataclass
class LoraTrainer:
    """LoRA on a frozen base: 16-bit (bf16 where fast, else fp32) or 4-bit NF4 with double
    quantization (QLoRA), in one process or under FSDP2 in ``config.nproc`` processes."""

    name: str = "lora"
    quantization: Quantization | None = None
    fsdp: bool = False
    config_type: type[LoraConfig] = LoraConfig

    def train(self, task: Task, config: LoraConfig) -> Path:
        cfg = dataclasses.replace(config, trainer=self.name, quantization=self.quantization)
        out = Path(cfg.out) if cfg.out else default_out(task.name, cfg)
        # One writer per output folder (under FSDP the launcher holds it for its workers).
        inputs = [("--data", cfg.data), ("--model", cfg.model)]
        with output_guard(out, folder=True, inputs=inputs):
            cfg = dataclasses.replace(cfg, out=str(out))
            return launch(task, cfg) if self.fsdp else run_training(task, cfg)
