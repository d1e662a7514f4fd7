"""What a vendor's client module gives the API engine: one call in, one result or exception out.

    class MyBackend:                                   # a ChatBackend
        def send(self, call: ChatCall) -> ChatResult:
            try:
                resp = client.chat(...)                # the client's own retries off
            except client.HTTPError as e:
                raise status_error(e.status, error_message(e.body), retry_after(e.headers))
            return read_chat_response(resp)

The engine (``engine.py``) retries ``TransientError`` with backoff, records ``RequestFailed``
as an error answer, falls back from ``FormatRejected`` to a plainer response format, and stops
the run on ``FatalError`` and ``KeyRejected``. The helpers below map HTTP statuses, headers and
OpenAI-shaped bodies, which every client here (openai, mistralai, litellm) hands over.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from bizztune.core.errors import MissingKeyError
from bizztune.core.interfaces import Message, ProviderConfig
from bizztune.providers.api.logprobs import TokenLogprob, read_logprobs


# -- what a backend raises ------------------------------------------------------------------------
class TransientError(Exception):
    """Worth retrying: HTTP 429, 408, 409, 5xx, a timeout or a dropped connection."""

    def __init__(
        self, message: str, retry_after: float | None = None, *, connection: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.connection = connection
        """The server could not be reached at all (connection refused, DNS)."""


class RequestFailed(Exception):
    """This request failed for good (HTTP 400, a malformed body): an error completion."""


class FormatRejected(RequestFailed):
    """The server refused ``response_format``: ask again without it."""


class LogprobsRejected(RequestFailed):
    """The server refused ``logprobs``/``top_logprobs``: ask again without them."""


class FatalError(Exception):
    """Every further request would fail the same way (unknown model, HTTP 403): stop."""


class KeyRejected(FatalError):
    """HTTP 401: the key is missing or wrong."""


@dataclass(frozen=True)
class ChatCall:
    """One HTTP call, with every parameter resolved."""

    model: str
    messages: list[Message]
    temperature: float
    seed: int | None
    max_tokens: int
    response_format: dict[str, Any] | None
    """OpenAI-shaped: ``{"type": "json_object"}`` or ``{"type": "json_schema", ...}``."""
    timeout_s: float
    top_logprobs: int | None = None
    """Ask for token log-probabilities with this many alternatives per token (OpenAI's
    ``logprobs: true, top_logprobs: k``); None: do not ask. Backends whose API has no such
    parameter (mistral) ignore it."""


@dataclass(frozen=True)
class ChatResult:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    """The backend's own cost figure; None: use the price table."""
    logprobs: tuple[TokenLogprob, ...] | None = None
    """The answer's tokens with their log-probabilities, when the server returned them."""
    label_probs: tuple[dict[str, dict[str, float]], float | None] | None = None
    """Field -> label -> probability and the answer's probability, where the server computed
    them itself (``bizztune serve`` puts its constrained scorer's in ``choice.bizztune``)."""


class ChatBackend(Protocol):
    def send(self, call: ChatCall) -> ChatResult: ...


# -- helpers for backends -------------------------------------------------------------------------
def api_key(env_var: str, base_url: str | None, what: str) -> str:
    """The key from the environment (``.env`` is loaded by the CLI).

    A self-hosted ``--base-url`` server usually wants no key; the clients need some string,
    so it gets "EMPTY", as the vLLM docs do.
    """
    key = os.environ.get(env_var, "").strip()
    if key:
        return key
    if base_url:
        return "EMPTY"
    raise MissingKeyError(
        f"{what} needs an API key: set {env_var} in the environment or in a .env file "
        f"in the current directory ({env_var}=...)"
    )


def resolve_model(config: ProviderConfig, family: str, default: str) -> str:
    """``--model`` wins; an alias (``gpt-4o``) names its model; else the family default."""
    if config.model:
        return config.model
    return config.name if config.name != family else default


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if not headers:
        return None
    # Header names are case-insensitive; a plain dict from a client may keep any case.
    headers = {k.lower(): v for k, v in headers.items()}
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def error_message(body: Any, limit: int = 300) -> str:
    """The human part of an error body: ``{"error": {"message": ...}}``, ``{"message": ...}``."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            return text.strip()[:limit] or "(empty body)"
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            for k in ("message", "detail", "msg"):
                if inner.get(k):
                    return str(inner[k])[:limit]
        elif isinstance(inner, str):
            return inner[:limit]
    return json.dumps(body, ensure_ascii=False)[:limit]


_FORMAT_WORDS = re.compile(r"response[_ ]?format|json[_ ]schema|json_object|json mode", re.I)


def status_error(status: int, message: str, wait: float | None = None) -> Exception:
    """The exception for an HTTP error status."""
    what = f"HTTP {status}: {message}"
    if status in (400, 422) and "logprob" in message.lower():
        return LogprobsRejected(what)
    if status == 401:
        return KeyRejected(what)
    if status == 429 or status in (408, 409) or status >= 500:
        return TransientError(what, wait)
    if status in (400, 422) and _FORMAT_WORDS.search(message):
        return FormatRejected(what)
    if status == 404:
        return FatalError(
            f"{what}. Check --model (the exact name the server serves) and --base-url "
            f"(for OpenAI-compatible servers it usually ends in /v1)"
        )
    if status == 403:
        return FatalError(what)
    return RequestFailed(what)


def read_chat_response(resp: Any) -> ChatResult:
    """Text and usage of an OpenAI-shaped chat response object (openai, mistralai, litellm)."""
    try:
        choices = resp.choices
        if not choices:
            raise RequestFailed("malformed response: no choices")
        msg = choices[0].message
        content = msg.content
        if isinstance(content, list):  # mistral may answer in typed chunks
            content = "".join(str(getattr(c, "text", "") or "") for c in content)
        if not isinstance(content, str):
            reason = getattr(choices[0], "finish_reason", None)
            raise RequestFailed(f"empty answer (finish_reason={reason})")
        usage = getattr(resp, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
    except (AttributeError, TypeError, IndexError, KeyError, ValueError) as e:
        raise RequestFailed(f"malformed response: {type(e).__name__}: {e}") from e
    return ChatResult(
        content,
        prompt,
        completion,
        logprobs=read_logprobs(choices[0]),
        label_probs=read_label_probs(choices[0]),
    )


def read_label_probs(choice: Any) -> tuple[dict[str, dict[str, float]], float | None] | None:
    """``choice.bizztune.probs`` and ``.confidence`` of a ``bizztune serve`` answer, if well
    formed (field -> label -> number); None for any other server."""
    ext = getattr(choice, "bizztune", None)
    extra = getattr(choice, "model_extra", None)
    if ext is None and isinstance(extra, dict):
        ext = extra.get("bizztune")
    if not isinstance(ext, dict):
        return None
    probs = ext.get("probs")
    if not isinstance(probs, dict) or not probs:
        return None
    try:
        out = {str(f): {str(k): float(v) for k, v in d.items()} for f, d in probs.items()}
        conf = ext.get("confidence")
        return out, float(conf) if conf is not None else None
    except (AttributeError, TypeError, ValueError):
        return None
