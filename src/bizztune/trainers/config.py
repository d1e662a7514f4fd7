"""Each trainer's typed parameters: the job every trainer shares, then one config per family.

    from bizztune.trainers.config import HeadConfig, LoraConfig
    cfg = LoraConfig(model="smollm2-135m", out="runs/train/smollm2")
    cfg = HeadConfig(**RECIPES["default"].params, data="data/split")

``TrainJob`` (``core/interfaces.py``, beside the Trainer protocol) is what every trainer's config
extends, a third-party one included: what to train and where. ``TrainConfig`` adds what both built-in
families read: the adapter, the optimiser and how it runs. ``LoraConfig`` (``lora``, ``qlora``,
``qlora-fsdp``: the transformers Trainer) and ``HeadConfig`` (``head``, ``qlora-head``) add their
own. A trainer says which it takes (``Trainer.config_type``); ``build_config`` makes it from
YAML, a recipe and flags (flags over YAML over the recipe over the defaults), and a key the
trainer does not have is one line naming it. The resolved config is written next to the
adapter as ``train_config.json``, every field, with ``TRAIN_CONFIG_VERSION``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from bizztune.core.config import build
from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import TrainJob

TRAIN_CONFIG_VERSION = 2
"""Of a trainer's config as recorded and fingerprinted. 2: one config type per trainer, every
field recorded (1: one flat config shared by all trainers, default head keys left out)."""
Quantization = Literal["nf4"]
Bf16 = Literal["auto", True, False]
PaddingFree = Literal["auto", True, False]
Scheduler = Literal["cosine", "linear", "constant", "constant_with_warmup"]
ReportTo = Literal["none", "tensorboard", "mlflow", "wandb"]
TRACKERS = ("none", "tensorboard", "mlflow", "wandb")
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj")
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
C = TypeVar("C", bound="TrainJob")


@dataclass
class TrainConfig(TrainJob):
    """LoRA on a frozen base, an optimiser and a loop: what both built-in families read."""

    quantization: Quantization | None = None
    """"nf4": the frozen base in 4-bit NF4 with double quantization (QLoRA); None: a 16-bit
    base. The qlora trainers set it (--quantization)."""
    r: int = 8
    """LoRA rank (--r)."""
    alpha: int = 8
    """LoRA alpha; the update is scaled by alpha / r (--alpha)."""
    dropout: float = 0.05
    """Dropout on the LoRA branch (--dropout)."""
    target_modules: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))
    """Linear layers that get LoRA adapters, comma separated, or all-linear (--target-modules)."""
    epochs: float = 1.0
    """Passes over the train split (--epochs); ignored when max_steps is set."""
    max_steps: int | None = None
    """Stop after this many optimizer steps (--max-steps); None: run all epochs."""
    learning_rate: float = 2e-4
    """Peak AdamW learning rate (--learning-rate / --lr)."""
    lr_scheduler: Scheduler = "cosine"
    """Learning-rate schedule after warmup."""
    warmup_ratio: float = 0.05
    """Fraction of steps with a linear warmup."""
    weight_decay: float = 0.0
    """AdamW weight decay on the trained weights."""
    batch_size: int = 8
    """Examples per device per micro-batch (--batch-size)."""
    grad_accum: int = 1
    """Micro-batches accumulated per optimizer step (--grad-accum)."""
    max_seq_len: int | None = None
    """Prompt tokens kept (--max-seq-len). None: the LoRA trainers fit it to the longest
    training conversation (an answer that would be cut is an error); the head trainer keeps
    512 and cuts longer tickets in the middle."""
    bf16: Bf16 = "auto"
    """Compute in bfloat16 (auto, true, false). auto: on CUDA with bf16 support and on CPUs
    with AVX512-BF16/AMX (where bf16 matmul is ~3x faster than fp32), fp32 otherwise."""
    padding_free: PaddingFree = "auto"
    """Run each conversation as its own unpadded micro-batch and accumulate ``batch_size`` of
    them per optimizer step (auto, true, false): attention then needs no mask, and PyTorch
    runs its fused causal kernel. The optimizer sees the same examples per step either way.
    auto: the LoRA trainers on CPU when conversations average >= 512 tokens (the long prompt:
    1.04-1.08x faster, 40% less memory on the 2-core CPU); the head trainer only when true."""
    eval_steps: int | None = None
    """Validation loss every N optimizer steps (--eval-steps). None: about 5 times per run;
    0 disables validation."""
    save_steps: int | None = None
    """A resumable checkpoint every N steps (--save-steps). None: at each evaluation."""
    limit_train: int | None = None
    """Train on a seeded sample of N training examples (--limit-train)."""
    limit_val: int | None = 64
    """Validation loss on the first N validation examples; None: all."""
    device: str | None = None
    """cpu, cuda, cuda:1 ... (--device). None: cuda if present, else cpu."""
    num_threads: int | None = None
    """torch CPU threads (--threads). None: torch's default."""
    report_to: ReportTo = "none"
    """Experiment tracker for training and validation loss (--report-to): tensorboard (event
    files under ``out/runs/``), mlflow (``MLFLOW_TRACKING_URI``, else ``./mlruns``), wandb
    (``WANDB_*`` variables), or none."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.target_modules, str):
            self.target_modules = [t.strip() for t in self.target_modules.split(",") if t.strip()]
        if isinstance(self.bf16, str) and self.bf16.lower() in ("true", "false", "auto"):
            self.bf16 = "auto" if self.bf16.lower() == "auto" else self.bf16.lower() == "true"
        if isinstance(self.padding_free, str) and self.padding_free.lower() in ("true", "false"):
            self.padding_free = self.padding_free.lower() == "true"
        self._check_adapter()
        self._check_optimizer()
        self._check_runtime()

    def _check_adapter(self) -> None:
        if self.quantization not in (None, "nf4"):
            raise ConfigError(f"--quantization must be 'nf4' or none, not {self.quantization!r}")
        if self.r < 1:
            raise ConfigError("--r (LoRA rank) must be at least 1")
        if self.alpha <= 0:
            raise ConfigError("--alpha (LoRA alpha) must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError("--dropout must be in [0, 1)")
        if not self.target_modules:
            raise ConfigError("--target-modules must name at least one module, e.g. q_proj,v_proj")

    def _check_optimizer(self) -> None:
        if self.epochs <= 0:
            raise ConfigError("--epochs must be positive")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError("--max-steps must be at least 1 (or unset to run all epochs)")
        if not 0.0 < self.learning_rate < 1.0:
            raise ConfigError(f"--learning-rate {self.learning_rate} is out of range (0, 1)")
        if self.lr_scheduler not in ("cosine", "linear", "constant", "constant_with_warmup"):
            raise ConfigError(
                "lr_scheduler must be cosine, linear, constant or constant_with_warmup"
            )
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError("warmup_ratio must be in [0, 1)")
        if self.weight_decay < 0:
            raise ConfigError("weight_decay must be >= 0")
        if self.batch_size < 1:
            raise ConfigError("--batch-size must be at least 1")
        if self.grad_accum < 1:
            raise ConfigError("--grad-accum must be at least 1")

    def _check_runtime(self) -> None:
        if self.max_seq_len is not None and self.max_seq_len < 16:
            raise ConfigError("--max-seq-len must be at least 16 tokens (or unset to fit the data)")
        if self.padding_free not in ("auto", True, False):
            raise ConfigError(
                f"padding_free must be auto, true or false, not {self.padding_free!r}"
            )
        if self.bf16 not in ("auto", True, False):
            raise ConfigError(f"bf16 must be auto, true or false, not {self.bf16!r}")
        if self.eval_steps is not None and self.eval_steps < 0:
            raise ConfigError("--eval-steps must be >= 0 (0 disables validation)")
        if self.save_steps is not None and self.save_steps < 1:
            raise ConfigError("--save-steps must be at least 1")
        if self.limit_train is not None and self.limit_train < 1:
            raise ConfigError("--limit-train must be a positive number of examples")
        if self.limit_val is not None and self.limit_val < 1:
            raise ConfigError("limit_val must be a positive number of examples")
        if self.num_threads is not None and self.num_threads < 1:
            raise ConfigError("--threads must be at least 1")
        if self.report_to not in TRACKERS:
            raise ConfigError(
                f"--report-to must be one of {', '.join(TRACKERS)}, not {self.report_to!r}"
            )


@dataclass
class LoraConfig(TrainConfig):
    """The LoRA trainers (``lora``, ``qlora``, ``qlora-fsdp``): the model learns to write the
    answer, in transformers' Trainer."""

    loraplus_ratio: float | None = None
    """LoRA+: the B matrices learn this many times faster than A (the paper suggests 16);
    None: plain LoRA, one learning rate."""
    gradient_checkpointing: bool = False
    """Recompute activations in backward to save memory (--gradient-checkpointing)."""
    group_by_length: bool = True
    """Batch conversations of similar length together, so little compute goes into padding
    (no effect with padding_free)."""
    logging_steps: int = 1
    """Log the training loss every N optimizer steps."""
    nproc: int = 1
    """Processes for qlora-fsdp (--nproc): one per GPU, or CPU processes with gloo."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.loraplus_ratio is not None and self.loraplus_ratio < 1:
            raise ConfigError(f"loraplus_ratio must be >= 1, not {self.loraplus_ratio}")
        if self.logging_steps < 1:
            raise ConfigError("logging_steps must be at least 1")
        if self.nproc < 1:
            raise ConfigError("--nproc must be at least 1")


@dataclass
class HeadConfig(TrainConfig):
    """The head trainer (``head``, ``qlora-head``): LoRA on the body and one linear head per
    field, in a plain PyTorch loop."""

    trainer: str = "head"
    head_pooling: Literal["last", "mean"] = "last"
    """What the heads read: the state of the prompt's last token, or the mean state over it."""
    head_layers: float | None = None
    """Keep only the body's first N transformer layers and read their output; below 1, a
    fraction of the depth (0.67 of Gemma 3 270M's 18: 12); None: every layer."""
    lora_layers: float | None = None
    """LoRA on the top N of the kept layers only; below 1, a fraction of them (0.5 of 12: the
    top 6). The backward pass stops above the rest: a cheaper step. None: every layer."""
    head_lr_ratio: float = 1.0
    """The zero-initialised heads (and their LayerNorm) learn this many times faster than the
    LoRA weights; 1: one learning rate for all."""
    class_weight: Literal["none", "balanced"] = "none"
    """"balanced": each example weighs ``N / (K * n_label)`` per field, so a rare label
    ("Hoch") gets as much of the gradient as a common one, and the trained heads are put back
    on the data's prior (trainers/head/balance.py); "none": every example counts the same."""
    field_weights: dict[str, float] | None = None
    """Each named field's loss counts this many times in the sum over fields ("urgency=3" or
    a mapping), so the shared LoRA weights lean towards it; None: every field once.
    Validation loss stays unweighted."""
    head_refit: float | None = None
    """After the last step, refit every head as a logistic regression with inverse L2
    strength C on the fine-tuned body's states of the training tickets (trainers/head/
    finish.py); None: the heads stay as trained."""
    head_refit_mix: float = 1.0
    """With head_refit: serve ``(1 - a)`` of the heads as trained plus ``a`` of the refitted
    ones (the same as averaging their logits); 1: the refitted heads alone."""
    head_refit_tickets: int | None = None
    """With head_refit: refit on a seeded sample of N training tickets; None: every one."""
    micro_batch_tokens: int | None = None
    """Cut each batch into micro-batches of at most N padded tokens and accumulate their
    gradients, the same optimizer step: a step's activation memory is bounded whatever the
    tickets' length. None: a batch runs whole."""
    time_budget: float | None = None
    """Minutes for the training loop: the number of steps is fitted to the throughput of the
    first steps and the schedule laid over it (train_summary.json records the choice); never
    more steps than epochs or max_steps ask for. None: no budget."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.head_pooling not in ("last", "mean"):
            raise ConfigError(f"head_pooling must be last or mean, not {self.head_pooling!r}")
        _check_layer_count("head_layers", self.head_layers, "of the depth")
        _check_layer_count("lora_layers", self.lora_layers, "of them")
        if not 0 < self.head_lr_ratio <= 1000:
            raise ConfigError(f"head_lr_ratio must be in (0, 1000], not {self.head_lr_ratio}")
        if self.class_weight not in ("none", "balanced"):
            raise ConfigError(f"class_weight must be none or balanced, not {self.class_weight!r}")
        self.field_weights = _field_weights(self.field_weights)
        if self.head_refit is not None and self.head_refit <= 0:
            raise ConfigError(f"head_refit must be a positive C, not {self.head_refit}")
        if not 0 < self.head_refit_mix <= 1:
            raise ConfigError(f"head_refit_mix must be in (0, 1], not {self.head_refit_mix}")
        if self.head_refit_tickets is not None and self.head_refit_tickets < 2:
            raise ConfigError(
                f"head_refit_tickets must be at least 2, not {self.head_refit_tickets}"
            )
        if self.head_refit is None and (
            self.head_refit_mix != 1.0 or self.head_refit_tickets is not None
        ):
            raise ConfigError("head_refit_mix and head_refit_tickets need head_refit (a C)")
        if self.micro_batch_tokens is not None and self.micro_batch_tokens < 16:
            raise ConfigError("micro_batch_tokens must be at least 16 (or unset)")
        if self.time_budget is not None and not self.time_budget > 0:
            raise ConfigError(
                f"time_budget must be a positive number of minutes, not {self.time_budget}"
            )


def build_config(config_type: type[C], data: Mapping[str, Any], where: str) -> C:
    """``config_type`` (a TrainJob) from ``data``; a key it does not have is one line naming
    the trainer, the key and the closest one it has."""
    from bizztune.tasks.parsing import nearest

    known = [f.name for f in dataclasses.fields(config_type)]
    for key in data:
        if key not in known:
            near = nearest(str(key), known, cutoff=0.6)
            hint = f"; did you mean '{near}'?" if near else ""
            trainer = data.get("trainer") or "this"
            raise ConfigError(
                f"{where}: '{key}' is not a parameter of the {trainer} trainer "
                f"({config_type.__name__}){hint}"
            )
    return build(config_type, dict(data), where)


def _check_layer_count(key: str, n: float | None, fraction_of: str) -> None:
    """A number of layers (1, 2, ...) or a fraction in (0, 1): what ``layer_count`` resolves."""
    if n is not None and not (0 < n < 1 or (n >= 1 and float(n).is_integer())):
        raise ConfigError(
            f"{key} must be a number of layers (1, 2, ...) or a fraction {fraction_of} "
            f"in (0, 1), not {n}"
        )


def _field_weights(given: Any) -> dict[str, float] | None:
    """field_weights: "urgency=3,category=1" (a flag) or a mapping (YAML), checked."""
    if given is None or given == {} or given == "":
        return None
    if isinstance(given, str):
        pairs = [kv.partition("=") for kv in given.split(",") if kv.strip()]
        if any(not sep or not k.strip() for k, sep, _ in pairs):
            raise ConfigError(
                f"field_weights takes field=weight pairs, e.g. urgency=3; got {given!r}"
            )
        given = {k.strip(): v.strip() for k, _, v in pairs}
    if not isinstance(given, dict):
        raise ConfigError(f"field_weights must map fields to weights, not {given!r}")
    out: dict[str, float] = {}
    for k, v in given.items():
        try:
            w = float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"field_weights {k}={v!r}: the weight must be a number") from None
        if not 0 < w <= 100:
            raise ConfigError(f"field_weights {k}={w}: the weight must be in (0, 100]")
        out[str(k)] = w
    return out
