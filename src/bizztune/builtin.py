"""Built-in tasks, providers and trainers, registered through the same hooks as any plugin.

Each family registers from its own small module; factories import heavy code lazily so
``bizztune plugins`` stays fast.
"""

from __future__ import annotations

from bizztune.core.hookspecs import Register, hookimpl


@hookimpl
def register_tasks(register: Register) -> None:
    from bizztune.tasks import tickets

    tickets.register(register)


@hookimpl
def register_providers(register: Register) -> None:
    from bizztune.providers import api, baselines, local

    baselines.register(register)
    api.register(register)
    local.register(register)


@hookimpl
def register_trainers(register: Register) -> None:
    from bizztune import trainers

    trainers.register(register)
