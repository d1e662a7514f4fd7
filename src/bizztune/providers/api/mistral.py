"""The ``mistral`` provider: Mistral's API through the official ``mistralai`` client.

    bizztune eval --provider mistral-small-latest       # MISTRAL_API_KEY from the env or ./.env
    bizztune eval --provider mistral --model open-mistral-nemo --concurrency 8

Aliases (``open-mistral-7b``, ``mistral-small-latest``) name their model; any other model goes
through ``--model``. ``--base-url`` points the client elsewhere (a trailing ``/v1`` is fine).
Retries, concurrency, the cache and cost are ``bizztune.providers.api``'s; this module only
makes one call and maps the client's exceptions. Mistral's chat API returns no token
log-probabilities, so its answers carry no label probabilities (the evaluator records 1 for the
label answered).
"""

from __future__ import annotations

from typing import Any

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

KEY_ENV = "MISTRAL_API_KEY"
DEFAULT_MODEL = "mistral-small-latest"


class MistralBackend:
    """One ``chat.complete`` call through ``mistralai.client.Mistral`` (its retries off)."""

    def __init__(self, api_key: str, server_url: str | None, timeout_s: float) -> None:
        from mistralai.client import Mistral

        # No retry_config: the client then makes exactly one attempt per call.
        self.client = Mistral(
            api_key=api_key, server_url=server_url, timeout_ms=int(timeout_s * 1000)
        )

    def send(self, call: ChatCall) -> ChatResult:
        kwargs: dict[str, Any] = {
            "model": call.model,
            "messages": call.messages,
            "temperature": call.temperature,
            "max_tokens": call.max_tokens,
            "timeout_ms": int(call.timeout_s * 1000),
        }
        if call.seed is not None:
            kwargs["random_seed"] = call.seed
        if call.response_format is not None:
            kwargs["response_format"] = call.response_format
        try:
            resp = self.client.chat.complete(**kwargs)
        except Exception as e:
            mapped = map_mistral_error(e, call.timeout_s)
            if mapped is e:
                raise
            raise mapped from e
        return read_chat_response(resp)


def _transport(e: Exception, name: str) -> bool:
    # mistralai ships its own httpx fork (httpx2); match by class name, as the client does.
    return name in {c.__name__ for c in type(e).__mro__}


def map_mistral_error(e: Exception, timeout_s: float) -> Exception:
    """Our exception for one raised by the mistralai client; unknown ones come back as they are."""
    from mistralai.client import errors

    if isinstance(e, errors.ResponseValidationError):
        # a 200 whose body is not JSON or not a chat completion
        return RequestFailed(f"malformed response body: {e.message.splitlines()[0]}")
    if isinstance(e, errors.MistralError):
        return status_error(e.status_code, error_message(e.body), retry_after(e.headers))
    if isinstance(e, errors.NoResponseError):
        return TransientError("no response received")
    if _transport(e, "TimeoutException"):
        return TransientError(f"timed out after {timeout_s:g}s")
    if _transport(e, "NetworkError"):
        return TransientError(f"connection error: {e}", connection=True)
    if _transport(e, "RemoteProtocolError"):
        return TransientError(f"connection dropped: {e}")
    return e


def create(config: ProviderConfig) -> ApiProvider:
    model = resolve_model(config, "mistral", DEFAULT_MODEL)
    base_url = config.base_url
    # The client adds /v1/chat/completions itself.
    server_url = base_url.rstrip("/").removesuffix("/v1") if base_url else None

    def connect() -> MistralBackend:
        key = api_key(KEY_ENV, base_url, f"provider '{config.name}' (Mistral)")
        return MistralBackend(key, server_url, config.timeout_s)

    return ApiProvider(
        config,
        family="mistral",
        model=model,
        key_env=KEY_ENV,
        base_url=base_url,
        where=base_url or "api.mistral.ai",
        connect=connect,
    )
