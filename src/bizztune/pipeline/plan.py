"""What a ``bizztune run`` plans: the sets every model is scored on, and each evaluation.

Shared by the stages (``stages.py``) and the learning curve (``curve.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bizztune.eval.evaluate import EvalConfig


@dataclass(frozen=True)
class TestSet:
    """One set every model of the run is scored on. ``spec`` None: the run's own ``split``."""

    name: str
    """How the report names it: ``test split``, ``tickets:foreign``, a path."""
    slug: str
    """Its folder: ``eval/`` for the first set, ``eval-<slug>/`` for the others."""
    spec: str | None
    split: str
    first: bool

    def folder(self) -> str:
        return "eval" if self.first else f"eval-{self.slug}"

    def key(self, label: str) -> str:
        """The stage key of one model's evaluation on this set."""
        return f"eval:{label}" if self.first else f"eval@{self.slug}:{label}"


@dataclass
class PlannedEval:
    """One evaluation the run will make: its label (folder under eval/), its EvalConfig, the
    name the report shows, and the key it needs (None: no API; "": checked when connecting)."""

    label: str
    config: EvalConfig
    display: str
    api_key_env: str | None = None
    test_set: TestSet | None = None


@dataclass
class RunResult:
    dir: Path
    summary: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    """Eval label -> why it was skipped."""
    reports: list[Path] = field(default_factory=list)
