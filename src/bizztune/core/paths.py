"""Where bizztune keeps what it can rebuild: ``$BIZZTUNE_HOME`` or ``~/.cache/bizztune``.

home() / "data"                # the embedded default data sets (bizztune.data.sources)
home() / "models", "gguf"      # converted embedded models (bizztune.models.embedded)
responses_dir()                # paid API answers (bizztune.providers.api.cache)
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """Where bizztune keeps caches: ``$BIZZTUNE_HOME`` or ``~/.cache/bizztune``."""
    return Path(os.environ.get("BIZZTUNE_HOME") or Path.home() / ".cache" / "bizztune")


def responses_dir() -> Path:
    """The on-disk cache of API answers, shared by every command and run."""
    return home() / "cache" / "responses"
