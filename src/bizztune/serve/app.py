"""The HTTP routes of ``bizztune serve`` (FastAPI): classify, OpenAI chat, models, health.

    app = create_app(state)      # state: the loaded provider, the task, the limits
    uvicorn.run(app)             # server.py does this, with a graceful shutdown

Errors have OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, so the
openai client shows the message: 400 bad JSON or a bad field, 401 missing or wrong bearer key,
404 unknown model, 413 body, ticket or item count over a limit, 429 queue full (with
``Retry-After``), 503 shutting down. Nothing here logs a body or the key.

No ``from __future__ import annotations`` here: FastAPI reads the routes' annotations at run
time, and ``Request`` is imported inside ``create_app`` (fastapi stays a lazy import).
"""

import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bizztune.core.interfaces import PromptStyle, Task
from bizztune.serve.batcher import BadItem, Batcher, Closed, Overloaded
from bizztune.serve.bodies import (
    BadRequest,
    Limits,
    chat_request,
    classify_requests,
    classify_result,
    parse_json,
)
from bizztune.serve.config import ServeConfig

if TYPE_CHECKING:
    from fastapi import FastAPI


@dataclass
class ServeState:
    config: ServeConfig
    task: Task
    batcher: Batcher
    identity: dict[str, Any]
    """served name, base model, adapter and its weights' hash, task, decoding: names, never a
    path of this machine (``server.identity``)."""
    key: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))
    closing: bool = False
    chat_refusal: str | None = None
    """Why /v1/chat/completions is refused (a combined model that needs the ticket's fields)."""
    chat_style: PromptStyle | None = None
    """The prompt style chats that are the task's prompt are asked in: the style the adapter
    was trained on (None: a chat goes to the model as sent)."""

    @property
    def served(self) -> list[str]:
        """Names a chat request may give as ``model``: the served name, then the base's."""
        names = [str(self.identity["model"]), self.config.model]
        return list(dict.fromkeys(names))


_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "service_unavailable",
}


def _error(status: int, message: str, param: str | None = None, **headers: str) -> Any:
    from fastapi.responses import JSONResponse

    body = {
        "error": {
            "message": message,
            "type": _TYPES.get(status, "server_error"),
            "param": param,
            "code": status,
        }
    }
    return JSONResponse(body, status_code=status, headers=headers or None)


def create_app(state: ServeState) -> "FastAPI":
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        state.batcher.start()
        yield
        # uvicorn has let the requests in flight finish (or timed them out): stop the worker
        state.closing = True
        state.batcher.stop(state.config.graceful_timeout_s)

    app = FastAPI(title="bizztune serve", lifespan=lifespan, docs_url=None, redoc_url=None)
    cfg = state.config
    limits = Limits(cfg.max_items, cfg.max_input_chars)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        if request.url.path.startswith("/v1") and state.key is not None:
            auth = request.headers.get("authorization", "")
            scheme, _, given = auth.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), state.key.encode()
            ):
                what = "missing" if not auth else "wrong"
                return _error(
                    401,
                    f"{what} bearer key: send 'Authorization: Bearer <key>' with the key "
                    "the server was started with (BIZZTUNE_SERVE_KEY)",
                )
        return await call_next(request)

    async def read_body(request: Request) -> Any:
        length = request.headers.get("content-length")
        too_big = BadRequest(
            413,
            f"the request body is over the limit of {cfg.max_body_bytes} bytes (--max-body-bytes)",
        )
        if length is not None and length.isdigit() and int(length) > cfg.max_body_bytes:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > cfg.max_body_bytes:
                raise too_big
            chunks.append(chunk)
        return parse_json(b"".join(chunks))

    async def run(reqs: list[Any]) -> list[Any]:
        if state.closing:
            raise BadRequest(503, "the server is shutting down")
        try:
            return await state.batcher.submit(reqs)
        except Overloaded as e:
            raise BadRequest(429, str(e)) from None
        except Closed as e:
            raise BadRequest(503, str(e)) from None

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> Any:
        headers = {"Retry-After": "1"} if exc.status in (429, 503) else {}
        return _error(exc.status, exc.message, exc.param, **headers)

    @app.exception_handler(BadItem)
    async def bad_item(request: Request, exc: BadItem) -> Any:
        return _error(400, str(exc))

    @app.exception_handler(RuntimeError)
    async def model_failed(request: Request, exc: RuntimeError) -> Any:
        return _error(500, str(exc))

    @app.get("/health")
    async def health() -> Any:
        b = state.batcher
        body = {
            "status": "closing" if state.closing else "ok",
            **state.identity,
            "queue": {"pending": b.pending, "max_queue": b.max_queue},
            "batches": {
                "count": b.stats.batches,
                "items": b.stats.items,
                "largest": b.stats.largest,
                "failed": b.stats.failed_batches,
                "failed_items": b.stats.failed_items,
                "max_batch": b.max_batch,
                "max_wait_ms": cfg.max_wait_ms,
            },
        }
        return JSONResponse(body, status_code=503 if state.closing else 200)

    @app.get("/v1/models")
    async def models() -> Any:
        return {
            "object": "list",
            "data": [
                {
                    "id": state.identity["model"],
                    "object": "model",
                    "created": state.created,
                    "owned_by": "bizztune",
                    "bizztune": state.identity,
                }
            ],
        }

    @app.post("/v1/classify")
    async def classify(request: Request) -> Any:
        t0 = time.perf_counter()
        body = await read_body(request)
        style = cfg.style or "long"
        reqs = classify_requests(body, state.task, style, limits)
        comps = await run(reqs)
        return {
            **state.identity,
            "results": [
                classify_result(state.task, r, c) for r, c in zip(reqs, comps, strict=True)
            ],
            "latency_ms": round((time.perf_counter() - t0) * 1000, 2),
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        t0 = time.perf_counter()
        if state.chat_refusal:
            raise BadRequest(400, state.chat_refusal)
        body = await read_body(request)
        req = chat_request(body, state.task, state.served, limits, state.chat_style)
        (c,) = await run([req])
        if c.text is None:
            return _error(500, f"the model gave no answer: {c.error}")
        return {
            "id": req.id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": state.identity["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": c.text},
                    "finish_reason": "stop",
                    "logprobs": None,
                    # The constrained scorer's label probabilities, beyond OpenAI's shape.
                    "bizztune": {"probs": c.probs, "confidence": c.confidence},
                }
            ],
            "usage": {
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "total_tokens": c.prompt_tokens + c.completion_tokens,
            },
            "bizztune": {"latency_ms": round((time.perf_counter() - t0) * 1000, 2)},
        }

    return app
