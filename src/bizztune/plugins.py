"""The plugin manager, assembled in one place at the top of the package (as simonw/llm's
``plugins.py``): the built-in modules first, then every installed ``bizztune`` entry point.

    from bizztune.plugins import load_task, registry
    task = load_task("tickets")                        # a registered task, or a task YAML path
    tfidf = registry().provider("tfidf")               # the resolved component: .build, .needs

The commands resolve names here and pass the resolved task, provider or trainer down to the
steps; nothing below this module looks a plugin up. Each built-in module implements the hooks
itself (``@hookimpl def register_providers(register)``), exactly as a third-party plugin does,
so ``bizztune plugins`` lists both alike. Factories import their heavy code when called, so
assembling the registry stays fast.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import pluggy

from bizztune import trainers
from bizztune.core import hookspecs
from bizztune.core.errors import PluginError
from bizztune.core.interfaces import Provider, ProviderConfig, Task, Trainer
from bizztune.core.registry import Registry, collect
from bizztune.providers import api, baselines, local
from bizztune.tasks import tickets
from bizztune.tasks.yaml_task import load_task_file

BUILTIN: tuple[ModuleType, ...] = (tickets, baselines, api, local, trainers)
"""The modules of this distribution that register components, in the order they register."""
DISTRIBUTION = "bizztune"


def plugin_manager() -> tuple[pluggy.PluginManager, dict[int, str]]:
    """The built-in modules and every installed plugin, and the distribution of each."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    dists: dict[int, str] = {}
    for module in BUILTIN:
        pm.register(module, name=module.__name__)
        dists[id(module)] = DISTRIBUTION
    for ep in entry_points(group=hookspecs.PROJECT):
        if ep.dist is not None and ep.dist.name == DISTRIBUTION:
            continue  # the built-ins are registered above (an older install still names them)
        try:
            module = ep.load()
        except Exception as e:  # a broken third-party plugin must not kill the CLI silently
            raise PluginError(
                f"plugin entry point '{ep.name} = {ep.value}' failed to load: {e}"
            ) from e
        if pm.is_registered(module):
            continue
        pm.register(module, name=ep.name)
        dists[id(module)] = ep.dist.name if ep.dist is not None else ep.value
    return pm, dists


@cache
def registry() -> Registry:
    """Every registered task, provider and trainer (built once per process)."""
    return collect(*plugin_manager())


def load_task(spec: str) -> Task:
    """A registered task by name, or a task YAML file by path."""
    if spec.endswith((".yaml", ".yml")) or Path(spec).is_file():
        return load_task_file(Path(spec))
    return registry().task(spec)


def load_provider(config: ProviderConfig) -> Provider:
    """The provider ``config.name`` names, made from ``config``."""
    return registry().load_provider(config)


def load_trainer(name: str) -> Trainer:
    return registry().trainer(name)
