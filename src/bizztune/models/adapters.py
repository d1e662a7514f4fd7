"""What an adapter folder is and what it was trained with, without importing torch (the CLI,
the evaluator and the provider factories ask before loading anything).

    is_head_adapter("runs/train/head")      # True: the head trainer's folder (heads.json)
    adapter_style("runs/train/head")        # "compact": the prompt it was trained on
    style, warning = prompt_style(None, "runs/train/head")   # the adapter's style is the default
    recorded_base("gemma3-270m")            # what an adapter records as its base model
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from bizztune.core.interfaces import PromptStyle

HEADS_CONFIG = "heads.json"
HEADS_WEIGHTS = "heads.safetensors"
TRAIN_CONFIG = "train_config.json"
STYLES = ("long", "compact")


def is_head_adapter(path: str | Path | None) -> bool:
    """Whether an adapter folder was written by the head trainer (it has ``heads.json``)."""
    return path is not None and (Path(path) / HEADS_CONFIG).is_file()


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def adapter_style(adapter: str | Path | None) -> PromptStyle | None:
    """The prompt style an adapter was trained on (its train_config.json, else its
    heads.json), or None when it does not say (no adapter, one trained elsewhere)."""
    if adapter is None:
        return None
    train = _json(Path(adapter) / TRAIN_CONFIG)
    style = train.get("train", {}).get("style") if isinstance(train, dict) else None
    if style is None:
        heads = _json(Path(adapter) / HEADS_CONFIG)
        style = heads.get("style") if isinstance(heads, dict) else None
    return cast(PromptStyle, style) if style in STYLES else None


def prompt_style(
    given: PromptStyle | None, adapter: str | Path | None
) -> tuple[PromptStyle, str | None]:
    """The prompt style to run an adapter with, and a one-line warning or None. The adapter's
    own style is the default everywhere (eval, serve), so the same adapter is asked the same
    way; an explicit other style is honoured with a warning, and without an adapter that
    says, the default is ``long``."""
    trained = adapter_style(adapter)
    if given is None:
        return trained or "long", None
    if trained is not None and given != trained:
        return given, (
            f"warning: --style {given}: the adapter {adapter} was trained on the {trained} "
            f"prompt, so it reads a prompt it never saw; leave --style out to use {trained}"
        )
    return given, None


def recorded_base(model: str) -> str:
    """What an adapter records as its base model (``base_model_name_or_path``): an embedded
    model's name, resolved to the converted folder of the ``BIZZTUNE_HOME`` of whoever loads
    it, never that folder's absolute path (a run folder moves to other machines and homes);
    a local folder or ``.gguf`` file as an absolute path."""
    from bizztune.models.embedded import EMBEDDED

    if model in EMBEDDED:
        return model
    return str(Path(model).expanduser().resolve())


def base_from_record(base: str) -> str:
    """The ``--model`` of an adapter's recorded base: an embedded model's name as is, and the
    converted folder of an embedded model (``<home>/models/<name>``, what adapters recorded
    before names) as that name, so the current home's copy is loaded, not the old path's."""
    from bizztune.models.embedded import EMBEDDED, MARKER

    path = Path(base)
    if base in EMBEDDED:
        return base
    cached = path.name in EMBEDDED and path.parent.name == "models"
    if cached and (not path.exists() or (path / MARKER).is_file()):
        return path.name
    return base
