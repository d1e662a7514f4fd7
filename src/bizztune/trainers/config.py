"""The typed training config shared by every built-in trainer (lora, qlora, qlora-fsdp).

    from bizztune.trainers.config import TrainConfig
    cfg = TrainConfig(model="smollm2-135m", out="runs/train/smollm2", trainer="lora")
    load_trainer("lora").train(task, cfg)

CLI flags override YAML (``bizztune train --config train.yaml``), YAML overrides these
defaults. The resolved config is written next to the adapter as ``train_config.json``.

``TrainConfig`` is one flat set of fields (one per ``bizztune train`` flag, one key per field in
YAML and in train_config.json), defined in four parts that each check their own values: what
to train (``TrainJob``), the adapter (``LoraParams``), the optimiser (``OptimizerParams``) and
how it runs (``RuntimeParams``). Code that reads one part says so in its signature.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from bizztune.core.errors import ConfigError

Quantization = Literal["nf4"]
Bf16 = Literal["auto", True, False]
PaddingFree = Literal["auto", True, False]
Scheduler = Literal["cosine", "linear", "constant", "constant_with_warmup"]
ReportTo = Literal["none", "tensorboard", "mlflow", "wandb"]
TRACKERS = ("none", "tensorboard", "mlflow", "wandb")
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj")
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class TrainJob:
    """What to train: the base model, the data, the task and where the adapter goes."""

    model: str = "smollm2-135m"
    """Base model: an embedded name (``smollm2-135m``) or a local HF folder (--model)."""
    data: str | None = None
    """Split directory with train.jsonl/val.jsonl; None: the task's embedded default (--data)."""
    out: str | None = None
    """Output folder for adapter, tokenizer, loss curve and config (--out).
    None: ``runs/train/<task>-<model>-<trainer>``."""
    task: str = "tickets"
    """Registered task name or task YAML path (--task)."""
    trainer: str = "lora"
    """Registered trainer: lora, qlora, qlora-fsdp or a plugin's (--trainer). The CLI and
    ``bizztune run`` pick the trainer by it; each trainer records its own name here."""
    style: Literal["long", "compact"] = "compact"
    """Prompt style used for training AND evaluation of this adapter (--style). Compact is ~3x
    fewer tokens, hence ~3x faster on CPU; the long prompt includes the full taxonomy."""

    def check_job(self) -> None:
        if not self.trainer or not isinstance(self.trainer, str):
            raise ConfigError("--trainer must name a registered trainer (see 'bizztune plugins')")
        if self.style not in ("long", "compact"):
            raise ConfigError(f"--style must be 'long' or 'compact', not {self.style!r}")


