"""What every API provider shares: concurrency, retries, the response cache, keys and cost.

    provider = ApiProvider(config, family="openai", model="gpt-4o", key_env="OPENAI_API_KEY",
                           base_url=None, where="api.openai.com", connect=make_backend)
    for completion in provider.complete(requests, task.schema):
        ...

A vendor module (``openai.py``, ``mistral.py``, ``litellm.py``) supplies a ``ChatBackend``
(``backend.py``): ``send(call) -> ChatResult`` makes one HTTP call through its client library,
with the library's own retries switched off, and turns the library's exceptions into the few
that ``backend.py`` defines. The behaviour lives here, once, and is tested through each real
client:

- ``config.concurrency`` requests in flight on a thread pool; completions come back as they
  finish, cached ones first.
- 429, 5xx, timeouts and dropped connections are retried up to ``config.max_retries`` times
  with exponential backoff and jitter: ``extra["backoff_s"]`` (1 s) doubling per retry, capped
  at ``extra["max_backoff_s"]`` (60 s). A ``Retry-After``/``retry-after-ms`` header wins.
- A request that fails for good yields ``Completion(text=None, error=...)`` and the run goes
  on. Only what would fail every request stops it: a missing or rejected key
  (``MissingKeyError`` naming the variable), an unknown model or an unreachable server
  (``ProviderError``).
- Classification requests ask for JSON mode (``response_format={"type": "json_object"}``), or
  for a JSON schema of the allowed labels with ``--decoding constrained``. A server that
  answers HTTP 400 about ``response_format`` is asked again without it, and the provider
  remembers that for the rest of the run. ``Request.params`` (``json``, ``temperature``,
  ``seed``, ``max_tokens``) override the config; temperature 0 and seed 0 by default.
- Each successful answer is written to the on-disk cache (``config.cache_dir``) the moment it
  arrives, keyed by provider, model, base URL, messages and parameters. A rerun is answered
  from the cache (``cached=True``, cost 0, original token counts and latency) without a key.
- Cost is the backend's own figure (litellm) or the price (``prices.py``: litellm's cost map,
  then the project's table); unknown models cost 0.
- Token log-probabilities are asked for (``logprobs``, ``top_logprobs``: ``extra["top_logprobs"]``,
  20 by default, 0 to switch off); where the server returns them, each answer carries label
  probabilities (``logprobs.py``), which the cache keeps with the answer. A server that answers
  HTTP 400 about ``logprobs`` is asked again without them, and remembered. Asking is not part of
  the cache key: answers cached without probabilities are reused as they are. A ``bizztune
  serve`` answer carries its constrained scorer's probabilities itself (``choice.bizztune``),
  taken when there are no token logprobs.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from typing import Any, Literal

from bizztune.core.errors import ConfigError, MissingKeyError, ProviderError
from bizztune.core.interfaces import Completion, ProviderConfig, Request, Schema
from bizztune.providers.api.backend import (
    ChatBackend,
    ChatCall,
    ChatResult,
    FatalError,
    FormatRejected,
    KeyRejected,
    LogprobsRejected,
    RequestFailed,
    TransientError,
)
from bizztune.providers.api.cache import ResponseCache, cache_key
from bizztune.providers.api.logprobs import answer_probs
from bizztune.providers.api.prices import api_price

log = logging.getLogger("bizztune.api")

Format = Literal["text", "json", "schema"]
_LEVEL: dict[Format, int] = {"text": 0, "json": 1, "schema": 2}
_KNOWN_PARAMS = {"json", "temperature", "seed", "max_tokens"}
TOP_LOGPROBS = 20
"""Alternatives asked for per token: OpenAI's maximum, and vLLM's default limit."""


def answer_schema(schema: Schema, fields: Sequence[str]) -> dict[str, Any]:
    """JSON schema of one answer: every field, each one of its labels, nothing else."""
    return {
        "type": "object",
        "properties": {f: {"type": "string", "enum": list(schema.field(f).labels)} for f in fields},
        "required": list(fields),
        "additionalProperties": False,
    }


def _number(extra: Mapping[str, Any], key: str, default: float) -> float:
    value = extra.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"provider extra.{key} must be a number of seconds >= 0, not {value!r}")
    return float(value)


# -- the provider ---------------------------------------------------------------------------------
class ApiProvider:
    """A Provider over a ``ChatBackend``: concurrency, retries, cache, cost."""

    def __init__(
        self,
        config: ProviderConfig,
        *,
        family: str,
        model: str,
        key_env: str | None,
        base_url: str | None,
        where: str,
        connect: Callable[[], ChatBackend],
    ) -> None:
        self.name = config.name
        self.model = model
        self.family = family
        """Provider family in the cache key: an alias and its family share answers."""
        self.config = config
        self.key_env = key_env
        self.base_url = base_url
        self.where = where
        """The server, for messages: ``api.openai.com`` or the ``--base-url``."""
        self._connect = connect
        self._backend: ChatBackend | None = None
        self.cache = ResponseCache(config.cache_dir) if config.cache_dir else None
        self.backoff_s = _number(config.extra, "backoff_s", 1.0)
        self.max_backoff_s = _number(config.extra, "max_backoff_s", 60.0)
        self.price = api_price(model, family)
        top = config.extra.get("top_logprobs", TOP_LOGPROBS)
        if isinstance(top, bool) or not isinstance(top, int) or top < 0:
            raise ConfigError(
                f"provider extra.top_logprobs must be a whole number >= 0, not {top!r}"
            )
        self.top_logprobs: int | None = top or None
        self.stats: Counter[str] = Counter()
        """http_calls, retries, cache_hits, failed: for logs and tests."""
        self._format_cap: int = _LEVEL["schema"]
        self._lock = threading.Lock()
        self._warned: set[str] = set()

    # The request's own view of what to send, before any fallback. This is what the cache
    # key holds, so a rerun finds the answer whatever the server made us fall back to.
    def _wanted(self, r: Request, schema: Schema) -> tuple[Format, dict[str, Any]]:
        p = r.params
        unknown = set(p) - _KNOWN_PARAMS
        if unknown:
            self._warn_once(
                "params", "ignoring request params %s (known: %s)", sorted(unknown), _KNOWN_PARAMS
            )
        json_mode = p.get("json")
        if json_mode is None:
            json_mode = bool(r.fields)
        fmt: Format = "text"
        if json_mode:
            constrained = self.config.decoding == "constrained" and r.fields
            fmt = "schema" if constrained else "json"
        params = {
            "temperature": float(
                p["temperature"] if p.get("temperature") is not None else self.config.temperature
            ),
            "seed": p.get("seed", self.config.seed),
            "max_tokens": int(
                p["max_tokens"] if p.get("max_tokens") is not None else self.config.max_new_tokens
            ),
            "format": fmt,
        }
        if fmt == "schema":
            params["schema"] = answer_schema(schema, r.fields)
        return fmt, params

    def _key(self, r: Request, params: Mapping[str, Any]) -> str:
        return cache_key(
            {
                "provider": self.family,
                "model": self.model,
                "base_url": self.base_url,
                "request": r.cache_payload(),
                "params": params,
            }
        )

    def complete(self, requests: Sequence[Request], schema: Schema) -> Iterator[Completion]:
        todo: list[tuple[Request, Format, dict[str, Any], str]] = []
        for r in requests:
            fmt, params = self._wanted(r, schema)
            key = self._key(r, params)
            hit = self.cache.get(key) if self.cache else None
            if hit is not None:
                self._count("cache_hits")
                yield Completion(
                    r.id,
                    hit["text"],
                    latency_s=float(hit.get("latency_s", 0.0)),
                    prompt_tokens=int(hit.get("prompt_tokens", 0)),
                    completion_tokens=int(hit.get("completion_tokens", 0)),
                    cost_usd=0.0,
                    cached=True,
                    probs=hit.get("probs"),
                    confidence=hit.get("confidence"),
                )
            else:
                todo.append((r, fmt, params, key))
        if not todo:
            return
        backend = self._get_backend()
        stop = threading.Event()
        pool = ThreadPoolExecutor(
            max_workers=min(self.config.concurrency, len(todo)),
            thread_name_prefix=f"bizztune-{self.family}",
        )
        try:
            futures: list[Future[Completion]] = [
                pool.submit(self._answer, backend, r, schema, fmt, params, key, stop)
                for r, fmt, params, key in todo
            ]
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            # On an error or an interrupt: no new requests and no more waiting for retries.
            # Calls already in flight still finish and land in the cache.
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)

    def _get_backend(self) -> ChatBackend:
        with self._lock:
            if self._backend is None:
                self._backend = self._connect()
            return self._backend

    def _answer(
        self,
        backend: ChatBackend,
        r: Request,
        schema: Schema,
        fmt: Format,
        params: Mapping[str, Any],
        key: str,
        stop: threading.Event,
    ) -> Completion:
        """One request, retried as its errors allow, then cached and priced."""
        retries = 0
        while True:
            level = min(_LEVEL[fmt], self._format_cap)
            call = ChatCall(
                model=self.model,
                messages=r.messages,
                temperature=params["temperature"],
                seed=params["seed"],
                max_tokens=params["max_tokens"],
                response_format=_response_format(level, params.get("schema")),
                timeout_s=self.config.timeout_s,
                top_logprobs=self.top_logprobs if r.fields else None,
            )
            if stop.is_set():  # the run is stopping: an error elsewhere, or an interrupt
                return Completion(r.id, None, error="cancelled")
            self._count("http_calls")
            t0 = time.perf_counter()
            try:
                res = backend.send(call)
            except FormatRejected as e:
                if level == 0:
                    return self._failed(r, str(e))
                self._lower_format(level, e)
                continue
            except LogprobsRejected as e:
                if call.top_logprobs is None:
                    return self._failed(r, str(e))
                self._no_logprobs(e)
                continue
            except TransientError as e:
                retries += 1
                given_up = self._wait_to_retry(r, e, retries, stop)
                if given_up is not None:
                    return given_up
                continue
            except RequestFailed as e:
                return self._failed(r, str(e))
            except (KeyRejected, FatalError) as e:
                stop.set()  # every other request would be rejected too
                raise self._fatal(e) from None
            return self._completion(r, schema, call, res, time.perf_counter() - t0, key)

    def _wait_to_retry(
        self, r: Request, e: TransientError, retries: int, stop: threading.Event
    ) -> Completion | None:
        """Wait before retry ``retries``; the request's failure when it has had its retries
        or the run is stopping (a server that cannot be reached at all stops the run)."""
        if retries > self.config.max_retries:
            if e.connection:
                stop.set()
                raise ProviderError(
                    f"cannot reach {self.where} after {retries} attempts ({e}): "
                    f"is the server running and --base-url right?"
                ) from None
            return self._failed(r, f"{e} (gave up after {retries} attempts)")
        delay = self._delay(retries, e.retry_after)
        self._count("retries")
        log.info(
            f"{self.name} {r.id}: {e}; retry {retries}/{self.config.max_retries} in {delay:.2f}s"
        )
        return Completion(r.id, None, error="cancelled") if stop.wait(delay) else None

    def _fatal(self, e: Exception) -> Exception:
        """What stops the run: a rejected key (naming its variable), or a fatal error."""
        if isinstance(e, KeyRejected):
            env = self.key_env or "the provider's key variable"
            return MissingKeyError(
                f"{self.where} rejected the API key ({e}): set {env} to a valid key, "
                f"in the environment or in a .env file"
            )
        return ProviderError(f"{self.name} at {self.where}: {e}")

    def _completion(
        self, r: Request, schema: Schema, call: ChatCall, res: Any, latency: float, key: str
    ) -> Completion:
        """The answer with its label probabilities and cost, written to the cache first."""
        cost = res.cost_usd if res.cost_usd is not None else self._cost(res)
        got = answer_probs(res.text, res.logprobs, schema, r.fields) if res.logprobs else None
        if got is None and res.label_probs is not None:
            theirs = {f: p for f, p in res.label_probs[0].items() if f in r.fields}
            got = (theirs, res.label_probs[1]) if theirs else None
        probs, conf = got if got else (None, None)
        if self.cache is not None:
            self.cache.put(
                key,
                {
                    "text": res.text,
                    "prompt_tokens": res.prompt_tokens,
                    "completion_tokens": res.completion_tokens,
                    "cost_usd": cost,
                    "latency_s": latency,
                    "provider": self.family,
                    "model": self.model,
                    "base_url": self.base_url,
                    "response_format": call.response_format,
                    "created": datetime.now(UTC).isoformat(timespec="seconds"),
                    "probs": probs,
                    "confidence": conf,
                },
            )
        return Completion(
            r.id,
            res.text,
            latency_s=latency,
            prompt_tokens=res.prompt_tokens,
            completion_tokens=res.completion_tokens,
            cost_usd=cost,
            probs=probs,
            confidence=conf,
        )

    def _delay(self, retry: int, wait: float | None) -> float:
        if wait is not None:
            return min(max(wait, 0.0), self.max_backoff_s)
        base = min(self.backoff_s * 2 ** (retry - 1), self.max_backoff_s)
        return base * random.uniform(0.5, 1.0)  # jitter keeps concurrent retries apart

    def _lower_format(self, level: int, e: Exception) -> None:
        with self._lock:
            if self._format_cap >= level:
                self._format_cap = level - 1
                names = {v: k for k, v in _LEVEL.items()}
                log.warning(
                    "%s at %s refused response_format %s (%s); using %s from now on",
                    self.name,
                    self.where,
                    names[level],
                    e,
                    names[level - 1],
                )

    def _no_logprobs(self, e: Exception) -> None:
        with self._lock:
            if self.top_logprobs is not None:
                self.top_logprobs = None
                log.warning(
                    "%s at %s refused logprobs (%s): answers carry no label probabilities",
                    self.name,
                    self.where,
                    e,
                )

    def _cost(self, res: ChatResult) -> float:
        if self.price is None:
            level = logging.INFO if self.base_url else logging.WARNING
            self._warn_once(
                "price",
                "no price known for model %r: cost counted as 0 (see PRICES in %s)",
                self.model,
                api_price.__module__,
                level=level,
            )
            return 0.0
        return self.price.usd(res.prompt_tokens, res.completion_tokens)

    def _failed(self, r: Request, error: str) -> Completion:
        self._count("failed")
        log.warning("%s %s failed: %s", self.name, r.id, error)
        return Completion(r.id, None, error=error)

    def _count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1

    def _warn_once(self, topic: str, msg: str, *args: Any, level: int = logging.WARNING) -> None:
        with self._lock:
            if topic in self._warned:
                return
            self._warned.add(topic)
        log.log(level, msg, *args)


def _response_format(level: int, schema: dict[str, Any] | None) -> dict[str, Any] | None:
    if level >= _LEVEL["schema"] and schema is not None:
        return {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema, "strict": True},
        }
    if level >= _LEVEL["json"]:
        return {"type": "json_object"}
    return None
