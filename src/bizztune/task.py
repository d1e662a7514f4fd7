"""Task files under their first import path, for plugins written against bizztune 0.1.

New code imports ``bizztune.tasks.yaml_task`` (or ``bizztune.tasks.load_task``).
"""

from bizztune.tasks.yaml_task import TASK_SCHEMA_VERSION, YamlTask, load_task_file, task_from_dict

__all__ = ["TASK_SCHEMA_VERSION", "YamlTask", "load_task_file", "task_from_dict"]
