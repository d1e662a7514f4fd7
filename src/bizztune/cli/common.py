"""What every command shares: the console on stderr, ./.env, and a progress bar."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bizztune.core.errors import BizztuneError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from bizztune.data.locks import Inputs


def load_dotenv(path: Path = Path(".env")) -> None:
    """Put KEY=VALUE lines of ./.env into the environment; real environment variables win."""
    if not path.is_file():
        return
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise BizztuneError(
            f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); "
            "save it as UTF-8 or remove it"
        ) from None
    for i, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise BizztuneError(f"{path}:{i}: expected KEY=VALUE")
        key, value = line.removeprefix("export ").split("=", 1)
        os.environ.setdefault(key.strip(), value.strip().strip("'\""))


def console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def progress_bar(transient: bool = False) -> Progress:
    """A rich progress bar on stderr: description, bar, done/total, time left."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console(),
        transient=transient,
    )


class LazyBar:
    """A progress bar that appears at its first update, so a command that fails while reading
    its input shows its one error line and no empty bar.

        with LazyBar("eval tfidf") as bar:
            run(progress=bar.update)      # bar.update(done, total)
    """

    def __init__(self, description: str) -> None:
        self.description = description
        self.bar: Any = None
        self.task: Any = None

    def update(self, done: int, total: int | None) -> None:
        if self.bar is None:
            self.bar = progress_bar()
            self.bar.start()
            self.task = self.bar.add_task(self.description, total=total)
        self.bar.update(self.task, completed=done, total=total)

    def __enter__(self) -> LazyBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@contextmanager
def output_file(
    out: Path | None, inputs: Inputs, flag: str = "--out"
) -> Iterator[Callable[[str], None]]:
    """The ``-o`` file of report, plan and compare-data through the output guard, checked and
    locked before the work: never over one of ``inputs``, one writer, written whole or not at
    all. Yields a function that writes the text (nothing without ``out``).

        with output_file(out, [("RUN_DIRS", d) for d in dirs]) as write:
            write(compare_md(dirs))
    """
    if out is None:
        yield lambda text: None
        return
    from bizztune.data.io import write_text_atomic
    from bizztune.data.locks import output_guard

    with output_guard(out, folder=False, flag=flag, inputs=inputs) as real:
        yield lambda text: write_text_atomic(real, text)


def floats(value: str | None, param_hint: str) -> list[float] | None:
    """Comma-separated numbers of a flag (``0.5,0.5``), None when the flag is not given."""
    import click

    if not value:
        return None
    try:
        return [float(x) for x in value.split(",")]
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: expected numbers, e.g. 0.5,0.5", param_hint=param_hint
        ) from None
