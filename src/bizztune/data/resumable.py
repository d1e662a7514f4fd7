"""The append-only JSONL file of a generate run, and the summary of what a run wrote to it.

    rows = read_existing(out)                # complete rows; a torn last line is cut off
    app = Appender(out); app.write(row); app.close()

Rows are written one flushed line at a time, so an interrupt leaves whole lines or a torn tail.
Rerunning the same command keeps every complete line and writes only what is missing (both
writers: ``generate.generate_offline`` and ``llm_generate.generate_with_provider``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bizztune.core.errors import DataError

Progress = Callable[[int, int], None]
"""Called with (rows in the file, rows wanted) after every written row."""


@dataclass
class GenerateSummary:
    out: Path
    requested: int
    """Items asked for (``-n``)."""
    resumed: int = 0
    """Valid rows already in the file when the run started."""
    written: int = 0
    """Rows written by this run."""
    dropped: int = 0
    """Items given up after ``max_attempts`` invalid answers or failed requests."""
    invalid_answers: int = 0
    """Answers rejected by validation, retried ones included."""
    failed_requests: int = 0
    """Requests the provider gave up on (HTTP errors after its own retries)."""
    reasons: dict[str, int] = field(default_factory=dict)
    """Why answers were rejected: not JSON, missing field, out of taxonomy, ..."""
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    provider: str | None = None
    model: str | None = None
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.resumed + self.written

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        d["total"] = self.total
        return d


def read_existing(out: Path) -> list[dict[str, Any]]:
    """The complete rows of an earlier run; a torn last line (interrupted write) is cut off."""
    if not out.exists():
        return []
    raw = out.read_bytes()
    rows: list[dict[str, Any]] = []
    good_end = 0
    pos = 0
    for lineno, line in enumerate(raw.split(b"\n"), 1):
        end = pos + len(line) + 1
        last = end > len(raw)
        if line.strip():
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not an object")
            except ValueError:
                if last:
                    break  # torn final line: drop it below
                raise DataError(
                    f"{out}:{lineno}: not a JSON row; this file was not written by "
                    "'bizztune generate' or was edited: choose another --out"
                ) from None
            if last:
                break  # no newline yet: the write was interrupted before it finished
            rows.append(row)
        good_end = min(end, len(raw))
        pos = end
    if good_end < len(raw):
        with out.open("r+b") as fh:
            fh.truncate(good_end)
    return rows


class Appender:
    """Appends rows to a JSONL file, one flushed line each."""

    def __init__(self, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        self.fh = out.open("a", encoding="utf-8")

    def write(self, row: Mapping[str, Any]) -> None:
        # One write per complete line, flushed: an interrupt leaves whole lines or a torn tail.
        self.fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()
