"""What kind of adapter folder a path is and what base it records, without importing torch
(the CLI and the provider factories ask before loading anything).

    is_head_adapter("runs/train/head")      # True: the head trainer's folder (heads.json)
    recorded_base("gemma3-270m")            # what an adapter records as its base model
"""

from __future__ import annotations

from pathlib import Path

HEADS_CONFIG = "heads.json"
HEADS_WEIGHTS = "heads.safetensors"


def is_head_adapter(path: str | Path | None) -> bool:
    """Whether an adapter folder was written by the head trainer (it has ``heads.json``)."""
    return path is not None and (Path(path) / HEADS_CONFIG).is_file()


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
