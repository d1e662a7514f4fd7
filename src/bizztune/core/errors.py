"""Project exceptions. Domain code raises these; the CLI (``bizztune.cli.main``) turns them into one
clear line and a non-zero exit."""

from __future__ import annotations


class BizztuneError(Exception):
    """A problem the user can fix. The message names the file, line, field or flag."""


class ConfigError(BizztuneError):
    """A bad flag, YAML file or config value."""


class DataError(BizztuneError):
    """A bad dataset file or row."""


class PluginError(BizztuneError):
    """An unknown or broken task, provider or trainer."""


class MissingKeyError(BizztuneError):
    """An API key is not set."""


class ProviderError(BizztuneError):
    """A provider failed for good (after retries)."""


class MissingDependencyError(BizztuneError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"this needs the '{package}' package: pip install 'bizztune[{extra}]'")
