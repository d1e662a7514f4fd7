"""The command line: ``bizztune`` and its commands, one module per command group."""

from bizztune.cli.main import cli, main

__all__ = ["cli", "main"]
