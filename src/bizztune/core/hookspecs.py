"""pluggy hook specifications. A plugin module implements any of these with ``@hookimpl``.

Example (a third-party plugin's module, listed under the ``bizztune`` entry-point group)::

    import bizztune

    @bizztune.hookimpl
    def register_providers(register):
        register("echo", EchoProvider, description="answers the first label of every field")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import pluggy

PROJECT = "bizztune"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class Register(Protocol):
    """What a hook implementation calls once for every component it adds."""

    def __call__(
        self,
        name: str,
        factory: Callable[..., object],
        description: str = "",
        aliases: Sequence[str] = (),
        *,
        key_env: str | None = None,
        base_url_env: str | None = None,
        paid: bool = False,
        fittable: bool = False,
    ) -> None:
        """Add ``factory`` under ``name`` (and ``aliases``), with what it needs: the variable
        of its API key (``key_env``), one that points it at a self-hosted server instead
        (``base_url_env``), whether it is a paid API (``paid``: answers cached and priced,
        ``--no-api`` skips it) and whether it learns from the train split (``fittable``)."""


@hookspec
def register_tasks(register: Register) -> None:
    """Register tasks: ``factory()`` returns a Task."""


@hookspec
def register_providers(register: Register) -> None:
    """Register providers: ``factory(config: ProviderConfig)`` returns a Provider."""


@hookspec
def register_trainers(register: Register) -> None:
    """Register trainers: ``factory()`` returns a Trainer."""
