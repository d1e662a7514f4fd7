"""pluggy hook specifications. A plugin module implements any of these with ``@hookimpl``.

Example (a third-party plugin's module, listed under the ``bizztune`` entry-point group)::

    import bizztune

    @bizztune.hookimpl
    def register_providers(register):
        register("echo", EchoProvider, description="answers the first label of every field")
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT = "bizztune"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Register = Callable[..., None]
"""``register(name, factory, description="", aliases=())``"""


@hookspec
def register_tasks(register: Register) -> None:
    """Register tasks: ``factory()`` returns a Task."""


@hookspec
def register_providers(register: Register) -> None:
    """Register providers: ``factory(config: ProviderConfig)`` returns a Provider."""


@hookspec
def register_trainers(register: Register) -> None:
    """Register trainers: ``factory()`` returns a Trainer."""
