"""Registration of the built-in trainers (factories import torch/transformers lazily).

bizztune train --trainer lora --model smollm2-135m --out runs/train/lora
bizztune train --trainer qlora --model smollm2-135m --out runs/train/qlora
bizztune train --trainer qlora-fsdp --nproc 2 --out runs/train/fsdp
"""

from __future__ import annotations

from typing import Any

from bizztune.core.hookspecs import Register


def _lora() -> Any:
    from bizztune.trainers.lora.recipe import LoraTrainer

    return LoraTrainer()


def _qlora() -> Any:
    from bizztune.trainers.lora.recipe import QLoraTrainer

    return QLoraTrainer()


def _fsdp() -> Any:
    from bizztune.trainers.lora.fsdp import FsdpTrainer

    return FsdpTrainer()


def register(register: Register) -> None:
    register(
        "lora",
        _lora,
        description="LoRA on a 16-bit base (bf16 where the CPU/GPU has it); default on CPU",
    )
    register(
        "qlora",
        _qlora,
        description="QLoRA: 4-bit NF4 base with double quantization (bitsandbytes) + LoRA",
    )
    register(
        "qlora-fsdp",
        _fsdp,
        description="QLoRA under FSDP2 in --nproc processes (GPUs; CPU with gloo and LoRA)",
        aliases=("fsdp",),
    )
