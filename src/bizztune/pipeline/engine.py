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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from bizztune import __version__
from bizztune.core.errors import ConfigError
from bizztune.core.memory import peak_rss_mb, release_memory, reset_peak_rss, rss_mb
from bizztune.data.locks import LOCK_NAME, Inputs, check_output, output_guard

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
        with f.open("rb") as fh:  # in pieces: a data file may be hundreds of MB
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def _mb(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``; None when it is missing or damaged (not UTF-8, not JSON,
    not an object): a damaged marker counts as no marker."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    return data if isinstance(data, dict) else None


MARKER_KEYS = ("key", "fingerprint", "finished_at", "seconds", "outputs")
_MARKER_TYPES: dict[str, type | tuple[type, ...]] = {
    "key": str,
    "fingerprint": str,
    "finished_at": str,
    "seconds": (int, float),
    "outputs": dict,
}


def read_marker(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The one reader of a stage marker: ``(marker, "")`` for a sound one, ``(None, "")`` when
    there is none (the stage has not finished), ``(None, why)`` when the file is there but
    damaged: not UTF-8 JSON, not an object, or a key missing or of the wrong type. A damaged
    marker means "redo this stage", never "this model is absent"."""
    if not path.exists():
        return None, ""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as e:
        return None, f"unreadable ({e.strerror or e})"
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None, "not JSON"
    if not isinstance(data, dict):
        return None, "not a JSON object"
    for k, kind in _MARKER_TYPES.items():
        if not isinstance(data.get(k), kind) or isinstance(data.get(k), bool):
            return None, f"'{k}' is missing or not a {getattr(kind, '__name__', 'number')}"
    if not isinstance(data.get("files", {}), dict):
        return None, "'files' is not a mapping"
    return data, ""


SKIP_IN_DIGEST = (DONE, STARTED)
"""Files of a stage folder that are not its outputs (nor are locks and temporary files)."""


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return f"{path.stat().st_size}:{h.hexdigest()[:16]}"


def output_files(folder: Path, extra: Sequence[Path] = ()) -> dict[str, str]:
    """Size and hash of every output file of a stage: the files of its folder (not markers,
    locks, temporary files, nor a trainer's intermediate checkpoints) and ``extra``; keyed by
    the path relative to the folder."""
    out: dict[str, str] = {}
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    for f in [*files, *extra]:
        rel = os.path.relpath(f, folder)
        parts = Path(rel).parts
        if (
            f.name in SKIP_IN_DIGEST
            or f.name.endswith(".tmp")
            or (f.name.startswith(".") and f.name.endswith(".lock"))
            or any(x.startswith(("checkpoint-", "damaged-checkpoint-")) for x in parts[:-1])
        ):
            continue
        if f.is_file():
            out[Path(rel).as_posix()] = file_digest(f)
    return out


def changed_outputs(folder: Path, marker: Mapping[str, Any], extra: Sequence[Path] = ()) -> str:
    """Which recorded output of a finished stage is missing or differs now ("" if none). A
    marker written before files were recorded is trusted."""
    recorded = marker.get("files")
    if not isinstance(recorded, dict):
        return ""
    now = output_files(folder, extra)
    for name, digest in recorded.items():
        if name not in now:
            return f"{name} is missing"
        if now[name] != digest:
            return f"{name} changed"
    return ""


def write_json(path: Path, data: Any, text: str | None = None) -> None:
    """Write atomically (``text`` as is, if given): a crash leaves the old file or none,
    never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    body = text if text is not None else json.dumps(data, indent=2, ensure_ascii=False, default=str)
    tmp.write_text(body, encoding="utf-8")
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


def other_data(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether a run folder made from the data ``old`` holds a run of other data than ``new``
    (``run.json``'s ``data``): generated tickets against a file, or another file. A file
    edited in place (same path) or moved (same content) is the same data: its stages redo
    what changed, as for any change of config."""
    if old.get("kind") != new.get("kind"):
        return True
    if new.get("kind") != "file":
        return False
    return old.get("path") != new.get("path") and old.get("content") != new.get("content")


def data_name(data: Mapping[str, Any]) -> str:
    return f"--data {data.get('path')}" if data.get("kind") == "file" else "generated tickets"


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
        """Run one stage unless its marker is current; None when it is neither run nor done.

        A marker whose recorded output files no longer match (a truncated predictions file, a
        deleted adapter) does not count: the stage is redone in place, resuming what it can. A
        damaged marker (``read_marker``) is redone too, whether or not ``--stages`` names it,
        with a one-line warning: the report never loses a model to a damaged marker."""
        old, broken = read_marker(folder / DONE)
        if broken:
            self.rep.stage(key, "redo", f"its {DONE} is damaged ({broken}); redoing the stage")
            done = folder / DONE
            shutil.rmtree(done) if done.is_dir() else done.unlink()
        fresh = old is not None and old.get("fingerprint") == fp
        damage = changed_outputs(folder, old, self._extra(old)) if fresh and old else ""
        if damage:
            fresh = False
        if fresh and not (self.force and group in self.selected):
            assert old is not None
            self.rep.stage(key, "cached", f"finished {old.get('finished_at')}")
            return Marker(**{k: old[k] for k in MARKER_KEYS})
        if group not in self.selected and not broken:
            if group in self.needed:
                state = (
                    f"has damaged outputs ({damage})"
                    if damage
                    else "is out of date for this config"
                    if old
                    else "has not finished"
                )
                raise ConfigError(
                    f"stage '{key}' {state}, and the stages you asked for need it: "
                    f"add '{group}' to --stages or drop --stages"
                )
            return None
        started = read_json(folder / STARTED)
        resumable = (
            old is None and started is not None and started.get("fingerprint") == fp
        ) or bool(damage)
        if folder.exists() and not resumable:
            if old is not None and not fresh:
                self.rep.stage(key, "redo", "its config or inputs changed")
            shutil.rmtree(folder)
        if damage:
            self.rep.stage(key, "redo", f"its outputs differ from what it recorded: {damage}")
            (folder / DONE).unlink()
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / STARTED, {"key": key, "fingerprint": fp, "started_at": now()})
        self.rep.stage(key, "start", "resuming" if resumable else "")
        memory = {"rss_before_mb": _mb(rss_mb())}
        tracked = reset_peak_rss()
        t0 = time.perf_counter()
        outputs = work()
        seconds = round(time.perf_counter() - t0, 3)
        if tracked:
            memory["peak_rss_mb"] = _mb(peak_rss_mb())
        release_memory()
        memory["rss_after_mb"] = _mb(rss_mb())
        marker = Marker(key, fp, now(), seconds, outputs)
        files = output_files(folder, self._extra(asdict(marker)))
        record = {**asdict(marker), "files": files, "memory": memory, "versions": versions()}
        write_json(folder / DONE, record)
        peak = memory.get("peak_rss_mb")
        self.rep.stage(
            key,
            "done",
            f"{marker.seconds:.1f} s" + (f", peak {peak / 1024:.2f} GiB" if peak else ""),
        )
        return marker

    def _extra(self, marker: Mapping[str, Any] | None) -> list[Path]:
        """Output files a stage lists outside its folder (the report's report.md, ...)."""
        outputs = (marker or {}).get("outputs")
        listed = outputs.get("files") if isinstance(outputs, dict) else None
        return [self.dir / str(f) for f in listed] if isinstance(listed, list) else []

    def rel(self, path: Path | str) -> str:
        """A path as stored in markers: relative to the run folder, so the folder can move."""
        p = Path(path).resolve()
        try:
            return p.relative_to(self.dir.resolve()).as_posix()
        except ValueError:
            return str(p)

    @contextmanager
    def claimed(
        self, config_yaml: str, inputs: Inputs = (), data: dict[str, Any] | None = None
    ) -> Iterator[None]:
        """Refuse a folder that is, holds or lies inside one of ``inputs``, holds something
        else, or holds a run of other ``data`` (``run_data``); hold the run folder's lock (a
        second ``bizztune run`` into it fails at once), record data, config and versions."""
        check_output(self.dir, folder=True, inputs=inputs)
        marker = self.dir / RUN_MARKER
        others = self.dir.exists() and any(p.name != LOCK_NAME for p in self.dir.iterdir())
        if others and not marker.is_file():
            raise ConfigError(
                f"--out {self.dir}: the folder exists and is not a bizztune run folder; "
                f"pass another --out or empty it"
            )
        with output_guard(self.dir, folder=True, inputs=inputs):
            run = read_json(marker) if marker.is_file() else None
            old = (run or {}).get("data")
            if data is not None and isinstance(old, dict) and other_data(old, data):
                raise ConfigError(
                    f"--out {self.dir}: holds a run of {data_name(old)}, not of "
                    f"{data_name(data)}; pass another --out (or leave it out: the default is "
                    "named after the data) or delete the folder"
                )
            created = (run or {}).get("created") or now()
            record = {"schema_version": RUN_FOLDER_SCHEMA_VERSION, "created": created}
            write_json(marker, record | ({"data": data} if data is not None else {}))
            write_json(self.dir / "config.yaml", None, text=config_yaml)
            write_json(self.dir / "versions.json", versions())
            yield
