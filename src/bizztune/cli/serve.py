"""``bizztune serve``: flags to a ServeConfig, nothing more (docs/serving.md).

bizztune serve --model smollm2-135m --adapter runs/train/lora --port 8000
BIZZTUNE_SERVE_KEY=secret bizztune serve --model runs/export/merged --max-batch 32
"""

from __future__ import annotations

from typing import Any

import click


@click.command("serve")
@click.option(
    "--model",
    "-m",
    help="Embedded model name or local HF folder (default: the adapter's base model).",
)
@click.option("--adapter", "-a", help="Training folder to answer with (LoRA or head trainer).")
@click.option("--task", "-t", default="tickets", show_default=True, help="Task name or YAML.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option(
    "--decoding",
    type=click.Choice(["constrained", "free"]),
    default="constrained",
    show_default=True,
)
@click.option(
    "--style",
    type=click.Choice(["long", "compact"]),
    help="Prompt of /v1/classify (default: the adapter's training style, else long).",
)
@click.option("--served-name", help="Model id for /v1/models (default: adapter or model name).")
@click.option("--max-batch", type=int, default=16, show_default=True, help="Items per micro-batch.")
@click.option(
    "--max-wait-ms",
    type=float,
    default=10.0,
    show_default=True,
    help="How long a micro-batch waits to fill.",
)
@click.option(
    "--max-queue",
    type=int,
    default=256,
    show_default=True,
    help="Items waiting or running; more get HTTP 429.",
)
@click.option(
    "--max-items", type=int, default=64, show_default=True, help="Tickets per /v1/classify request."
)
@click.option("--max-body-bytes", type=int, default=1_000_000, show_default=True)
@click.option(
    "--max-input-chars",
    type=int,
    default=20_000,
    show_default=True,
    help="Characters of a ticket's inputs or of a chat's messages.",
)
@click.option(
    "--graceful-timeout-s",
    type=float,
    default=30.0,
    show_default=True,
    help="On SIGTERM, time for requests in flight to finish.",
)
@click.option(
    "--combine-with",
    help="Pool the model's answers with this provider's (tfidf), "
    "as the run's combined model (docs/serving.md).",
)
@click.option("--train-data", help="What --combine-with tfidf learns from: the run's data/split.")
@click.option("--combine-weights", help="The model's and --combine-with's weights, e.g. 0.5,0.5.")
@click.option("--device", help="cpu, cuda, cuda:1 (default: cuda if available).")
@click.option("--dtype", help="float32, bfloat16, float16 (default: by device).")
@click.option(
    "--log-level",
    type=click.Choice(["warning", "info", "debug"]),
    default="info",
    show_default=True,
    help="debug adds uvicorn's access log (no bodies).",
)
def serve_cmd(
    model: str | None,
    adapter: str | None,
    log_level: str,
    combine_weights: str | None,
    **kw: Any,
) -> None:
    """Serve a model (and adapter) over HTTP: /v1/classify, OpenAI /v1/chat/completions."""
    from pathlib import Path

    from bizztune.cli.common import floats
    from bizztune.core.errors import ConfigError
    from bizztune.models.loading import adapter_base
    from bizztune.plugins import load_task, registry
    from bizztune.serve.config import ServeConfig
    from bizztune.serve.server import serve

    if model is None:
        base = adapter_base(Path(adapter)) if adapter else None
        if base is None:
            raise ConfigError("--model is required (an --adapter names its base model otherwise)")
        model = base
    weights = floats(combine_weights, "--combine-weights")
    cfg = ServeConfig(model=model, adapter=adapter, combine_weights=weights, **kw)
    serve(cfg, load_task(cfg.task), registry(), log_level=log_level)
