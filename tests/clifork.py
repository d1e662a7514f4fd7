"""`bizztune` CLI runs in a fresh process forked from a server that has torch and transformers
imported already (and the rest of ``PRELOAD``), for the tests' ``run_cli``.

A CLI run that loads a model spends 5-9 s of CPU importing torch and transformers before it
does anything; the suite makes a few hundred such runs. A ``multiprocessing`` forkserver
imports them once per test worker (and runs nothing on them, so forking it is safe), and each
run is a fork of it that calls ``bizztune.cli.main`` as the console script does: its own
process, its own environment, working directory, stdout/stderr (file descriptors 1 and 2, so
the processes it starts write there too), exit status and atexit handlers. bizztune itself is
imported fresh in every run.

What a fork cannot change comes from a real subprocess instead: an environment that sets an
interpreter variable (``PYTHONHASHSEED``, ``PYTHONPATH``, ...). ``BIZZTUNE_TEST_SUBPROCESS=1``
makes every run a real subprocess. A script that patches torch or safetensors before they are
imported (tests/faultinject.py) needs a real subprocess too: its patch would come too late here.
"""

from __future__ import annotations

import locale
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# what most runs import (none of it reads the environment on import, nor starts threads):
# the model stack, the tfidf baseline's scikit-learn, the API client, the report's matplotlib
PRELOAD = [
    "torch",
    "transformers",
    "transformers.modeling_utils",
    "peft",
    "sklearn.feature_extraction.text",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.pipeline",
    "openai",
    "matplotlib.figure",
    "matplotlib.ticker",
]
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
        f = os.open(path, os.O_WRONLY | os.O_APPEND)  # one file for both: stderr=STDOUT
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


class Spawned:
    """A forked run started without waiting for it: the part of ``subprocess.Popen`` the tests
    use (pid, poll, wait, send_signal, terminate, kill, communicate). Its stdout and stderr go
    to the files ``out`` and ``err`` (one file for both, like ``stderr=STDOUT``), or, left
    out, to files that ``communicate`` reads, like ``subprocess.PIPE``."""

    def __init__(
        self,
        cmd: list[str],
        cwd: Path | None,
        env: dict[str, str],
        out: Path | None = None,
        err: Path | None = None,
    ) -> None:
        self.args = cmd
        self._tmp = tempfile.TemporaryDirectory(prefix="bizztune-cli-")
        self.out = out or Path(self._tmp.name) / "stdout"
        self.err = err or Path(self._tmp.name) / "stderr"
        for path in (self.out, self.err):
            path.touch()
        self._proc = _context().Process(
            target=_child,
            args=(
                cmd[3:] if cmd[1:3] == ["-m", "bizztune.cli"] else cmd[1:],
                None if cwd is None else str(cwd),
                env,
                str(self.out),
                str(self.err),
            ),
        )
        self._proc.start()
        self.pid: int = self._proc.pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._proc.exitcode
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._proc.join(timeout)
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        return _text(self.out), _text(self.err)


def popen(
    cmd: list[str],
    cwd: Path | None,
    env: dict[str, str],
    log: Path | None = None,
) -> Any:
    """``subprocess.Popen(cmd, ...)`` with stdout and stderr to pipes, or both to the file
    ``log``: a ``Spawned`` fork, or the real Popen where a fork cannot do."""
    if forkable(env):
        return Spawned(cmd, cwd, env, log, log)
    if log is None:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
    with log.open("w", encoding="utf-8") as f:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT)


def run(
    cmd: list[str],
    args: list[str],
    cwd: Path | None,
    env: dict[str, str],
    timeout: int,
) -> subprocess.CompletedProcess[str]:
    """``cmd + args`` as ``subprocess.run(..., capture_output=True, text=True)`` would run it
    (``cmd``: the console script)."""
    if not forkable(env):
        return subprocess.run(
            [*cmd, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
            check=False,
        )  # fmt: skip
    full = [*cmd[:1], *args]
    proc = Spawned(full, cwd, env)
    try:
        out, err = proc.communicate(timeout)
    except subprocess.TimeoutExpired as e:
        proc.kill()
        proc.wait()
        raise subprocess.TimeoutExpired(full, timeout, _text(proc.out), _text(proc.err)) from e
    return subprocess.CompletedProcess(full, proc.wait(), out, err)


def _text(path: Path) -> str:
    """What ``subprocess.run(..., text=True)`` makes of the bytes: universal newlines."""
    data = path.read_bytes().decode(locale.getpreferredencoding(False))
    return data.replace("\r\n", "\n").replace("\r", "\n")
