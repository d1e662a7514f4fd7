"""``bizztune plugins``: every registered task, provider and trainer, and where it came from."""

from __future__ import annotations

import click


@click.command()
def plugins() -> None:
    """List every task, provider and trainer, with the package it came from."""
    from rich.console import Console
    from rich.table import Table

    from bizztune.core.registry import KINDS
    from bizztune.plugins import registry

    reg = registry()
    table = Table(title="bizztune plugins")
    for col in ("kind", "name", "aliases", "from", "description"):
        table.add_column(col)
    for kind in KINDS:
        for name in reg.names(kind):
            c = reg.components[kind][name]
            table.add_row(kind, name, ", ".join(c.aliases), c.distribution, c.description)
    Console(width=160).print(table)
