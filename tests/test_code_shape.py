"""The shape the style guide asks of src/: orchestrators as short named steps (no function
over 80 lines, but the FastAPI app factory, whose routes are closures over its state), and no
'# fmt: skip' but the tickets generator's aligned data tables. A click command's option list
is its decorators, which do not count: a function is measured from its ``def``."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

SRC = REPO / "src" / "bizztune"
MAX_LINES = 80
EXEMPT = {"serve/app.py:create_app"}
"""FastAPI's routes are closures over the app's state: one factory, read top to bottom."""
TABLES = {"tasks/tickets/slots.py", "tasks/tickets/voice.py"}
"""Data tables laid out as tables (columns aligned), which the formatter would unfold."""


def _functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.name, node.end_lineno - node.lineno + 1)  # type: ignore[operator]
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_no_function_in_src_is_over_80_lines() -> None:
    long = [
        f"{where}:{name} ({n} lines)"
        for path in sorted(SRC.rglob("*.py"))
        for name, n in _functions(path)
        if n > MAX_LINES and (where := path.relative_to(SRC).as_posix()) + f":{name}" not in EXEMPT
    ]
    assert long == []


def test_the_measure_counts_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    path = tmp_path / "m.py"
    path.write_text(f"@decorator\ndef f() -> None:\n{body}\n")
    assert _functions(path) == [("f", MAX_LINES + 1)]


def test_no_fmt_skip_outside_the_generators_tables() -> None:
    marked = [
        path.relative_to(SRC).as_posix()
        for path in sorted(SRC.rglob("*.py"))
        if any(m in path.read_text(encoding="utf-8") for m in ("fmt: skip", "fmt: off"))
    ]
    assert [p for p in marked if p not in TABLES] == []
