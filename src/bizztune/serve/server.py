"""Load the model once, then serve it with uvicorn until SIGINT/SIGTERM.

    from bizztune.serve.server import serve
    cfg = ServeConfig(model="smollm2-135m", adapter="runs/train/lora")
    serve(cfg, load_task(cfg.task), registry())

The model is the registered local provider ``bizztune eval`` uses (``hf``: constrained
decoding, or a head trainer's heads), loaded with the same ProviderConfig, so a served answer
is the in-process answer. On a signal uvicorn stops accepting connections, lets the requests
in flight finish (up to ``graceful_timeout_s``), then the worker answers what is queued and
ends. The bearer key is read from ``BIZZTUNE_SERVE_KEY`` and never printed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bizztune.core.errors import ConfigError, MissingDependencyError
from bizztune.core.interfaces import ProviderConfig, Task
from bizztune.core.registry import Registry
from bizztune.models.adapters import adapter_style, prompt_style
from bizztune.serve.config import KEY_ENV, ServeConfig

if TYPE_CHECKING:
    from bizztune.serve.app import ServeState

log = logging.getLogger("bizztune.serve")


def adapter_identity(adapter: str | None) -> dict[str, Any]:
    """The adapter's folder name and a short hash of its weights, so clients can tell
    versions; never its path (``/health`` answers without a key)."""
    if adapter is None:
        return {"adapter": None, "adapter_sha256": None}
    folder = Path(adapter)
    weights = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))
    h = hashlib.sha256()
    for w in weights:
        with w.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return {
        "adapter": folder.resolve().name,
        "adapter_sha256": h.hexdigest()[:16] if weights else None,
    }


def model_name(model: str) -> str:
    """How responses name the base model: an embedded model's name, a local folder's or
    file's name, never its path on this machine."""
    return Path(model).name if ("/" in model or Path(model).exists()) else model


def warm_up(provider: Any, task: Any, style: Any) -> None:
    """Answer two made-up tickets that differ from their first input on. Their common prompt
    prefix is the task's prompt template, which the local provider keeps: later requests,
    alone or a few at a time, start from it instead of running the whole prompt."""
    from bizztune.serve.bodies import Limits, classify_requests

    tickets = [{k: c * 8 for k in task.input_fields} for c in ("A", "Z")]
    reqs = classify_requests({"items": tickets}, task, style, Limits(2, 10**6))
    list(provider.complete(reqs, task.schema))


def build_state(cfg: ServeConfig, task: Task, plugins: Registry, key: str | None) -> ServeState:
    """The provider loaded, its batcher and the app's state (model loading takes the time);
    ``task`` is ``cfg.task`` resolved, ``plugins`` resolves the provider names."""
    from bizztune.serve.app import ServeState
    from bizztune.serve.batcher import Batcher

    if cfg.adapter is not None and not Path(cfg.adapter).is_dir():
        raise ConfigError(f"--adapter {cfg.adapter}: no such folder")
    cfg.style, warning = prompt_style(cfg.style, cfg.adapter)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    if cfg.combine_with:
        check_combined(cfg, plugins)  # before the model loads: a bad flag fails at once
    provider = plugins.load_provider(
        ProviderConfig(
            name=cfg.provider,
            model=cfg.model,
            adapter=cfg.adapter,
            decoding=cfg.decoding,
            batch_size=cfg.max_batch,
            device=cfg.device,
            dtype=cfg.dtype,
            seed=cfg.seed,
            extra=dict(cfg.extra),
            task=task,
        )
    )
    chat_refusal = None
    if cfg.combine_with:
        provider, chat_refusal = combined(provider, cfg, task, plugins)
    warm_up(provider, task, cfg.style)
    name = cfg.served_name or Path(cfg.adapter or cfg.model).resolve().name
    identity = {
        "model": name,
        "base_model": model_name(cfg.model),
        **adapter_identity(cfg.adapter),
        "task": task.name,
        "decoding": cfg.decoding,
        "style": cfg.style,
        **({"combined_with": cfg.combine_with} if cfg.combine_with else {}),
    }
    batcher = Batcher(
        provider,
        task.schema,
        max_batch=cfg.max_batch,
        max_wait_s=cfg.max_wait_ms / 1000,
        max_queue=cfg.max_queue,
    )
    # A chat that is the task's prompt is asked in the style the adapter was trained on.
    chat_style = cfg.style if adapter_style(cfg.adapter) is not None else None
    return ServeState(
        cfg, task, batcher, identity, key=key, chat_refusal=chat_refusal, chat_style=chat_style
    )


