"""On-disk cache of paid API answers, one small JSON file per answer.

    cache = ResponseCache(Path("~/.cache/bizztune/cache/responses").expanduser())
    key = cache_key({"provider": "openai", "model": "gpt-4o", "request": "...", "params": {}})
    if (hit := cache.get(key)) is None:
        cache.put(key, {"text": "...", "prompt_tokens": 50, "completion_tokens": 12})

Each answer is written the moment it arrives, to a temporary file that is then renamed over
its final name. The rename is atomic, so threads and processes sharing one cache never see a
half-written entry, and a run that crashes loses no answer that was already paid for.
Layout: ``<root>/<key[:2]>/<key>.json``; delete the folder to empty the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CACHE_VERSION = 1
"""Part of every key; bump it when the meaning of a cached entry changes."""


def cache_key(material: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of everything that decides an answer."""
    text = json.dumps(
        {"cache_version": CACHE_VERSION, **material},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """A directory of cached answers, safe to share between threads and processes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry, or None when absent or unreadable (then it is simply redone)."""
        try:
            entry = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) and isinstance(entry.get("text"), str) else None

    def put(self, key: str, entry: Mapping[str, Any]) -> None:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:8]}-", suffix=".tmp", dir=final.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(dict(entry), fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("??/*.json")) if self.root.is_dir() else 0