@dataclass
class LoraParams:
    """The adapter: which layers get LoRA, its rank and scale, and the base's quantization."""

    quantization: Quantization | None = None
    """"nf4": load the frozen base in 4-bit NF4 with double quantization (QLoRA). None: 16-bit
    base (LoRA). The qlora/qlora-fsdp trainers set it to "nf4" (--quantization)."""
    r: int = 8
    """LoRA rank (--r)."""
    alpha: int = 8
    """LoRA alpha; the update is scaled by alpha / r (--alpha)."""
    dropout: float = 0.05
    """Dropout on the LoRA branch (--dropout)."""
    target_modules: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))
    """Linear layers that get LoRA adapters; "all-linear" is accepted too (--target-modules,
    comma separated)."""
    loraplus_ratio: float | None = None
    """LoRA+ (--loraplus-ratio): the B matrices learn this many times faster than A (the
    paper suggests 16); None: plain LoRA, one learning rate."""
    head_pooling: str = "last"
    """Head trainer only (--head-pooling): what the heads read, the state of the prompt's
    last token ("last"), the mean state over the prompt ("mean"), per field a learned
    attention over the prompt's states that starts as the mean ("attn"), or the mean state
    beside the mean of the prompt's input embeddings ("mean+embed": the words as such, which
    the deeper states blur; docs/research/)."""
    head_init: str = "zero"
    """Head trainer only (--head-init): how the heads start. "zero": they predict the uniform
    distribution; "probe": a logistic regression per field on the frozen body's states of the
    training tickets, then LoRA and heads train on from there (linear probing, then
    fine-tuning: LP-FT, Kumar et al. 2022; the features are distorted less on the way)."""
    class_weight: str = "none"
    """Head trainer only (--class-weight): "balanced" weights each example by ``N / (K *
    n_label)`` per field, so a rare label ("Hoch") gets as much of the gradient as a common
    one, and puts the trained heads back on the data's prior (trainers/head/balance.py);
    "none": every example counts the same."""
    head_refit: float | None = None
    """Head trainer only (--head-refit C): after the last step, refit every head as a logistic
    regression with inverse L2 strength C on the fine-tuned body's states of the training
    tickets (last-layer retraining, trainers/head/finish.py); one more pass over them. None:
    the heads stay as trained."""
    head_refit_mix: float = 1.0
    """Head trainer only (--head-refit-mix a, with --head-refit): the served heads are
    ``(1 - a)`` of the heads as trained plus ``a`` of the refitted ones (weights and biases:
    the same as averaging their logits); 1: the refitted heads alone."""
    head_refit_tickets: int | None = None
    """Head trainer only (--head-refit-tickets N, with --head-refit): refit on a seeded sample
    of N training tickets (the pass over them is the refit's cost); None: every one."""
    field_weights: dict[str, float] | None = None
    """Head trainer only (--field-weights urgency=3): each named field's loss counts this many
    times in the sum over fields (a field not named: once), so the shared LoRA weights lean
    towards the heavier fields; None: every field once. Validation loss stays unweighted."""
    head_rationale: dict[str, float] | None = None
    """Head trainer only, with --head-pooling attn (--head-rationale urgency=1): for each named
    field, an extra loss of this weight that teaches the field's attention query where to look:
    the cross-entropy of its attention over the prompt's tokens against the words that a
    word-level TF-IDF regression, fitted on the same training tickets, finds pushing towards
    the ticket's gold label (trainers/head/rationale.py; rationale supervision, Zaidan et al.
    2007, Bao et al. 2018). None: the queries learn from the labels alone."""
    head_layers: float | None = None
    """Head trainer only (--head-layers): keep only the body's first N transformer layers and
    read their output; a value below 1 is a fraction of the body's depth (0.67 of Gemma 3
    270M's 18 layers: 12); None: every layer. Fewer layers: less compute per ticket."""
    lora_layers: float | None = None
    """Head trainer only (--lora-layers): LoRA on the top N of the (kept) layers only; a value
    below 1 is a fraction of them (0.5 of 12: the top 6). The layers below get no adapter, so
    the backward pass stops above them: a step costs less (benchmarks/lora_layers.py). None:
    every layer."""

    def check_lora(self) -> None:
        if isinstance(self.target_modules, str):
            self.target_modules = [t.strip() for t in self.target_modules.split(",") if t.strip()]
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
        if self.loraplus_ratio is not None and self.loraplus_ratio < 1:
            raise ConfigError(f"loraplus_ratio must be >= 1, not {self.loraplus_ratio}")
        if self.head_pooling not in ("last", "mean", "attn", "mean+embed"):
            raise ConfigError(
                f"--head-pooling must be last, mean, attn or mean+embed, not {self.head_pooling!r}"
            )
        if self.head_init not in ("zero", "probe"):
            raise ConfigError(f"--head-init must be zero or probe, not {self.head_init!r}")
        if self.head_refit is not None and self.head_refit <= 0:
            raise ConfigError(f"--head-refit must be a positive C, not {self.head_refit}")
        if not 0 < self.head_refit_mix <= 1:
            raise ConfigError(f"--head-refit-mix must be in (0, 1], not {self.head_refit_mix}")
        if self.head_refit_tickets is not None and self.head_refit_tickets < 2:
            raise ConfigError(
                f"--head-refit-tickets must be at least 2, not {self.head_refit_tickets}"
            )
        if self.head_refit is None and (
            self.head_refit_mix != 1.0 or self.head_refit_tickets is not None
        ):
            raise ConfigError("--head-refit-mix and --head-refit-tickets need --head-refit C")
        self.field_weights = _field_weights(self.field_weights)
        self.head_rationale = _field_weights(self.head_rationale, "--head-rationale")
        if self.head_rationale and self.head_pooling != "attn":
            raise ConfigError(
                "--head-rationale teaches the attention queries of --head-pooling attn; "
                f"the heads read {self.head_pooling!r} pooling"
            )
        if self.class_weight not in ("none", "balanced"):
            raise ConfigError(f"--class-weight must be none or balanced, not {self.class_weight!r}")
        _check_layer_count("--head-layers", self.head_layers, "of the depth")
        _check_layer_count("--lora-layers", self.lora_layers, "of them")


