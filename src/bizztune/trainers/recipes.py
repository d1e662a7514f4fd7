"""Named training recipes, in one place: ``bizztune train``, ``bizztune run`` and ``bizztune
sweep`` all start from them, and flags (or a config's keys) override any value.

    bizztune train --recipe default --data runs/default/data/split     # the run's fine-tuning
    bizztune train --recipe smollm2-lora --max-steps 50
    bizztune run --config experiments/study-gpu.yaml                   # train.recipe: study-gpu

A recipe is a trainer and the values it changes from that trainer's config defaults (the
study's r=8, alpha=8 on q/k/v/o/gate, lr 2e-4, batch 8). A config that names no recipe gets
the one its trainer is tuned by (``recipe_for``); one that names neither gets ``default``. The
measurements behind each value are in docs/training.md and docs/research/.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bizztune.core.errors import ConfigError
from bizztune.trainers.config import TrainJob


@dataclass(frozen=True)
class Recipe:
    name: str
    trainer: str
    description: str
    params: Mapping[str, Any]
    """Values over the trainer's config defaults (the model and prompt style included)."""

    def values(self) -> dict[str, Any]:
        """The recipe as config keys: its trainer, its name and its values."""
        return {"trainer": self.trainer, "recipe": self.name, **self.params}


DEFAULT = Recipe(
    "default",
    "head",
    "Gemma 3 270M with one head per field, one epoch of 1,600 tickets on a 2-core CPU",
    {
        "model": "gemma3-270m",
        "style": "compact",
        "r": 16,
        "alpha": 32,
        "dropout": 0.0,
        "target_modules": ["all-linear"],
        "learning_rate": 1e-3,
        "warmup_ratio": 0.05,
        "batch_size": 8,
        "epochs": 1.0,
        "micro_batch_tokens": 1024,
        "head_pooling": "mean",
        "head_layers": 0.67,
        "lora_layers": 0.5,
        "head_refit": 0.01,
        "head_refit_mix": 0.5,
        "head_refit_tickets": 800,
    },
)
"""The default run's fine-tuning (chosen on tickets:foreign-dev, docs/research/): one epoch of
the 1,600 training tickets in batches of 8 at lr 1e-3 (200 steps; fresh tickets did better
than repeats), micro-batches of at most 1,024 padded tokens (the same steps, bounded memory),
the heads on the mean state of the body's first two thirds (12 of 18 layers) with no LoRA
dropout (a tie with the whole body's last state at 56% of its training time), LoRA on the top
6 of those 12 only (a step 1.58x as fast, level on dev), and after the last step the heads
refitted on the fine-tuned states of 800 training tickets (C = 0.01) and averaged half and half
with the heads as trained (urgency +4.1, joint +4.8 points on dev over three seeds, ~70 s)."""

SMOLLM2_LORA = Recipe(
    "smollm2-lora",
    "lora",
    "SmolLM2-135M-Instruct trained to write the answer, 200 steps of 4 on a 2-core CPU",
    {
        "model": "smollm2-135m",
        "style": "compact",
        "r": 16,
        "alpha": 32,
        "target_modules": ["all-linear"],
        "learning_rate": 2e-3,
        "warmup_ratio": 0.03,
        "batch_size": 4,
        "max_steps": 200,
    },
)
"""The generative recipe on CPU: a 135M model barely moves off its label prior with the
study's recipe in the few hundred steps a 2-core CPU affords; a larger rank on every linear
layer, a 10x learning rate and batches of 4 make it learn the task within 800 tickets
(docs/training.md, "The CPU recipe")."""

STUDY_GPU = Recipe(
    "study-gpu",
    "qlora",
    "the original study on one GPU: QLoRA of a 7B model, r=8 on q/k/v/o/gate, one epoch",
    {
        "style": "long",
        "quantization": "nf4",
        "warmup_ratio": 0.03,
        "batch_size": 4,
        "grad_accum": 4,
        "gradient_checkpointing": True,
    },
)
"""The study's set-up (experiments/study-gpu.yaml): a 4-bit NF4 base, LoRA r=8, alpha=8 on
q/k/v/o/gate at lr 2e-4 (the config defaults), 16 conversations per optimizer step, the long
prompt with the full taxonomy."""

RECIPES: dict[str, Recipe] = {r.name: r for r in (DEFAULT, SMOLLM2_LORA, STUDY_GPU)}


NONE = "none"
"""``--recipe none``: no recipe, the trainer's config defaults (for the LoRA trainers, the
original study's r=8, alpha=8 on q/k/v/o/gate, lr 2e-4, batch 8)."""


def recipe(name: str) -> Recipe | None:
    """The recipe ``name`` (None for ``none``); a ConfigError listing the recipes for any other."""
    if name == NONE:
        return None
    if name not in RECIPES:
        raise ConfigError(
            f"--recipe {name}: no such recipe; the recipes: {', '.join(RECIPES)}, or {NONE}"
        )
    return RECIPES[name]


TUNED_BY: dict[str, Recipe] = {
    "head": DEFAULT,
    "qlora-head": DEFAULT,
    "lora": SMOLLM2_LORA,
    "qlora": SMOLLM2_LORA,
    "qlora-fsdp": SMOLLM2_LORA,
    "fsdp": SMOLLM2_LORA,
}
"""The recipe a built-in trainer starts from when a config names none: its family's CPU
recipe. A trainer bizztune does not ship starts from its own config's defaults."""


def recipe_for(trainer: str | None) -> Recipe | None:
    """The recipe a config that names none starts from (``default`` when it names no trainer
    either)."""
    return DEFAULT if trainer is None else TUNED_BY.get(trainer)


def starting_values(name: str | None, trainer: str | None) -> dict[str, Any]:
    """The config keys a config starts from: recipe ``name``'s, or (None) ``recipe_for``'s
    for ``trainer``. A recipe named with another trainer keeps the recipe's values under that
    trainer."""
    chosen = recipe(name) if name is not None else recipe_for(trainer)
    values = chosen.values() if chosen is not None else {}
    if trainer is not None:
        values["trainer"] = trainer
    values.setdefault("trainer", TrainJob.trainer)  # --recipe none, no --trainer: lora
    return values


def resolve_values(
    config: Mapping[str, Any], flags: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The keys of a trainer's config: the recipe that ``flags`` or ``config`` name
    (``recipe``; none named: the one their trainer is tuned by), then ``config`` (a file's
    keys: a null there is a value) over it, then ``flags`` (a None there was not given)."""
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    layers = [dict(config), given]
    trainer = next((g["trainer"] for g in reversed(layers) if g.get("trainer")), None)
    name = next((g["recipe"] for g in reversed(layers) if g.get("recipe")), None)
    values = starting_values(name, trainer)
    for layer in layers:
        values.update(layer)
    return values
