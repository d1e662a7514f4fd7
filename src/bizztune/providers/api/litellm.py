"""The ``litellm`` provider: every other API (Anthropic, Gemini, Groq, Bedrock...) via litellm.

    bizztune eval --provider litellm --model anthropic/claude-3-5-haiku-latest  # ANTHROPIC_API_KEY
    bizztune eval --provider litellm --model openai/my-model --base-url http://localhost:8000/v1

``--model`` is litellm's ``<provider>/<model>`` name; litellm reads that provider's key
variable itself, and a missing one is named before anything is sent. Cost is litellm's own
``completion_cost`` when it knows the model, else the shared price table. litellm's model
price map is read from the installed package, never fetched from the internet. Retries,
concurrency and the cache are ``bizztune.providers.api``'s.
"""

from __future__ import annotations

import os
from typing import Any

from bizztune.core.errors import ConfigError, MissingKeyError
from bizztune.core.interfaces import ProviderConfig
from bizztune.providers.api.backend import ChatCall, ChatResult, read_chat_response
from bizztune.providers.api.engine import ApiProvider
from bizztune.providers.api.openai import map_openai_error


def _litellm() -> Any:
    # Without this, importing litellm downloads its price map from GitHub (and waits on it).
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


class LitellmBackend:
    """One ``litellm.completion`` call (litellm's and the underlying client's retries off)."""

    def __init__(self, model: str, base_url: str | None, api_key: str | None) -> None:
        self.litellm = _litellm()
        self.model = model
        self.base_url = base_url
        self.api_key = api_key

    def send(self, call: ChatCall) -> ChatResult:
        kwargs: dict[str, Any] = {
            "model": call.model,
            "messages": call.messages,
            "temperature": call.temperature,
            "max_tokens": call.max_tokens,
            "timeout": call.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
            # a provider without seed or response_format gets the call without them
            "drop_params": True,
        }
        if call.seed is not None:
            kwargs["seed"] = call.seed
        if call.response_format is not None:
            kwargs["response_format"] = call.response_format
        if call.top_logprobs is not None:
            # passed on where the provider takes them; drop_params drops them elsewhere
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = call.top_logprobs
        if self.base_url:
            kwargs["api_base"] = self.base_url
        if self.api_key:
            kwargs["api_key"] = self.api_key
        try:
            resp = self.litellm.completion(**kwargs)
        except Exception as e:  # litellm's exceptions subclass openai's
            mapped = map_openai_error(e, call.timeout_s)
            if mapped is e:
                raise
            raise mapped from e
        res = read_chat_response(resp)
        try:
            cost: float | None = float(self.litellm.completion_cost(completion_response=resp))
        except Exception:  # litellm raises for models missing from its price map
            cost = None
        return ChatResult(res.text, res.prompt_tokens, res.completion_tokens, cost, res.logprobs)


def create(config: ProviderConfig) -> ApiProvider:
    if not config.model:
        raise ConfigError(
            "--model is required for litellm: litellm's '<provider>/<model>' name, e.g. "
            "--model anthropic/claude-3-5-haiku-latest (see docs.litellm.ai/docs/providers)"
        )
    model, base_url = config.model, config.base_url
    prefix = model.split("/", 1)[0] if "/" in model else "the provider"

    def connect() -> LitellmBackend:
        litellm = _litellm()
        env = litellm.validate_environment(model=model, api_base=base_url)
        missing = list(env.get("missing_keys") or [])
        key: str | None = None
        if missing:
            if not base_url:
                raise MissingKeyError(
                    f"litellm model '{model}' needs {' and '.join(missing)}: set it in the "
                    f"environment or in a .env file in the current directory"
                )
            key = "EMPTY"  # a self-hosted server behind --base-url usually takes any key
        provider.key_env = " / ".join(missing) or f"the key variable litellm reads for {prefix}"
        return LitellmBackend(model, base_url, key)

    provider = ApiProvider(
        config,
        family="litellm",
        model=model,
        key_env=None,
        base_url=base_url,
        where=base_url or f"litellm ({prefix})",
        connect=connect,
    )
    return provider
