"""`bizztune` CLI runs in a fresh process forked from a server that has torch and transformers
imported already, for the tests' ``run_cli``.

A CLI run that loads a model spends 5-9 s of CPU importing torch and transformers before it
does anything; the suite makes a few hundred such runs. A ``multiprocessing`` forkserver
imports them once per test worker (and runs nothing on them, so forking it is safe), and each
run is a fork of it that calls ``bizztune.cli.main`` as the console script does: its own
process, its own environment, working directory, stdout/stderr (file descriptors 1 and 2, so
the processes it starts write there too), exit status and atexit handlers. bizztune itself is
imported fresh in every run.

What a fork cannot change comes from a real subprocess instead: an environment that sets an
interpreter variable (``PYTHONHASHSEED``, ``PYTHONPATH``, ...). ``BIZZTUNE_TEST_SUBPROCESS=1``
makes every run a real subprocess.
"""

from __future__ import annotations

import locale
import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PRELOAD = ["torch", "transformers", "transformers.modeling_utils", "peft"]
_ctx: Any = None


def forkable(env: dict[str, str]) -> bool:
    if os.environ.get("BIZZTUNE_TEST_SUBPROCESS") == "1" or sys.platform == "win32":
        return False
    return not any(k.startswith("PYTHON") and os.environ.get(k) != v for k, v in env.items())


def _context() -> Any:
    global _ctx
    if _ctx is None:
        _ctx = multiprocessing.get_context("forkserver")
        _ctx.set_forkserver_preload(PRELOAD)
    return _ctx


def _child(args: list[str], cwd: str | None, env: dict[str, str], out: str, err: str) -> None:
    """The forked run: what the ``bizztune`` console script does, in this process."""
    import atexit

    atexit._clear()  # the server's handlers are not this run's
    os.environ.clear()
    os.environ.update(env)
    if cwd is not None:
        os.chdir(cwd)
    for fd, path in ((1, out), (2, err)):
        f = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(f, fd)
        os.close(f)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    # as the interpreter opens them for pipes; line-buffered, so that the lines of the
    # processes the run starts and its own come in order
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - fds 0-2 live as long as the process
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.argv = [str(Path(sys.executable).with_name("bizztune")), *args]
    code: Any = 0
    try:
        from bizztune.cli import main

        main()
    except SystemExit as e:
        code = e.code
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    import threading

    threading._shutdown()  # type: ignore[attr-defined]  # as the interpreter does at exit
    atexit._run_exitfuncs()
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(
    cmd: list[str], args: list[str], cwd: Path | None, env: dict[str, str], timeout: int
) -> subprocess.CompletedProcess[str]:
    """``cmd + args`` as ``subprocess.run(..., capture_output=True, text=True)`` would run it."""
    if not forkable(env):
        return subprocess.run(
            [*cmd, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
            check=False,
        )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bizztune-cli-") as d:
        out, err = Path(d) / "stdout", Path(d) / "stderr"
        out.touch()
        err.touch()
        proc = _context().Process(
            target=_child,
            args=(list(args), None if cwd is None else str(cwd), env, str(out), str(err)),
        )
        proc.start()
        proc.join(timeout)
        if proc.is_alive():
            proc.kill()
            proc.join()
            raise subprocess.TimeoutExpired(
                [*cmd, *args], timeout, out.read_bytes(), err.read_bytes()
            )
        code = proc.exitcode
        assert code is not None
        return subprocess.CompletedProcess([*cmd, *args], code, _text(out), _text(err))


def _text(path: Path) -> str:
    """What ``subprocess.run(..., text=True)`` makes of the bytes: universal newlines."""
    data = path.read_bytes().decode(locale.getpreferredencoding(False))
    return data.replace("\r\n", "\n").replace("\r", "\n")
