"""Tasks: the YAML task format, the shared answer parser, and the built-in ``tickets`` task.

    from bizztune.tasks.yaml_task import load_task_file
    task = load_task_file(Path("my_task.yaml"))     # a task file (docs/tasks.md)
    task = bizztune.plugins.load_task("tickets")     # a registered task, by name, or a path

``yaml_task`` reads task files, ``parsing`` maps any model's answer back to labels, and
``tickets/`` holds everything about the built-in task: its YAML, its offline generator and its
LLM prompt. Nothing generic imports ``tickets/``: ``bizztune.plugins`` registers it.
"""