def check_combined(cfg: ServeConfig, plugins: Registry) -> None:
    """ConfigError for a ``--combine-with`` that is not a provider, or that learns from
    labelled tickets without ``--train-data``."""
    name = str(cfg.combine_with)
    if plugins.provider(name).needs.fittable and cfg.train_data is None:
        raise ConfigError(
            f"--combine-with {name} learns from labelled tickets: pass --train-data (the run's "
            f"data/split folder, or a labelled file)"
        )


def combined(model: Any, cfg: ServeConfig, task: Task, plugins: Registry) -> tuple[Any, str | None]:
    """The model pooled with ``--combine-with`` (fitted on ``--train-data`` when it learns),
    and why chat requests are refused (a member that reads the ticket's fields, not a chat)."""
    from bizztune.core.interfaces import Fittable
    from bizztune.data.io import has_split, load_examples
    from bizztune.data.sources import resolve_train_data
    from bizztune.providers.combined import CombinedProvider

    name = str(cfg.combine_with)
    other = plugins.load_provider(ProviderConfig(name=name, seed=cfg.seed))
    refusal = None
    if isinstance(other, Fittable):
        assert cfg.train_data is not None  # build_state ran check_combined before the model
        path = resolve_train_data(task, cfg.train_data, flag="--train-data")
        train = load_examples(path, task, "train" if has_split(path, "train") else None)
        other.fit(train, task.schema)
        refusal = (
            f"this server pools the model with {name}, which reads a ticket's fields, not a "
            f"chat: send tickets to /v1/classify"
        )
    return CombinedProvider([model, other], cfg.combine_weights), refusal


def check_port(host: str, port: int) -> None:
    """ConfigError when ``host:port`` cannot be listened on (taken, or not this machine's)."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            s.bind((host, port))
    except OSError as e:
        raise ConfigError(
            f"--host {host} --port {port}: cannot listen there ({e.strerror or e}); "
            "choose another --port, or stop what is using it"
        ) from None


def serve(cfg: ServeConfig, task: Task, plugins: Registry, log_level: str = "info") -> None:
    """Load the model, then serve it until SIGINT/SIGTERM (``task``: ``cfg.task`` resolved)."""
    try:
        import uvicorn

        from bizztune.serve.app import create_app
    except ImportError as e:
        raise MissingDependencyError(e.name or "fastapi", "serve") from None
    check_port(cfg.host, cfg.port)  # before the model loads: a taken port fails at once
    key = os.environ.get(KEY_ENV, "").strip() or None
    state = build_state(cfg, task, plugins, key)
    app = create_app(state)
    config = uvicorn.Config(
        app,
        host=cfg.host,
        port=cfg.port,
        log_level=log_level,
        timeout_graceful_shutdown=int(cfg.graceful_timeout_s),
        # The access log holds method, path and status only: no body, no header.
        access_log=log_level == "debug",
    )
    print(
        f"serving {state.identity['model']} ({cfg.decoding}, task {state.task.name}) on "
        f"http://{cfg.host}:{cfg.port}/v1; bearer key {'required' if key else 'off'}",
        flush=True,
    )
    # uvicorn re-raises the signal that stopped it once it has shut down gracefully; handlers
    # that only note it let the process print its summary and exit 0 instead of dying by it.
    received: list[int] = []
    before = {
        sig: signal.signal(sig, lambda signum, frame: received.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        uvicorn.Server(config).run()
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    stats = state.batcher.stats
    print(
        f"stopped: {stats.items} items answered in {stats.batches} micro-batches "
        f"({stats.failed_batches} failed), {state.batcher.pending} left unanswered",
        flush=True,
    )
