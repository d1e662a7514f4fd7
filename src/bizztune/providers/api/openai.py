"""The ``openai`` provider: OpenAI's API, or any OpenAI-compatible server, via the official client.

    bizztune eval --provider gpt-4o                     # OPENAI_API_KEY from the env or ./.env
    bizztune eval --provider openai --base-url http://localhost:8000/v1 \\
        --model mistralai/Mistral-7B-Instruct-v0.3 --concurrency 32   # vLLM, Ollama, llama.cpp

Aliases (``gpt-4``, ``gpt-4o``, ``gpt-4o-mini``, ``gpt-3.5-turbo``) name their model when
``--model`` is not given. Without ``--base-url`` the client's ``OPENAI_BASE_URL`` is honoured.
Retries, concurrency, the cache and cost are ``bizztune.providers.api``'s; this module only
makes one call and maps the client's exceptions.
"""

from __future__ import annotations

import os
from typing import Any

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import ProviderConfig
from bizztune.providers.api.backend import (
    ChatCall,
    ChatResult,
    RequestFailed,
    TransientError,
    api_key,
    error_message,
    read_chat_response,
    resolve_model,
    retry_after,
    status_error,
)
from bizztune.providers.api.engine import ApiProvider

KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
"""Points the client (and so this provider) at an OpenAI-compatible server, which takes any key."""
DEFAULT_MODEL = "gpt-4o-mini"
OPENAI_URL = "https://api.openai.com/v1"


class OpenAIBackend:
    """One chat-completions call through ``openai.OpenAI`` (its retries off)."""

    def __init__(self, api_key: str, base_url: str | None, timeout_s: float) -> None:
        import openai

        # An explicit URL: the client would otherwise read OPENAI_BASE_URL, even when empty.
        self.client = openai.OpenAI(
            api_key=api_key, base_url=base_url or OPENAI_URL, max_retries=0, timeout=timeout_s
        )

    def send(self, call: ChatCall) -> ChatResult:
        kwargs: dict[str, Any] = {
            "model": call.model,
            "messages": call.messages,
            "temperature": call.temperature,
            "max_tokens": call.max_tokens,
            "timeout": call.timeout_s,
        }
        if call.seed is not None:
            kwargs["seed"] = call.seed
        if call.response_format is not None:
            kwargs["response_format"] = call.response_format
        if call.top_logprobs is not None:
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = call.top_logprobs
        try:
            resp = self.client.chat.completions.create(**kwargs)
        except Exception as e:
            mapped = map_openai_error(e, call.timeout_s)
            if mapped is e:
                raise
            raise mapped from e
        return read_chat_response(resp)


def map_openai_error(e: Exception, timeout_s: float) -> Exception:
    """Our exception for one raised by the openai client (litellm raises subclasses of these).

    Anything unknown comes back as it is, to be raised: a bug should be loud.
    """
    import openai

    if isinstance(e, openai.APIStatusError):
        body = e.body if e.body is not None else e.response.text
        # litellm keeps the upstream error in its message and hands over an empty response
        message = error_message(body) if body else str(getattr(e, "message", "") or e)[:300]
        return status_error(e.status_code, message, retry_after(e.response.headers))
    if isinstance(e, openai.APITimeoutError):
        return TransientError(f"timed out after {timeout_s:g}s")
    if isinstance(e, openai.APIConnectionError):
        return TransientError(f"connection error: {e.__cause__ or e}", connection=True)
    if isinstance(e, (openai.APIResponseValidationError, ValueError)):
        # a 200 whose body is not JSON (ValueError) or not a chat completion
        return RequestFailed(f"malformed response body: {type(e).__name__}: {e}")
    return e


def create(config: ProviderConfig) -> ApiProvider:
    base_url = config.base_url or os.environ.get(BASE_URL_ENV) or None
    if base_url and not config.model and config.name == "openai":
        raise ConfigError(
            "--model is required with --base-url: the name the server serves, e.g. "
            "--model mistralai/Mistral-7B-Instruct-v0.3 (vLLM) or --model llama3.1 (Ollama)"
        )
    model = resolve_model(config, "openai", DEFAULT_MODEL)

    def connect() -> OpenAIBackend:
        key = api_key(KEY_ENV, base_url, f"provider '{config.name}' (OpenAI)")
        return OpenAIBackend(key, base_url, config.timeout_s)

    return ApiProvider(
        config,
        family="openai",
        model=model,
        key_env=KEY_ENV,
        base_url=base_url,
        where=base_url or "api.openai.com",
        connect=connect,
    )
