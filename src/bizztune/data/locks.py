"""One writer per output: an advisory lock on every run folder and output file.

    with output_lock(run_dir, folder=True):              # run_dir/.bizztune.lock
        ...
    with output_lock(Path("data/t.jsonl"), folder=False): # data/.t.jsonl.lock beside it
        ...

A second ``bizztune`` process that wants the same output fails at once with a ConfigError
naming it, instead of appending its lines to the first one's. The lock is the operating
system's (``filelock``: flock on POSIX), so a process that dies, even by SIGKILL, releases it;
the empty lock file stays behind and is harmless. Readers (``bizztune report``) take no lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bizztune.core.errors import ConfigError

LOCK_NAME = ".bizztune.lock"
"""The lock file inside a locked folder."""


def lock_path(target: Path, folder: bool) -> Path:
    """The lock file of an output: inside a folder, or a hidden file beside a file."""
    return target / LOCK_NAME if folder else target.with_name(f".{target.name}.lock")


@contextmanager
def output_lock(target: Path, *, folder: bool, flag: str = "--out") -> Iterator[Path]:
    """Hold the lock of ``target`` (a folder, or a file) while writing it; a ConfigError
    naming ``flag`` when another process holds it."""
    from filelock import FileLock, Timeout

    path = lock_path(target, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ConfigError(
            f"{flag} {target}: another bizztune process is writing it (it holds {path}); "
            "wait for it to finish or choose another output"
        ) from None
    try:
        yield path
    finally:
        lock.release()
