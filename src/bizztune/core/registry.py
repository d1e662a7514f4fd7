"""The plugin registry: loads every ``bizztune`` entry point and collects what it registers.

    reg = get_registry()
    reg.get("provider", "gpt-4o").needs.key_env        # 'OPENAI_API_KEY'
    provider = load_provider(ProviderConfig(name="tfidf"))

Built-in components live in ``bizztune.builtin`` and come in through the same entry-point
group as third-party plugins, so ``bizztune plugins`` shows where each one came from. From a
source tree without installation the registry loads that module by name: the one import that
runs from the core up to the top of the package, and the reason it is made by name.

A component says what it needs when it registers, as simonw/llm's models carry ``needs_key``
and ``key_env_var``: the environment variable of its API key, whether it is a paid API (its
answers are cached on disk and priced, and ``--no-api`` skips it), whether it is fitted on the
train split. The pipeline reads these ``Needs``; no table of built-in names stands elsewhere.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Literal

import pluggy

from bizztune.core import hookspecs
from bizztune.core.errors import PluginError
from bizztune.core.interfaces import Provider, ProviderConfig, Task, Trainer

Kind = Literal["task", "provider", "trainer"]
KINDS: tuple[Kind, ...] = ("task", "provider", "trainer")


@dataclass(frozen=True)
class Needs:
    """What a component asks of its surroundings, declared with ``register(..., **needs)``."""

    key_env: str | None = None
    """Environment variable that holds its API key. None: it needs none, or its client finds
    its own and says which is missing when it connects (litellm)."""
    base_url_env: str | None = None
    """Environment variable that points it at a self-hosted server instead, which takes any
    key (``OPENAI_BASE_URL``)."""
    paid: bool = False
    """It calls a paid API: its answers are cached on disk and priced, and ``--no-api`` or
    ``eval.api: false`` skips it."""
    fittable: bool = False
    """It learns from the train split before it answers (majority, tfidf): a classifier, which
    cannot write data."""


@dataclass(frozen=True)
class Component:
    kind: Kind
    name: str
    factory: Callable[..., Any]
    description: str
    distribution: str
    """The installed distribution (pip package) that registered it."""
    aliases: tuple[str, ...] = ()
    needs: Needs = Needs()


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
                *,
                key_env: str | None = None,
                base_url_env: str | None = None,
                paid: bool = False,
                fittable: bool = False,
                _kind: Kind = kind,
                _dist: str = dist,
            ) -> None:
                needs = Needs(key_env, base_url_env, paid, fittable)
                reg.add(Component(_kind, name, factory, description, _dist, tuple(aliases), needs))

            impl.function(register=register)
    return reg


def check_built(component: Component, obj: object, interface: Any) -> None:
    """A PluginError naming the plugin when ``obj`` lacks a method of the interface its factory
    promised (``complete`` of a Provider, ``train`` of a Trainer, ...). Attributes are left to
    duck typing, as they always were, so a plugin that worked before still loads."""
    methods = [n for n, v in vars(interface).items() if callable(v) and not n.startswith("_")]
    missing = [m for m in methods if not callable(getattr(obj, m, None))]
    if missing:
        raise PluginError(
            f"{component.kind} '{component.name}' (from {component.distribution}): its factory "
            f"returned a {type(obj).__name__}, which is not a {interface.__name__} "
            f"(it has no {', '.join(missing)})"
        )


def load_registered_task(name: str) -> Task:
    comp = get_registry().get("task", name)
    task = comp.factory()
    check_built(comp, task, Task)
    return task


def load_provider(config: ProviderConfig) -> Provider:
    comp = get_registry().get("provider", config.name)
    provider = comp.factory(config)
    check_built(comp, provider, Provider)
    return provider


def load_trainer(name: str) -> Trainer:
    comp = get_registry().get("trainer", name)
    trainer = comp.factory()
    check_built(comp, trainer, Trainer)
    return trainer
