"""The registry: every task, provider and trainer the plugins registered, and what each needs.

    reg = bizztune.plugins.registry()                  # assembled at the top of the package
    reg.provider("gpt-4o").needs.key_env               # 'OPENAI_API_KEY'
    provider = reg.provider("tfidf").build(ProviderConfig(name="tfidf"))

The plugin manager that fills it is built in ``bizztune.plugins`` (the built-in modules and
every ``bizztune`` entry point); this module only collects what the hooks register, so the
core imports nothing above it. Commands resolve names here once and pass the resolved task,
provider or trainer down.

A component says what it needs when it registers, as simonw/llm's models carry ``needs_key``
and ``key_env_var``: the environment variable of its API key, whether it is a paid API (its
answers are cached on disk and priced, and ``--no-api`` skips it), whether it is fitted on the
train split. The pipeline reads these ``Needs``; no table of built-in names stands elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pluggy

from bizztune.core.errors import PluginError
from bizztune.core.interfaces import Provider, ProviderConfig, Task, Trainer

Kind = Literal["task", "provider", "trainer"]
KINDS: tuple[Kind, ...] = ("task", "provider", "trainer")
INTERFACES: dict[Kind, type] = {"task": Task, "provider": Provider, "trainer": Trainer}


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
    """One registered task, provider or trainer: its factory and what it needs. A resolved
    name: the steps below the CLI get these (or what they build), never a name to look up."""

    kind: Kind
    name: str
    factory: Callable[..., Any]
    description: str
    distribution: str
    """The installed distribution (pip package) that registered it."""
    aliases: tuple[str, ...] = ()
    needs: Needs = Needs()

    def build(self, *args: Any) -> Any:
        """What the factory makes of ``args``, checked against the interface of its kind."""
        obj = self.factory(*args)
        check_built(self, obj, INTERFACES[self.kind])
        return obj


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

    def task(self, name: str) -> Task:
        task: Task = self.get("task", name).build()
        return task

    def provider(self, name: str) -> Component:
        """The registered provider ``name`` (or alias): ``.build(config)`` makes it,
        ``.needs`` says what it needs."""
        return self.get("provider", name)

    def load_provider(self, config: ProviderConfig) -> Provider:
        provider: Provider = self.provider(config.name).build(config)
        return provider

    def trainer(self, name: str) -> Trainer:
        trainer: Trainer = self.get("trainer", name).build()
        return trainer


def collect(pm: pluggy.PluginManager, distributions: Mapping[int, str]) -> Registry:
    """Call every plugin's hooks, each implementation on its own so that every component is
    attributed to its distribution (``distributions``: ``id(plugin module)`` -> its name)."""
    reg = Registry()
    hooks: dict[Kind, Any] = {
        "task": pm.hook.register_tasks,
        "provider": pm.hook.register_providers,
        "trainer": pm.hook.register_trainers,
    }
    for kind, hook in hooks.items():
        for impl in reversed(hook.get_hookimpls()):
            dist = distributions.get(id(impl.plugin), impl.plugin_name)

            def register(
                name: str,
                factory: Callable[..., object],
                description: str = "",
                aliases: Sequence[str] = (),
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
