"""The plugin registry: loads every ``bizztune`` entry point and collects what it registers.

Built-in components live in ``bizztune.builtin`` and come in through the same entry-point
group as third-party plugins, so ``bizztune plugins`` shows where each one came from.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

import pluggy

from bizztune import hookspecs
from bizztune.errors import PluginError

Kind = Literal["task", "provider", "trainer"]
KINDS: tuple[Kind, ...] = ("task", "provider", "trainer")


@dataclass(frozen=True)
class Component:
    kind: Kind
    name: str
    factory: Callable[..., Any]
    description: str
    distribution: str
    """The installed distribution (pip package) that registered it."""
    aliases: tuple[str, ...] = ()


@dataclass
class Registry:
    components: dict[Kind, dict[str, Component]] = field(
        default_factory=lambda: {k: {} for k in KINDS}
    )
    aliases: dict[Kind, dict[str, str]] = field(default_factory=lambda: {k: {} for k in KINDS})

    def add(self, c: Component) -> None:
        table = self.components[c.kind]
        if c.name in table:
            other = table[c.name].distribution
            raise PluginError(
                f"{c.kind} '{c.name}' is registered twice (by {other} and {c.distribution})"
            )
        table[c.name] = c
        for alias in c.aliases:
            self.aliases[c.kind][alias] = c.name

    def get(self, kind: Kind, name: str) -> Component:
        table = self.components[kind]
        name = self.aliases[kind].get(name, name)
        if name not in table:
            known = ", ".join(sorted([*table, *self.aliases[kind]])) or "none"
            raise PluginError(
                f"unknown {kind} '{name}'. Known: {known}. "
                f"Run 'bizztune plugins' to list them, or install a plugin that adds it."
            )
        return table[name]

    def names(self, kind: Kind) -> list[str]:
        return sorted(self.components[kind])


def _plugin_manager() -> tuple[pluggy.PluginManager, dict[int, str]]:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    dists: dict[int, str] = {}
    for ep in entry_points(group=hookspecs.PROJECT):
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
    # Running from a source tree without installation: the built-ins must still be there.
    builtin = importlib.import_module("bizztune.builtin")
    if not pm.is_registered(builtin):
        pm.register(builtin, name="builtin")
        dists[id(builtin)] = "bizztune"
    return pm, dists


@cache
def get_registry() -> Registry:
    pm, dists = _plugin_manager()
    reg = Registry()
    hooks: dict[Kind, Any] = {
        "task": pm.hook.register_tasks,
        "provider": pm.hook.register_providers,
        "trainer": pm.hook.register_trainers,
    }
    for kind, hook in hooks.items():
        # Call each implementation on its own so every component is attributed to its plugin.
        for impl in reversed(hook.get_hookimpls()):
            dist = dists.get(id(impl.plugin), impl.plugin_name)

            def register(
                name: str,
                factory: Callable[..., Any],
                description: str = "",
                aliases: tuple[str, ...] | list[str] = (),
                _kind: Kind = kind,
                _dist: str = dist,
            ) -> None:
                reg.add(Component(_kind, name, factory, description, _dist, tuple(aliases)))

            impl.function(register=register)
    return reg


def load_task(name_or_path: str) -> Any:
    """A registered task by name, or a task YAML file by path."""
    from bizztune.task import load_task_file

    if name_or_path.endswith((".yaml", ".yml")) or Path(name_or_path).is_file():
        return load_task_file(Path(name_or_path))
    return get_registry().get("task", name_or_path).factory()


def load_provider(config: Any) -> Any:
    comp = get_registry().get("provider", config.name)
    return comp.factory(config)


def load_trainer(name: str) -> Any:
    return get_registry().get("trainer", name).factory()
