"""One guard for every output: real paths, never one of the command's inputs, one writer.

    with output_guard(run_dir, folder=True, inputs=[("--data", data)]):  # run_dir/.bizztune.lock
        ...
    with output_guard(Path("data/t.jsonl"), folder=False):               # data/.t.jsonl.lock
        ...

Every command that writes (generate, split, eval, report -o, plan -o, compare-data -o,
combine, export, train, sweep, run) holds ``output_guard`` on its output while it
writes. The guard

1. follows symlinks to the real path, so two names of one file or folder are one output;
2. refuses an output that is one of the command's inputs, holds one (``split X/test.jsonl
   --out X``) or lies inside one (``report A B -o A/predictions.jsonl``), a file output that
   is a folder and a folder output that is a file: a ConfigError naming the flag and the path;
3. takes the operating system's lock on the real path (``filelock``: flock on POSIX), so a
   second ``bizztune`` process on the same output, under any name, fails at once; a process
   that dies, even by SIGKILL, releases it, and the empty lock file left behind is harmless;
4. removes what it made when the command fails: its lock file, and the folders it made for
   it while they are empty, so a refused command leaves no empty folder behind.

Readers (``bizztune report`` without ``-o``) take no lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bizztune.core.errors import ConfigError

LOCK_NAME = ".bizztune.lock"
"""The lock file inside a locked folder."""

Inputs = Sequence[tuple[str, "str | Path | None"]]
"""A command's inputs as (flag or argument name, path); None, names of shipped sets
(``tickets:foreign``) and paths that do not exist are passed over."""


def real_path(path: Path | str) -> Path:
    """``path`` with every symlink followed (the parts that do not exist yet kept as given)."""
    return Path(os.path.realpath(Path(path).expanduser()))


def lock_path(target: Path, folder: bool) -> Path:
    """The lock file of an output: inside a folder, or a hidden file beside a file."""
    return target / LOCK_NAME if folder else target.with_name(f".{target.name}.lock")


def check_output(target: Path, *, folder: bool, flag: str = "--out", inputs: Inputs = ()) -> Path:
    """The real path of the output ``target``; a ConfigError naming ``flag`` when it is the
    wrong kind (a folder for a file, or the reverse) or is, holds or lies inside an input."""
    out = real_path(target)
    if folder and out.is_file():
        raise ConfigError(
            f"{flag} {target}: is a file, and a folder is written there; pass a folder"
        )
    if not folder and out.is_dir():
        raise ConfigError(
            f"{flag} {target}: is a folder, and a file is written there; pass a file path "
            f"(e.g. {Path(target) / 'out.md'})"
        )
    for name, value in inputs:
        if value is None or str(value) == "" or not os.path.lexists(value):
            continue
        src = real_path(value)
        if out == src:
            how = "is"
        elif src.is_relative_to(out):
            how = "holds"
        elif out.is_relative_to(src):
            how = "lies inside"
        else:
            continue
        raise ConfigError(
            f"{flag} {target}: {how} the input {name} {value}, which writing there would "
            "change; choose an output outside the command's inputs"
        )
    return out


@contextmanager
def output_guard(
    target: Path, *, folder: bool, flag: str = "--out", inputs: Inputs = ()
) -> Iterator[Path]:
    """Check ``target`` against ``inputs`` and hold the lock of its real path while writing
    (the module docstring); yields the real path, the one to write to."""
    out = check_output(target, folder=folder, flag=flag, inputs=inputs)
    with output_lock(out, folder=folder, flag=flag, shown=target):
        yield out


@contextmanager
def output_lock(
    target: Path, *, folder: bool, flag: str = "--out", shown: Path | None = None
) -> Iterator[Path]:
    """Hold the lock of ``target``'s real path (a folder, or a file) while writing it; a
    ConfigError naming ``flag`` and ``shown`` (default ``target``) when another process holds
    it. When the block fails, the lock file it made goes, and the folders it made while
    empty. ``output_guard`` is this plus the input checks: use it."""
    from filelock import FileLock, Timeout

    shown = target if shown is None else shown
    real = real_path(target)
    path = lock_path(real, folder)
    missing = _missing_folders(path.parent)
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{flag} {shown}: cannot make the folder ({e.strerror or e})") from None
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ConfigError(
            f"{flag} {shown}: another bizztune process is writing it (it holds {path}); "
            "wait for it to finish or choose another output"
        ) from None
    try:
        yield path
    except BaseException:
        if not existed:
            _remove_made(path, missing)
        raise
    finally:
        lock.release()


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and its parents that do not exist, deepest first."""
    out = []
    while not folder.exists() and folder != folder.parent:
        out.append(folder)
        folder = folder.parent
    return out


def _remove_made(lock_file: Path, folders: list[Path]) -> None:
    """The lock file this guard made, and the ``folders`` it made for it while they are empty
    (the command wrote nothing there)."""
    lock_file.unlink(missing_ok=True)
    for d in folders:
        try:
            d.rmdir()
        except OSError:
            return
