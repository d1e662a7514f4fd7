"""What kind of adapter folder a path is, without importing torch (the CLI and the provider
factories ask before loading anything).

    is_head_adapter("runs/train/head")   # True: the head trainer's folder (heads.json)
"""

from __future__ import annotations

from pathlib import Path

HEADS_CONFIG = "heads.json"
HEADS_WEIGHTS = "heads.safetensors"


def is_head_adapter(path: str | Path | None) -> bool:
    """Whether an adapter folder was written by the head trainer (it has ``heads.json``)."""
    return path is not None and (Path(path) / HEADS_CONFIG).is_file()
