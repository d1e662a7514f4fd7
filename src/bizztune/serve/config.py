"""What ``bizztune serve`` runs and its limits; every field has a ``--flag`` of the same name.

cfg = ServeConfig(model="smollm2-135m", adapter="runs/train/lora", max_batch=16)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import PromptStyle

KEY_ENV = "BIZZTUNE_SERVE_KEY"
"""When set, every ``/v1`` route wants ``Authorization: Bearer <key>``."""


@dataclass
class ServeConfig:
    model: str
    """Embedded model name (smollm2-135m, gemma3-270m) or local HF folder."""
    adapter: str | None = None
    """A training folder (LoRA adapter or head trainer's heads) answered on top of ``model``."""
    task: str = "tickets"
    """Task name or YAML: its schema constrains every answer, its prompt builds /v1/classify's."""
    provider: str = "hf"
    """The registered local provider that owns the model (the one ``bizztune eval`` uses)."""
    decoding: Literal["free", "constrained"] = "constrained"
    style: PromptStyle | None = None
    """Prompt style of /v1/classify; None: the adapter's training style, else ``long``."""
    served_name: str | None = None
    """The model id of /v1/models and chat requests; None: the adapter's folder name, else
    the model's."""
    host: str = "127.0.0.1"
    port: int = 8000
    max_batch: int = 16
    """At most this many items run through the model in one micro-batch."""
    max_wait_ms: float = 10.0
    """How long the first item of a micro-batch waits for others to join it."""
    max_queue: int = 256
    """Items waiting or running; a request that would go over is refused with HTTP 429."""
    max_items: int = 64
    """Tickets per /v1/classify request."""
    max_body_bytes: int = 1_000_000
    """Larger bodies are refused with HTTP 413."""
    max_input_chars: int = 20_000
    """Characters of one ticket's inputs (classify) or of one chat's messages (chat)."""
    graceful_timeout_s: float = 30.0
    """On SIGINT/SIGTERM, requests in flight get this long to finish."""
    device: str | None = None
    dtype: str | None = None
    seed: int = 0
    extra: dict[str, object] = field(default_factory=dict)
    """Provider extras (``constrained_stages``, ``max_input_tokens``)."""
    combine_with: str | None = None
    """Another registered provider (``tfidf``) whose answers are pooled with the model's, as
    ``eval.combine`` scores them (``bizztune.providers.combined``); None: the model alone."""
    train_data: str | None = None
    """What a fittable ``combine_with`` (tfidf) learns from: the run's ``data/split`` folder
    (its train split) or a labelled file."""
    combine_weights: list[float] | None = None
    """The model's and ``combine_with``'s weights; None: equal."""

    def __post_init__(self) -> None:
        for name in ("max_batch", "max_queue", "max_items", "max_body_bytes", "max_input_chars"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
        if self.max_wait_ms < 0:
            raise ConfigError("--max-wait-ms must be >= 0")
        if self.graceful_timeout_s < 0:
            raise ConfigError("--graceful-timeout-s must be >= 0")
        if not 0 <= self.port < 65536:
            raise ConfigError(f"--port must be between 0 and 65535, not {self.port}")
        if self.decoding not in ("free", "constrained"):
            raise ConfigError(f"--decoding must be 'free' or 'constrained', not {self.decoding!r}")
        if (self.train_data or self.combine_weights) and not self.combine_with:
            raise ConfigError("--train-data and --combine-weights go with --combine-with")
        if self.combine_weights is not None:
            from bizztune.providers.combined import check_weights

            check_weights(self.combine_weights, 2, "--combine-weights")
        if self.style not in (None, "long", "compact"):
            raise ConfigError(f"--style must be 'long' or 'compact', not {self.style!r}")
