"""The plugin interfaces under their first import path, for plugins written against bizztune 0.1.

New code imports ``bizztune.core.interfaces``, where they live (docs/plugins.md).
"""

from bizztune.core.interfaces import (
    Completion,
    Decoding,
    Example,
    Fittable,
    LabelField,
    Message,
    ParsedAnswer,
    PromptStyle,
    Provider,
    ProviderConfig,
    Request,
    Schema,
    Task,
    Trainer,
)

__all__ = [
    "Completion",
    "Decoding",
    "Example",
    "Fittable",
    "LabelField",
    "Message",
    "ParsedAnswer",
    "PromptStyle",
    "Provider",
    "ProviderConfig",
    "Request",
    "Schema",
    "Task",
    "Trainer",
]
