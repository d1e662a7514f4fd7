"""What a ``bizztune run`` plans: the sets every model is scored on, and each evaluation.

Shared by the stages (``stages.py``) and the learning curve (``curve.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bizztune.eval.evaluate import EvalConfig

if TYPE_CHECKING:
    from bizztune.pipeline.config import RunConfig
    from bizztune.pipeline.engine import Marker


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


class RunHost(Protocol):
    """What a stage outside ``stages.py`` needs of the run (``stages.ExperimentRun``): its
    config and folder, the stage engine, and paths relative to the folder."""

    cfg: RunConfig
    dir: Path

    def stage(
        self, key: str, group: str, folder: Path, fp: str, work: Callable[[], dict[str, Any]]
    ) -> Marker | None: ...

    def rel(self, path: Path | str) -> str: ...
