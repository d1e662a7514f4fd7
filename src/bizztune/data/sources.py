"""Where the data of a command comes from: the path it is given, or the task's embedded default.

    data = resolve_data(task, None)        # ~/.cache/bizztune/data/tickets-offline-n1000-seed0-<key>
    data = resolve_data(task, Path("data/split"))

Without ``--data``, commands use the embedded default: the task's offline generator (1,000
items, seed 0), split 80/10/10, cached under ``home() / "data"``. It is deterministic, so it is
rebuilt identically wherever it is missing; its folder name carries a hash of the task file and
of the generator's files, so a changed generator means new data.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from bizztune.core.errors import DataError
from bizztune.core.interfaces import Task
from bizztune.core.paths import home

DEFAULT_N = 1000
DEFAULT_SEED = 0


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

    raw = out / "tickets.jsonl"
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


def resolve_data(task: Task, data: Path | None) -> Path:
    if data is not None:
        return data
    if not getattr(task, "generator", None):
        raise DataError(f"task '{task.name}' ships no offline generator: pass --data FILE")
    return default_data_dir(task)