@dataclass
class OptimizerParams:
    """How long and how fast: epochs or steps, learning rate and its schedule, batch size."""

    epochs: float = 1.0
    """Passes over the train split (--epochs); ignored when max_steps is set."""
    max_steps: int | None = None
    """Stop after this many optimizer steps (--max-steps); None: run all epochs."""
    learning_rate: float = 2e-4
    """Peak AdamW learning rate (--learning-rate / --lr)."""
    lr_scheduler: Scheduler = "cosine"
    """Learning-rate schedule after warmup (--lr-scheduler)."""
    warmup_ratio: float = 0.05
    """Fraction of steps with a linear warmup (--warmup-ratio)."""
    weight_decay: float = 0.0
    """AdamW weight decay on the LoRA weights (--weight-decay)."""
    batch_size: int = 8
    """Examples per device per micro-batch (--batch-size)."""
    grad_accum: int = 1
    """Micro-batches accumulated per optimizer step (--grad-accum)."""
    head_lr_ratio: float = 1.0
    """Head trainer only (--head-lr-ratio): the zero-initialised heads (and their LayerNorm)
    learn this many times faster than the LoRA weights; 1: one learning rate for all."""

    def check_optimizer(self) -> None:
        if self.epochs <= 0:
            raise ConfigError("--epochs must be positive")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError("--max-steps must be at least 1 (or unset to run all epochs)")
        if not 0.0 < self.learning_rate < 1.0:
            raise ConfigError(f"--learning-rate {self.learning_rate} is out of range (0, 1)")
        if self.lr_scheduler not in ("cosine", "linear", "constant", "constant_with_warmup"):
            raise ConfigError(
                "--lr-scheduler must be cosine, linear, constant or constant_with_warmup"
            )
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError("--warmup-ratio must be in [0, 1)")
        if self.weight_decay < 0:
            raise ConfigError("--weight-decay must be >= 0")
        if not 0 < self.head_lr_ratio <= 1000:
            raise ConfigError(f"--head-lr-ratio must be in (0, 1000], not {self.head_lr_ratio}")
        if self.batch_size < 1:
            raise ConfigError("--batch-size must be at least 1")
        if self.grad_accum < 1:
            raise ConfigError("--grad-accum must be at least 1")


