"""Registration of the API providers: ``openai``, ``mistral`` and ``litellm``.

    bizztune eval --provider gpt-4o                       # an alias names its model
    bizztune eval --provider openai --base-url http://localhost:8000/v1 --model <served name>
    bizztune eval --provider mistral --model open-mistral-nemo
    bizztune eval --provider litellm --model anthropic/claude-3-5-haiku-latest

Each is registered with what it needs: the variable of its key, the variable that points it
at a self-hosted server, and that it is paid (answers cached on disk and priced, skipped by
``--no-api``). The vendor modules are light; their factories import the client library
(openai, mistralai or litellm) only when called, so ``bizztune --help`` and
``bizztune plugins`` stay fast. See docs/providers.md.
"""

from __future__ import annotations

from bizztune.core.hookspecs import Register, hookimpl
from bizztune.core.interfaces import Provider, ProviderConfig

OPENAI_ALIASES = ("gpt-4", "gpt-4o", "gpt-4o-mini", "gpt-3.5-turbo")
MISTRAL_ALIASES = ("open-mistral-7b", "mistral-small-latest")


def _openai(config: ProviderConfig) -> Provider:
    from bizztune.providers.api.openai import create

    return create(config)


def _mistral(config: ProviderConfig) -> Provider:
    from bizztune.providers.api.mistral import create

    return create(config)


def _litellm(config: ProviderConfig) -> Provider:
    from bizztune.providers.api.litellm import create

    return create(config)


@hookimpl
def register_providers(register: Register) -> None:
    from bizztune.providers.api import mistral, openai

    register(
        "openai",
        _openai,
        description="OpenAI API, or any OpenAI-compatible server with --base-url "
        "(vLLM, Ollama, llama.cpp server, LM Studio); key: OPENAI_API_KEY",
        aliases=OPENAI_ALIASES,
        key_env=openai.KEY_ENV,
        base_url_env=openai.BASE_URL_ENV,
        paid=True,
    )
    register(
        "mistral",
        _mistral,
        description="Mistral API (any --model); key: MISTRAL_API_KEY",
        aliases=MISTRAL_ALIASES,
        key_env=mistral.KEY_ENV,
        paid=True,
    )
    # litellm reads the key variable of the model's own provider and names a missing one
    # when it connects, so it declares none here.
    register(
        "litellm",
        _litellm,
        description="any litellm model, --model <provider>/<model>; key: that provider's",
        paid=True,
    )
