"""Where the data of a command comes from: the path it is given, or the task's embedded default.

    data = resolve_data(task, None)        # ~/.cache/bizztune/data/tickets-offline-n2000-seed0-<key>
    data = resolve_data(task, Path("data/split"))
    data = resolve_data(task, "tickets:foreign")  # a set shipped with the task

Without ``--data``, commands use the embedded default: the task's offline generator (2,000
items, seed 0), split 80/10/10, cached under ``home() / "data"``. It is deterministic, so it is
rebuilt identically wherever it is missing; its folder name carries a hash of the task file and
of the generator's files, so a changed generator means new data.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

from bizztune.core.errors import DataError
from bizztune.core.interfaces import Task
from bizztune.core.paths import home
from bizztune.data.locks import real_path
from bizztune.tasks.yaml_task import NamedDataset

DEFAULT_N = 2000
"""Items of the embedded default (``bizztune run``'s ``data.n`` too): the head recipe's 200
steps of 8 see each of its 1,600 training tickets once (docs/research/)."""
DEFAULT_SEED = 0
DEFAULT_SPEC = "default"
"""``--data default`` (or no ``--data``): the embedded default set."""


def default_data_dir(task: Task, n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> Path:
    """The embedded default: the task's offline generator, split, cached under ``home()``.

    Deterministic for a seed, so it is rebuilt identically wherever it is missing.
    """
    out = home() / "data" / f"{task.name}-offline-n{n}-seed{seed}-{generator_fingerprint(task)}"
    if (out / "test.jsonl").is_file():
        return out
    # Imported here: the CLI reads DEFAULT_N and DEFAULT_SEED from this module at start-up.
    from bizztune.data.generate import generate_dataset
    from bizztune.data.split import split_dataset

    # Beside the split folder, not in it: an output never holds its input (data/locks.py).
    raw = out.with_name(f"{out.name}-raw") / "tickets.jsonl"
    # The generate step writes the manifest with the generator's label prior, so the split's
    # data card checks the labels against it.
    generate_dataset(task, n=n, seed=seed, out=raw)
    split_dataset(task, raw, out, seed=seed)
    return out


def generator_fingerprint(task: Task) -> str:
    """Hash of the task file and of the generator's files, so a changed generator means new data.

    The generator's files: every file of the package that defines the generator function, code
    and the text pools it reads alike (``bizztune/tasks/tickets/``), or its module alone.
    """
    h = hashlib.sha1()
    src = getattr(task, "source", None)
    if src is not None and Path(src).is_file():
        h.update(Path(src).read_bytes())
    if getattr(task, "generator", None):
        from bizztune.data.generate import offline_generator

        module = sys.modules[offline_generator(task).__module__]
        origin = Path(str(module.__file__))
        in_package = "." in module.__name__ and (origin.parent / "__init__.py").is_file()
        files = sorted(origin.parent.iterdir()) if in_package else [origin]
        for f in files:
            if f.is_file() and not f.name.startswith("."):
                h.update(f.name.encode("utf-8"))
                h.update(f.read_bytes())
    return h.hexdigest()[:10]


def named_dataset(task: Task, spec: str) -> NamedDataset | None:
    """The data set ``TASK:NAME`` names, None when ``spec`` is not of that form (a path)."""
    m = re.fullmatch(r"([A-Za-z0-9_.-]+):([A-Za-z0-9_.-]+)", spec)
    if m is None or Path(spec).exists():
        return None
    owner, name = m.groups()
    known: dict[str, NamedDataset] = getattr(task, "datasets", None) or {}
    if owner != task.name:
        raise DataError(
            f"--data {spec}: names a data set of task '{owner}', but the task is '{task.name}'"
            + (f" (its sets: {', '.join(f'{task.name}:{k}' for k in known)})" if known else "")
        )
    if name not in known:
        have = f"its sets: {', '.join(f'{task.name}:{k}' for k in known)}" if known else "none"
        raise DataError(f"--data {spec}: task '{task.name}' ships no data set '{name}' ({have})")
    ds = known[name]
    if not ds.path.is_file():
        raise DataError(f"--data {spec}: its file is missing from the installation: {ds.path}")
    return ds


def slug(text: str) -> str:
    """``text`` as a part of a file name: letters, digits, ``-``, ``_`` and ``.`` kept."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text).strip("-") or "x"


def data_slug(task: Task, data: str | Path | None) -> str:
    """A data set's part of a default output name: ``default`` (the embedded default), the name
    of a set the task ships (``foreign``), or a path's name and a hash of its real path
    (``split-1a2b3c``), so two data sets never share a default output."""
    if data is None or (str(data) == DEFAULT_SPEC and not Path(data).exists()):
        return DEFAULT_SPEC
    ds = named_dataset(task, str(data))
    if ds is not None:
        return slug(str(data).split(":", 1)[1])
    p = Path(data)
    where = hashlib.sha1(str(real_path(p)).encode("utf-8")).hexdigest()[:6]
    return f"{slug(p.stem if p.suffix else p.name)}-{where}"


def resolve_data(task: Task, data: str | Path | None) -> Path:
    """The path behind ``--data``: a file or folder, a named set ``TASK:NAME``, or (None or
    ``default``) the embedded default."""
    if data is not None and not (str(data) == DEFAULT_SPEC and not Path(data).exists()):
        ds = named_dataset(task, str(data))
        return ds.path if ds is not None else Path(data)
    if not getattr(task, "generator", None):
        raise DataError(f"task '{task.name}' ships no offline generator: pass --data FILE")
    return default_data_dir(task)


def resolve_train_data(task: Task, data: str | Path | None, flag: str = "--data") -> Path:
    """Like ``resolve_data``, for data a model learns from: a named set that is there to
    measure (role ``test`` or ``dev``) is refused, so it can never leak into training."""
    if data is not None:
        ds = named_dataset(task, str(data))
        if ds is not None and not ds.trainable:
            raise DataError(
                f"{flag} {data}: this set is for {'measuring' if ds.role == 'test' else 'choosing settings'}"
                f" only (role: {ds.role}), never for training or fitting; train on a split of your "
                f"own data or on the embedded default"
            )
    return resolve_data(task, data)
