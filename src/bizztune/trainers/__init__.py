"""Trainers turn a task's data into an adapter folder. ``config.py`` is the TrainConfig every
trainer receives; ``lora/`` the built-in LoRA trainer; ``head/`` LoRA with a linear head per field; ``export.py`` merges an adapter into its
base. Registered here (factories import the trainer, and torch with it, only when called):

bizztune train --trainer lora --model smollm2-135m --out runs/train/lora
bizztune train --trainer qlora --model smollm2-135m --out runs/train/qlora
bizztune train --trainer qlora-fsdp --nproc 2 --out runs/train/fsdp
bizztune train --trainer head --model gemma3-270m --out runs/train/head
"""

from __future__ import annotations

from collections.abc import Callable

from bizztune.core.hookspecs import Register, hookimpl
from bizztune.core.interfaces import Trainer
from bizztune.trainers.config import Quantization


def _trainer(
    name: str, quantization: Quantization | None = None, fsdp: bool = False
) -> Callable[[], Trainer]:
    def factory() -> Trainer:
        from bizztune.trainers.lora import LoraTrainer

        return LoraTrainer(name, quantization, fsdp)

    return factory


def _head(name: str, quantization: Quantization | None = None) -> Callable[[], Trainer]:
    def factory() -> Trainer:
        from bizztune.trainers.head import HeadTrainer

        return HeadTrainer(name, quantization)

    return factory


@hookimpl
def register_trainers(register: Register) -> None:
    register(
        "lora",
        _trainer("lora"),
        description="LoRA on a 16-bit base (bf16 where the CPU/GPU has it); default on CPU",
    )
    register(
        "qlora",
        _trainer("qlora", "nf4"),
        description="QLoRA: 4-bit NF4 base with double quantization (bitsandbytes) + LoRA",
    )
    register(
        "qlora-fsdp",
        _trainer("qlora-fsdp", "nf4", fsdp=True),
        description="QLoRA under FSDP2 in --nproc processes (GPUs; CPU with gloo and LoRA)",
        aliases=("fsdp",),
    )
    register(
        "head",
        _head("head"),
        description="LoRA + one linear head per field on the last state: one forward pass per "
        "item, no decoding, a probability for every label",
    )
    register(
        "qlora-head",
        _head("qlora-head", "nf4"),
        description="the head trainer on a 4-bit NF4 base (QLoRA)",
    )
