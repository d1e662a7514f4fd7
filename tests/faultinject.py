"""Run the real ``bizztune`` CLI in a child process that SIGKILLs (or stops) itself at a chosen
point, for the fault-injection tests. Nothing here is imported by bizztune itself.

    python tests/faultinject.py lines:40:torn -- generate -n 300 --out data/t.jsonl

Faults (the first argument):

- ``lines:N[:torn|stop|kill[:PATH]]``: after the N-th line an ``Appender`` writes to a file
  whose path contains PATH (any file without it; generate's rows, eval's predictions),
  SIGKILL; with ``torn`` the next line is first written in part, cut inside a multi-byte
  character where it has one; with ``stop`` the process SIGSTOPs itself instead (it keeps its
  locks: the two-writer tests).
- ``save:NAME:K[:stop]``: inside the K-th ``torch.save`` to a file called NAME (a trainer
  checkpoint's ``optimizer.pt``), SIGKILL after half of the file is written (or SIGSTOP
  before writing it).
- ``safetensors:K``: the same inside the K-th safetensors write (adapter weights).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any


def _die(stop: bool = False) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGSTOP if stop else signal.SIGKILL)


def _torn(line: str) -> bytes:
    data = line.encode("utf-8")
    multi = next((i for i, b in enumerate(data) if b >= 0xC0), None)
    return data[: multi + 1] if multi is not None else data[: len(data) // 2]


def _lines(n: int, mode: str, match: str) -> None:
    from bizztune.data import resumable

    original = resumable.Appender.write
    count = 0

    def write(self: Any, row: Any) -> None:
        nonlocal count
        if match not in Path(self.fh.name).as_posix():
            return original(self, row)
        if count == n:
            if mode == "torn":
                self.fh.flush()
                os.write(self.fh.fileno(), _torn(json.dumps(row, ensure_ascii=False) + "\n"))
            _die(stop=mode == "stop")
        original(self, row)
        count += 1

    resumable.Appender.write = write  # type: ignore[method-assign]


def _half_then_die(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data[: len(data) // 2])
        fh.flush()
        os.fsync(fh.fileno())
    _die()


def _torch_save(name: str, k: int, mode: str) -> None:
    import io

    import torch

    original = torch.save
    seen = 0

    def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal seen
        if isinstance(f, str | os.PathLike) and Path(f).name == name:
            seen += 1
            if seen == k and mode == "stop":
                _die(stop=True)
            if seen == k:
                buf = io.BytesIO()
                original(obj, buf, *args, **kwargs)
                _half_then_die(Path(f), buf.getvalue())
        return original(obj, f, *args, **kwargs)

    torch.save = save


def _safetensors(k: int) -> None:
    import safetensors.torch as st

    original = st.save_file
    seen = 0

    def save_file(tensors: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal seen
        seen += 1
        if seen == k:
            _half_then_die(Path(filename), st.save(tensors, *args, **kwargs))
        return original(tensors, filename, *args, **kwargs)

    st.save_file = save_file


def install(fault: str) -> None:
    kind, *rest = fault.split(":")
    if kind == "lines":
        _lines(int(rest[0]), rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else "")
    elif kind == "save":
        _torch_save(rest[0], int(rest[1]), rest[2] if len(rest) > 2 else "")
    elif kind == "safetensors":
        _safetensors(int(rest[0]))
    elif kind != "none":
        raise SystemExit(f"unknown fault {fault!r}")


if __name__ == "__main__":
    fault, sep, *args = sys.argv[1:]
    assert sep == "--", "usage: faultinject.py FAULT -- ARGS..."
    install(fault)
    from bizztune.cli.main import main

    sys.argv = ["bizztune", *args]
    main(args)
