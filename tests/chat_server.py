"""A real HTTP server on 127.0.0.1 that speaks the chat-completions protocol of OpenAI and
Mistral (both POST ``/v1/chat/completions`` with the same request and response shape).

Tests script it with a function from the parsed request body to a reply:

    def script(body, n):            # n counts requests, from 1
        if n == 1:
            return Reply(status=429, body={"error": {"message": "slow down"}})
        return Reply(content='{"category": "Ungewiss"}')

    with ChatServer(script) as srv:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="test")
        ...
        assert len(srv.requests) == 2

Asked for ``logprobs`` (OpenAI's ``logprobs: true, top_logprobs: k``), it returns them in
OpenAI's format: the reply's ``tokens`` (text, log-probability, alternatives), or else the
content cut into words and punctuation, each certain.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Reply:
    content: str | None = None
    """Assistant message text for a 200 answer."""
    status: int = 200
    body: Any = None
    """Raw JSON body (dict) or raw text (str) that replaces the normal answer."""
    delay_s: float = 0.0
    """Sleep before answering, to provoke client timeouts."""
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 50
    completion_tokens: int = 12
    tokens: list[tuple[str, float, list[tuple[str, float]]]] | None = None
    """The answer's tokens for ``logprobs``: (text, log-probability, [(alternative, its
    log-probability), ...]); they must add up to ``content``."""


def token_logprobs(reply: Reply, top: int) -> list[dict[str, Any]]:
    """OpenAI's ``choices[0].logprobs.content`` for a reply."""
    tokens = reply.tokens
    if tokens is None:
        words = re.findall(r"\w+|\s+|[^\w\s]", reply.content or "")
        tokens = [(w, 0.0, []) for w in words]
    assert "".join(t for t, _, _ in tokens) == reply.content, "tokens must add up to the content"

    def entry(text: str, lp: float) -> dict[str, Any]:
        return {"token": text, "logprob": lp, "bytes": list(text.encode("utf-8"))}

    out = []
    for text, lp, alts in tokens:
        ranked = sorted([(text, lp), *alts], key=lambda a: -a[1])[:top]
        out.append({**entry(text, lp), "top_logprobs": [entry(a, b) for a, b in ranked]})
    return out


Script = Callable[[dict[str, Any], int], Reply]


class ChatServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        # HTTP header names are case-insensitive (RFC 9110): clients may send `authorization`
        # or `Authorization`, so each request's headers are kept in httpx's case-insensitive map.
        self.headers: list[httpx.Headers] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                with server._lock:
                    server.requests.append({"path": self.path, **body})
                    server.headers.append(httpx.Headers(list(self.headers.items())))
                    n = len(server.requests)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}}, {})
                    return
                reply = server.script(body, n)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.body is not None:
                    self._send(reply.status, reply.body, reply.headers)
                    return
                payload = {
                    "id": f"chatcmpl-{n}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "test-model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply.content},
                            "finish_reason": "stop",
                            **(
                                {
                                    "logprobs": {
                                        "content": token_logprobs(
                                            reply, int(body.get("top_logprobs") or 0)
                                        )
                                    }
                                }
                                if body.get("logprobs") and reply.content is not None
                                else {}
                            ),
                        }
                    ],
                    "usage": {
                        "prompt_tokens": reply.prompt_tokens,
                        "completion_tokens": reply.completion_tokens,
                        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                    },
                }
                self._send(reply.status, payload, reply.headers)

            def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
