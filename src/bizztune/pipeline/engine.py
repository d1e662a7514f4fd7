"""The stage engine of ``bizztune run``: resumable stages in one run folder.

    engine = StageEngine(Path("runs/x"), STAGES, NEEDS, selected=None, force=False,
                         reporter=PrintReporter())
    marker = engine.stage("split", "split", folder, fingerprint(...), work)

Every stage writes into its own folder of the run folder and finishes by writing
``stage.done.json`` (last, atomically), which holds a fingerprint of the stage's config and of
the stages it read from, what it made (``outputs``) and the package versions. A rerun skips a
stage whose marker matches; a stage without a marker was interrupted and is redone (its work
may resume from what it left: an eval keeps the items it scored, a trainer its checkpoints); a
stage whose config or inputs changed is wiped and redone, and so is everything downstream,
because a redone stage's ``token`` changes. The run folder also holds ``run.json`` (schema
version, creation time), the resolved ``config.yaml`` and ``versions.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from bizztune import __version__
from bizztune.core.errors import ConfigError

RUN_FOLDER_SCHEMA_VERSION = 1
"""The ``schema_version`` of a run folder's run.json."""
DONE = "stage.done.json"
STARTED = "stage.started.json"
RUN_MARKER = "run.json"
VERSIONED = (  # recorded in versions.json and in every stage marker
    "bizztune",
    "torch",
    "transformers",
    "peft",
    "trl",
    "datasets",
    "accelerate",
    "bitsandbytes",
    "numpy",
    "scikit-learn",
)


# -- progress -------------------------------------------------------------------------------------
Status = Literal["start", "cached", "done", "skipped", "redo"]


class Reporter(Protocol):
    """Where the pipeline tells what it is doing; the CLI shows it with rich."""

    def stage(self, key: str, status: Status, detail: str = "") -> None: ...

    def progress(self, key: str, done: int, total: int) -> None: ...


class PrintReporter:
    """Plain lines on stderr (for library use and logs)."""

    def stage(self, key: str, status: Status, detail: str = "") -> None:
        print(f"[{status}] {key}{': ' + detail if detail else ''}", file=sys.stderr, flush=True)

    def progress(self, key: str, done: int, total: int) -> None:
        return None


# -- markers --------------------------------------------------------------------------------------
def fingerprint(*parts: Any) -> str:
    """A short hash of everything that decides a stage's output."""
    blob = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def content_token(path: Path) -> str:
    """A short hash of a file's bytes, or of every file under a folder (names and bytes)."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode("utf-8"))
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: Any) -> None:
    """Write atomically: a crash leaves the old file or none, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def versions() -> dict[str, Any]:
    """Versions of bizztune, its key dependencies (None: not installed) and the platform."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, Any] = {}
    for pkg in VERSIONED:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    out["bizztune"] = __version__
    out["python"] = platform.python_version()
    out["platform"] = platform.platform()
    out["machine"] = platform.machine()
    out["cpu_count"] = os.cpu_count()
    return out


@dataclass
class Marker:
    """A finished stage: what it was given (fingerprint) and what it made."""

    key: str
    fingerprint: str
    finished_at: str
    seconds: float
    outputs: dict[str, Any]

    @property
    def token(self) -> str:
        """What downstream stages fingerprint: a redo of this stage invalidates them."""
        return f"{self.fingerprint}@{self.finished_at}"


# -- the engine -----------------------------------------------------------------------------------
class StageEngine:
    """Runs the stages a pipeline asks for, in its order, each unless its marker is current."""

    def __init__(
        self,
        out: Path,
        stages: Sequence[str],
        needs: Mapping[str, Sequence[str]],
        selected: Sequence[str] | None,
        force: bool,
        reporter: Reporter,
    ) -> None:
        """``stages``: every stage (group) name in order; ``needs``: stage -> the stages that
        must have finished before it; ``selected``: what ``--stages`` asked for (None: all)."""
        unknown = [s for s in selected or () if s not in stages]
        if unknown:
            raise ConfigError(
                f"--stages: unknown stage {', '.join(map(repr, unknown))}; "
                f"choose from {', '.join(stages)}"
            )
        self.dir, self.force, self.rep = out, force, reporter
        self.selected = set(selected or stages)
        needed = set(self.selected)
        for s in reversed(stages):  # the dependency closure of what was asked for
            if s in needed:
                needed.update(needs.get(s, ()))
        self.needed = needed

    def stage(
        self, key: str, group: str, folder: Path, fp: str, work: Callable[[], dict[str, Any]]
    ) -> Marker | None:
        """Run one stage unless its marker is current; None when it is neither run nor done."""
        old = read_json(folder / DONE)
        fresh = old is not None and old.get("fingerprint") == fp
        if fresh and not (self.force and group in self.selected):
            assert old is not None
            self.rep.stage(key, "cached", f"finished {old.get('finished_at')}")
            return Marker(
                **{k: old[k] for k in ("key", "fingerprint", "finished_at", "seconds", "outputs")}
            )
        if group not in self.selected:
            if group in self.needed:
                state = "is out of date for this config" if old else "has not finished"
                raise ConfigError(
                    f"stage '{key}' {state}, and the stages you asked for need it: "
                    f"add '{group}' to --stages or drop --stages"
                )
            return None
        started = read_json(folder / STARTED)
        resumable = old is None and started is not None and started.get("fingerprint") == fp
        if folder.exists() and not resumable:
            if old is not None and not fresh:
                self.rep.stage(key, "redo", "its config or inputs changed")
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / STARTED, {"key": key, "fingerprint": fp, "started_at": now()})
        self.rep.stage(key, "start", "resuming" if resumable else "")
        t0 = time.perf_counter()
        outputs = work()
        marker = Marker(key, fp, now(), round(time.perf_counter() - t0, 3), outputs)
        write_json(folder / DONE, {**asdict(marker), "versions": versions()})
        self.rep.stage(key, "done", f"{marker.seconds:.1f} s")
        return marker

    def rel(self, path: Path | str) -> str:
        """A path as stored in markers: relative to the run folder, so the folder can move."""
        p = Path(path).resolve()
        try:
            return p.relative_to(self.dir.resolve()).as_posix()
        except ValueError:
            return str(p)

    def claim_folder(self, config_yaml: str) -> None:
        """Refuse to write into a folder that holds something else; record config and versions."""
        marker = self.dir / RUN_MARKER
        if self.dir.exists() and any(self.dir.iterdir()) and not marker.is_file():
            raise ConfigError(
                f"--out {self.dir}: the folder exists and is not a bizztune run folder; "
                f"pass another --out or empty it"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        if not marker.is_file():
            write_json(marker, {"schema_version": RUN_FOLDER_SCHEMA_VERSION, "created": now()})
        (self.dir / "config.yaml").write_text(config_yaml, encoding="utf-8")
        write_json(self.dir / "versions.json", versions())
