"""Tasks: the YAML task format, the shared answer parser, and the built-in ``tickets`` task.

    from bizztune.tasks import load_task
    task = load_task("tickets")            # a registered task, by name
    task = load_task("my_task.yaml")       # or a task file (docs/tasks.md)

``yaml_task`` reads task files, ``parsing`` maps any model's answer back to labels, and
``tickets/`` holds everything about the built-in task: its YAML, its offline generator and its
LLM prompt. Nothing generic imports ``tickets/``: ``bizztune.builtin`` registers it.
"""

from __future__ import annotations

from pathlib import Path

from bizztune.core.interfaces import Task
from bizztune.core.registry import load_registered_task
from bizztune.tasks.yaml_task import load_task_file


def load_task(name_or_path: str) -> Task:
    """A registered task by name, or a task YAML file by path."""
    if name_or_path.endswith((".yaml", ".yml")) or Path(name_or_path).is_file():
        return load_task_file(Path(name_or_path))
    return load_registered_task(name_or_path)