@dataclass
class RuntimeParams:
    """How it runs: sequence length, memory and speed switches, seed, logging and checkpoints,
    processes, device and threads."""

    max_seq_len: int | None = None
    """Truncate longer conversations (--max-seq-len). None: fitted to the longest training
    conversation, so nothing is cut; an answer that would be cut is an error, not silent."""
    gradient_checkpointing: bool = False
    """Recompute activations in backward to save memory (--gradient-checkpointing)."""
    bf16: Bf16 = "auto"
    """Compute in bfloat16 (--bf16 auto|true|false). auto: on CUDA with bf16 support and on
    CPUs with AVX512-BF16/AMX (where bf16 matmul is ~3x faster than fp32), fp32 otherwise."""
    group_by_length: bool = True
    """Batch conversations of similar length together so little compute goes into padding
    (--group-by-length/--no-group-by-length). Has no effect when padding_free is on."""
    padding_free: PaddingFree = "auto"
    """Run each conversation as its own unpadded micro-batch and accumulate ``batch_size`` of
    them per optimizer step (--padding-free auto|true|false). Without padding, attention needs
    no mask, and PyTorch runs its fused causal kernel instead of materializing every attention
    matrix. The optimizer sees the same ``batch_size * grad_accum`` examples per step either
    way. auto: on CPU when conversations average >= 512 tokens (the long prompt: 1.04-1.08x
    faster, 40% less memory on the 2-core CPU); off for short ones (the compact prompt with
    the default recipe: 6% slower, though 37% less memory) and on CUDA, where masked attention
    is fused and wide batches pay."""
    micro_batch_tokens: int | None = None
    """head trainer: cut each batch into micro-batches of at most N padded tokens and
    accumulate their gradients, the same optimizer step (--micro-batch-tokens). Activation
    memory follows the tokens of a micro-batch, so this bounds a step's memory whatever the
    length of the tickets. None: a batch runs whole."""
    seed: int = 0
    """Seeds data order, LoRA init and dropout (--seed)."""
    eval_steps: int | None = None
    """Compute validation loss every N optimizer steps (--eval-steps). None: about 5 times per
    run; 0 disables validation."""
    logging_steps: int = 1
    """Log training loss every N optimizer steps (--logging-steps)."""
    save_steps: int | None = None
    """Write a resumable checkpoint every N steps (--save-steps). None: at each evaluation."""
    time_budget: float | None = None
    """head trainer: minutes for the training loop (--time-budget). The number of steps is
    fitted to the throughput measured in the first steps, and the learning-rate schedule is
    laid over it; train_summary.json records what was chosen. None: the steps the epochs or
    max_steps ask for. An upper bound only: it never adds steps."""
    limit_train: int | None = None
    """Train on the first N training examples only (--limit-train)."""
    limit_val: int | None = 64
    """Validation loss on the first N validation examples (--limit-val); None: all."""
    nproc: int = 1
    """Processes for qlora-fsdp (--nproc): one per GPU, or CPU processes with gloo."""
    resume: bool = False
    """Resume from the last checkpoint in ``out`` (--resume)."""
    device: str | None = None
    """cpu, cuda, cuda:1 ... (--device). None: cuda if present, else cpu."""
    num_threads: int | None = None
    """torch CPU threads (--threads). None: torch's default."""
    report_to: ReportTo = "none"
    """Experiment tracker the training loss and the validation loss go to (--report-to):
    tensorboard (event files under ``out/runs/``), mlflow (``MLFLOW_TRACKING_URI``, else
    ``./mlruns``), wandb (``WANDB_*`` variables), or none. Lora trainers only. Left out of
    train_config.json when none, so runs made before it keep their fingerprints."""

    def check_runtime(self) -> None:
        if isinstance(self.bf16, str) and self.bf16.lower() in ("true", "false", "auto"):
            low = self.bf16.lower()
            self.bf16 = "auto" if low == "auto" else low == "true"
        if self.max_seq_len is not None and self.max_seq_len < 16:
            raise ConfigError("--max-seq-len must be at least 16 tokens (or unset to fit the data)")
        if isinstance(self.padding_free, str) and self.padding_free.lower() in ("true", "false"):
            self.padding_free = self.padding_free.lower() == "true"
        if self.padding_free not in ("auto", True, False):
            raise ConfigError(
                f"--padding-free must be auto, true or false, not {self.padding_free!r}"
            )
        if self.bf16 not in ("auto", True, False):
            raise ConfigError(f"--bf16 must be auto, true or false, not {self.bf16!r}")
        if self.eval_steps is not None and self.eval_steps < 0:
            raise ConfigError("--eval-steps must be >= 0 (0 disables validation)")
        if self.logging_steps < 1:
            raise ConfigError("--logging-steps must be at least 1")
        if self.save_steps is not None and self.save_steps < 1:
            raise ConfigError("--save-steps must be at least 1")
        if self.limit_train is not None and self.limit_train < 1:
            raise ConfigError("--limit-train must be a positive number of examples")
        if self.limit_val is not None and self.limit_val < 1:
            raise ConfigError("--limit-val must be a positive number of examples")
        if self.time_budget is not None and not self.time_budget > 0:
            raise ConfigError(
                f"--time-budget must be a positive number of minutes, not {self.time_budget}"
            )
        if self.micro_batch_tokens is not None and self.micro_batch_tokens < 16:
            raise ConfigError("--micro-batch-tokens must be at least 16 (or unset)")
        if self.nproc < 1:
            raise ConfigError("--nproc must be at least 1")
        if self.num_threads is not None and self.num_threads < 1:
            raise ConfigError("--threads must be at least 1")
        if self.report_to not in TRACKERS:
            raise ConfigError(
                f"--report-to must be one of {', '.join(TRACKERS)}, not {self.report_to!r}"
            )


