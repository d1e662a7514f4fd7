"""bizztune: benchmark and QLoRA fine-tune LLMs on business classification tasks."""

from bizztune.core.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
