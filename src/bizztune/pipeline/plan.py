"""What a ``bizztune run`` plans: the sets every model is scored on, which of them the
Decision chooses on and which confirms it, and each evaluation.

    plan = plan_sets(cfg, task, n_own=None)
    plan.sets            # every set every model is scored on; the first one's folder is eval/
    plan.decide, plan.confirm, plan.roles()

Shared by the stages (``stages.py``) and cross-fitting (``crossfit.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bizztune.core.errors import BizztuneError, ConfigError
from bizztune.core.interfaces import Task
from bizztune.data.sources import named_dataset, resolve_data
from bizztune.eval.decision import DecisionSets, SetInfo
from bizztune.eval.evaluate import EvalConfig
from bizztune.pipeline.config import FOLDS, OWN_SPLITS

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
    people: bool = True
    """Written by people (a hand-written set, your own tickets), not by the generator."""
    what: str = "test items"
    """What it is, in a few words, for the report."""

    def folder(self) -> str:
        return "eval" if self.first else f"eval-{self.slug}"

    def key(self, label: str) -> str:
        """The stage key of one model's evaluation on this set."""
        return f"eval:{label}" if self.first else f"eval@{self.slug}:{label}"

    def info(self) -> SetInfo:
        return SetInfo(self.name, self.people, self.what)


@dataclass(frozen=True)
class SetPlan:
    """The sets of a run and their roles in the Decision."""

    sets: list[TestSet]
    """Every set every model is scored on (the cross-fitted folds are scored apart)."""
    decide: TestSet
    confirm: TestSet | None

    def roles(self) -> DecisionSets:
        checks = [t for t in self.sets if t not in (self.decide, self.confirm)]
        confirm = self.confirm.info() if self.confirm else None
        return DecisionSets(self.decide.info(), confirm, tuple(t.info() for t in checks))


def default_choice(cfg: RunConfig, task: Task, n_own: int | None) -> tuple[str, str]:
    """``decision.choose_on`` and ``confirm_on`` with their defaults filled in (``n_own``: how
    many of your own tickets ``data.file`` holds, None without it)."""
    d = cfg.decision
    if n_own is not None:
        small = n_own < d.crossfit_below
        return d.choose_on or (FOLDS if small else "val"), d.confirm_on or "test"
    shipped = getattr(task, "datasets", None) or {}
    dev = next((f"{task.name}:{k}" for k, x in shipped.items() if x.role == "dev"), None)
    test = next((f"{task.name}:{k}" for k, x in shipped.items() if x.role == "test"), None)
    if dev is not None and test is not None:
        return d.choose_on or dev, d.confirm_on or test
    return d.choose_on or "val", d.confirm_on or "test"


def _test_set(cfg: RunConfig, task: Task, spec: str, first: bool) -> TestSet:
    own = spec in OWN_SPLITS
    if spec == "train":
        raise BizztuneError("eval.test_sets: 'train' is what the models learn from")
    if not own:
        resolve_data(task, spec)  # a clear error now for a set that does not exist
    stem = spec if own else spec.split(":", 1)[1] if ":" in spec else Path(spec).stem
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in stem)
    if own:
        mine = cfg.data.file is not None
        what = "your own tickets" if mine else "the generator's own tickets"
        return TestSet(f"{spec} split", slug, None, spec, first, mine, what)
    what = "hand-written tickets" if named_dataset(task, spec) else "your labelled tickets"
    return TestSet(spec, slug, spec, "test", first, True, what)


def plan_sets(cfg: RunConfig, task: Task, n_own: int | None = None) -> SetPlan:
    """``eval.test_sets`` (by default the run's split and the task's test sets), the set the
    Decision chooses on and the one that confirms it, each resolved (a set that does not
    exist is one line now, before the run folder is claimed)."""
    specs = cfg.eval.test_sets
    if specs is None:
        shipped = getattr(task, "datasets", None) or {}
        specs = [cfg.eval.split] + [
            f"{task.name}:{k}" for k, d in shipped.items() if d.role == "test"
        ]
    choose, confirm = default_choice(cfg, task, n_own)
    if choose == FOLDS and cfg.data.file is None:
        raise ConfigError(
            "decision.choose_on: folds cross-fits your own tickets (data.file / --data); "
            "without them choose on val or a set the task ships"
        )
    if choose == confirm:
        raise ConfigError(
            f"decision.choose_on and decision.confirm_on are both {choose}: picking on the set "
            "you report on inflates the winner; confirm on another set"
        )
    wanted = [*specs, *(x for x in (choose, confirm) if x not in specs and x != FOLDS)]
    out: list[TestSet] = []
    for i, spec in enumerate(wanted):
        ts = _test_set(cfg, task, spec, i == 0)
        if any(t.slug == ts.slug for t in out):
            raise BizztuneError(f"eval.test_sets: two sets would share the folder '{ts.slug}'")
        out.append(ts)
    by_spec = dict(zip(wanted, out, strict=True))
    decide = by_spec.get(choose) or crossfit_set(cfg)
    return SetPlan(out, decide, by_spec[confirm])


def crossfit_set(cfg: RunConfig) -> TestSet:
    """The cross-fitted folds as a set of their own (folder ``eval-folds/``)."""
    what = f"your own train and val tickets, each scored by a model trained without it ({cfg.decision.folds} folds)"
    return TestSet("cross-fitted folds", FOLDS, None, FOLDS, False, True, what)


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