@dataclass
class TrainConfig(RuntimeParams, OptimizerParams, LoraParams, TrainJob):
    """One fine-tuning run. Every field maps to a ``bizztune train`` flag of the same name; the
    fields come in the order of the parts: job, LoRA, optimiser, runtime."""

    def __post_init__(self) -> None:
        self.check_job()
        self.check_lora()
        self.check_optimizer()
        self.check_runtime()

    def head_options_given(self) -> list[str]:
        """The head-trainer-only options set away from their defaults, as flags."""
        defaults = _defaults()
        return [f"--{k.replace('_', '-')}" for k in HEAD_ONLY if getattr(self, k) != defaults[k]]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        defaults = _defaults()
        # Absent means the default: earlier records (and run fingerprints) stay as they were.
        for key in ("report_to", *HEAD_ONLY):
            if d[key] == defaults[key]:
                del d[key]
        return d


HEAD_ONLY = (
    "head_pooling", "head_init", "head_layers", "class_weight", "head_refit", "head_refit_mix",
    "head_refit_tickets", "field_weights", "head_rationale", "lora_layers",
)  # fmt: skip
"""The options only the head trainer reads (``LoraParams``)."""


def _check_layer_count(flag: str, n: float | None, fraction_of: str) -> None:
    """A number of layers (1, 2, ...) or a fraction in (0, 1): what ``layer_count`` resolves."""
    if n is not None and not (0 < n < 1 or (n >= 1 and float(n).is_integer())):
        raise ConfigError(
            f"{flag} must be a number of layers (1, 2, ...) or a fraction {fraction_of} "
            f"in (0, 1), not {n}"
        )


def _field_weights(given: Any, flag: str = "--field-weights") -> dict[str, float] | None:
    """``--field-weights`` (or ``flag``): "urgency=3,category=1" (the flag) or a mapping
    (YAML), checked."""
    if given is None or given == {} or given == "":
        return None
    if isinstance(given, str):
        pairs = [kv.partition("=") for kv in given.split(",") if kv.strip()]
        if any(not sep or not k.strip() for k, sep, _ in pairs):
            raise ConfigError(f"{flag} takes field=weight pairs, e.g. urgency=3; got {given!r}")
        given = {k.strip(): v.strip() for k, _, v in pairs}
    if not isinstance(given, dict):
        raise ConfigError(f"{flag} must map fields to weights, not {given!r}")
    out: dict[str, float] = {}
    for k, v in given.items():
        try:
            w = float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"{flag} {k}={v!r}: the weight must be a number") from None
        if not 0 < w <= 100:
            raise ConfigError(f"{flag} {k}={w}: the weight must be in (0, 100]")
        out[str(k)] = w
    return out


def _defaults() -> dict[str, Any]:
    return {f.name: f.default for f in fields(TrainConfig)}
