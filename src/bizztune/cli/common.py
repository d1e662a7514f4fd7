"""What every command shares: the console on stderr, ./.env, and a progress bar."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bizztune.core.errors import BizztuneError


def load_dotenv(path: Path = Path(".env")) -> None:
    """Put KEY=VALUE lines of ./.env into the environment; real environment variables win."""
    if not path.is_file():
        return
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise BizztuneError(f"{path}:{i}: expected KEY=VALUE")
        key, value = line.removeprefix("export ").split("=", 1)
        os.environ.setdefault(key.strip(), value.strip().strip("'\""))


def console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def progress_bar(transient: bool = False) -> Any:
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
