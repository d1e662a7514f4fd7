"""Registration of providers (factories import their modules lazily)."""

from __future__ import annotations

from bizztune.hookspecs import Register


def register(register: Register) -> None:
    return None
