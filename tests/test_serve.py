"""``bizztune serve`` as a user runs it: the real CLI in a subprocess on 127.0.0.1, a tiny model,
called with the real openai client and with raw HTTP (httpx).

    pytest tests/test_serve.py

One server (with a bearer key) answers the protocol, error and evaluation tests; a second
one with a long batching wait and a small queue shows micro-batching, HTTP 429 and the
graceful shutdown. Nothing here is timed: batching is read from the server's own counters.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import clifork
from bizztune.core.interfaces import Example, Task
from bizztune.plugins import load_task
from bizztune.providers.api.engine import answer_schema

from conftest import make_rows, run_cli, write_jsonl

KEY = "sk-serve-test-7f3a"
NAME = "tiny-tickets"


@dataclass
class Server:
    url: str
    proc: Any
    """A ``subprocess.Popen``, or ``clifork``'s fork with its interface."""
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(model: Path | None, home: Path, *args: str, key: str | None = None) -> Iterator[Server]:
    """``bizztune serve`` in a subprocess; yields once /health answers. ``model`` None: no
    ``--model`` (an ``--adapter`` in ``args`` names its base)."""
    port = free_port()
    env = {**os.environ, "BIZZTUNE_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    env.pop("BIZZTUNE_SERVE_KEY", None)
    if key is not None:
        env["BIZZTUNE_SERVE_KEY"] = key
    exe = Path(sys.executable).with_name("bizztune")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "bizztune.cli"]
    model_flag = ["--model", str(model)] if model else []
    log = home / f"serve-{port}.log"
    home.mkdir(parents=True, exist_ok=True)
    proc = clifork.popen([*cmd, "serve", *model_flag, "--port", str(port), *args], None, env, log)
    srv = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"bizztune serve exited early:\n{srv.output()}")
            try:
                if httpx.get(srv.url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"bizztune serve did not come up:\n{srv.output()}")
            time.sleep(0.3)
        yield srv
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task("tickets")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bizztune.testing import make_tiny_model

    rows = make_rows(1)
    return make_tiny_model(
        tmp_path_factory.mktemp("model") / "tiny", texts=[r["description"] for r in rows]
    )


@pytest.fixture(scope="module")
def server(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("home")
    # float32: an item's answer does not depend on the batch it shares (docs/serving.md)
    limits = ["--max-input-chars", "3000", "--max-body-bytes", "50000", "--max-items", "4",
              "--max-wait-ms", "300",  # concurrent requests share micro-batches
              "--dtype", "float32"]  # fmt: skip
    with serving(
        tiny, home, "--served-name", NAME, "--log-level", "debug", *limits, key=KEY
    ) as srv:
        yield srv


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def ticket(i: int = 0) -> dict[str, str]:
    row = make_rows(1)[i]
    return {k: row[k] for k in ("id", "title", "description", "user", "date")}


def check_answer(task: Task, labels: dict[str, Any]) -> None:
    for f in task.schema.fields:
        assert labels[f.name] in f.labels
    assert task.schema.consistent(labels) is True


# -- the protocol -----------------------------------------------------------------------------
def test_classify_many_tickets_over_raw_http(server: Server, task: Task) -> None:
    items = [ticket(i) for i in range(3)]
    r = httpx.post(server.url + "/v1/classify", json={"items": items}, headers=auth(), timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["model"], body["task"], body["decoding"]) == (NAME, "tickets", "constrained")
    assert body["base_model"].endswith("tiny") and body["adapter"] is None
    assert body["latency_ms"] > 0
    assert [res["id"] for res in body["results"]] == [it["id"] for it in items]
    for res in body["results"]:
        check_answer(task, res["labels"])
        for f in task.schema.names:
            probs = res["probs"][f]
            assert set(probs) <= set(task.schema.field(f).labels)
            assert sum(probs.values()) == pytest.approx(1.0, abs=1e-6)
            assert max(probs, key=probs.__getitem__) == res["labels"][f] or f == "category"
        assert 0 < res["confidence"] <= 1
    # one ticket alone (no "items") is answered the same way
    one = httpx.post(server.url + "/v1/classify", json=items[0], headers=auth(), timeout=60)
    assert one.status_code == 200, one.text
    assert one.json()["results"][0]["labels"] == body["results"][0]["labels"]


def test_openai_client_lists_the_model_and_chats(server: Server, task: Task) -> None:
    import openai

    client = openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)
    assert [m.id for m in client.models.list()] == [NAME]
    row = ticket(1)
    ex = Example(row["id"], {k: v for k, v in row.items() if k != "id"})
    resp = client.chat.completions.create(
        model=NAME,
        messages=task.messages(ex, style="long"),  # type: ignore[arg-type]
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": answer_schema(task.schema, ("urgency",))},
        },
    )
    # the JSON schema asked for urgency only: constrained decoding answers exactly that
    assert json.loads(resp.choices[0].message.content or "").keys() == {"urgency"}
    resp = client.chat.completions.create(
        model=NAME,
        messages=task.messages(ex, style="long"),  # type: ignore[arg-type]
    )
    labels = json.loads(resp.choices[0].message.content or "")
    check_answer(task, labels)
    assert resp.usage is not None and resp.usage.prompt_tokens > 100
    extra = resp.choices[0].model_extra or {}
    # /v1/classify builds the same prompt from the ticket: same answer, same probabilities
    c = httpx.post(server.url + "/v1/classify", json=row, headers=auth(), timeout=60).json()
    assert c["results"][0]["labels"] == labels
    for f in task.schema.names:
        got = extra["bizztune"]["probs"][f]
        assert got == pytest.approx(c["results"][0]["probs"][f], rel=1e-3, abs=1e-5)


def test_health_counts_batches_and_needs_no_key(server: Server) -> None:
    r = httpx.get(server.url + "/health", timeout=10)
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "ok" and h["model"] == NAME
    assert h["queue"] == {"pending": 0, "max_queue": 256}
    assert h["batches"]["max_batch"] == 16
    # open to anyone: names, never a path of the server's machine
    assert h["base_model"] == "tiny"
    assert not [v for v in h.values() if isinstance(v, str) and "/" in v], h


# -- errors ------------------------------------------------------------------------------------
def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    return str(r.json()["error"]["message"])


def test_bad_json_too_long_too_big_and_bad_fields_are_clear_4xx(server: Server) -> None:
    post = lambda path, **kw: httpx.post(server.url + path, headers=auth(), timeout=30, **kw)  # noqa: E731
    msg = _error(post("/v1/classify", content=b'{"title": "Drucker'), 400)
    assert "not valid JSON" in msg and "line 1" in msg
    msg = _error(post("/v1/chat/completions", content=b"{nope"), 400)
    assert "not valid JSON" in msg
    long = {**ticket(), "description": "x" * 3100}
    msg = _error(post("/v1/classify", json={"items": [ticket(), long]}), 413)
    assert msg.startswith("items[1]: the ticket is") and "--max-input-chars" in msg
    msg = _error(post("/v1/classify", content=b'{"title": "' + b"y" * 60_000 + b'"}'), 413)
    assert "50000 bytes" in msg and "--max-body-bytes" in msg
    chunked = iter([b'{"title": "', b"y" * 60_000, b'"}'])  # no Content-Length to go by
    assert "--max-body-bytes" in _error(post("/v1/classify", content=chunked), 413)
    msg = _error(post("/v1/classify", json={"items": [ticket()] * 5}), 413)
    assert "5 tickets" in msg and "--max-items" in msg
    msg = _error(post("/v1/classify", json={"items": [{**ticket(), "titel": "x"}]}), 400)
    assert "items[0]: unknown key 'titel'" in msg
    msg = _error(post("/v1/classify", json={**ticket(), "fields": ["dringlichkeit"]}), 400)
    assert "unknown field 'dringlichkeit'" in msg
    chat = {"model": NAME, "messages": [{"role": "user", "content": "z" * 3001}]}
    assert "--max-input-chars" in _error(post("/v1/chat/completions", json=chat), 413)
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hallo"}]}
    assert f"serves '{NAME}'" in _error(post("/v1/chat/completions", json=chat), 404)
    chat = {"model": NAME, "stream": True, "messages": [{"role": "user", "content": "hallo"}]}
    assert "streaming is not supported" in _error(post("/v1/chat/completions", json=chat), 400)


BAD_BODIES = {
    "a lone surrogate in a ticket": (
        "/v1/classify", b'{"title": "Router \\ud800 kaputt", "description": "geht nicht"}',
        "title: the text holds a lone UTF-16 surrogate",
    ),
    "a lone surrogate in a chat": (
        "/v1/chat/completions",
        b'{"model": "tiny-tickets", "messages": [{"role": "user", "content": "\\udfff"}]}',
        "messages[0].content: the text holds a lone UTF-16 surrogate",
    ),
    "a 5,000-digit integer as a field": (
        "/v1/classify", b'{"title": ' + b"7" * 5000 + b"}", "a number with too many digits",
    ),
    "response_format.json_schema given as a string": (
        "/v1/chat/completions",
        json.dumps({"model": NAME, "messages": [{"role": "user", "content": "Hallo"}],
                    "response_format": {"type": "json_schema", "json_schema": "answer"}}).encode(),
        "response_format.json_schema must be a JSON object",
    ),
    "arrays nested 40,000 deep": ("/v1/classify", b"[" * 40_000, "nests arrays or objects too deeply"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_a_body_the_model_cannot_read_is_400_never_500(server: Server, case: str) -> None:
    path, body, message = BAD_BODIES[case]
    r = httpx.post(server.url + path, content=body, headers=auth(), timeout=60)
    assert message in _error(r, 400)


def test_one_clients_bad_ticket_fails_alone_and_the_others_are_answered(
    server: Server, task: Task
) -> None:
    """Nine clients at once, one micro-batch (--max-wait-ms 300): eight valid tickets are
    answered, the ticket with a lone surrogate gets 400 naming its field."""
    results: dict[int, httpx.Response] = {}

    def call(i: int, body: bytes) -> None:
        results[i] = httpx.post(server.url + "/v1/classify", content=body, timeout=120,
                                headers={**auth(), "Content-Type": "application/json"})  # fmt: skip

    bodies = [json.dumps(ticket(i)).encode() for i in range(8)]
    bodies.insert(4, b'{"title": "Drucker", "description": "Papier \\ud800 klemmt"}')
    before = httpx.get(server.url + "/health", timeout=10).json()["batches"]
    threads = [threading.Thread(target=call, args=(i, b)) for i, b in enumerate(bodies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "description: the text holds a lone UTF-16 surrogate" in _error(results[4], 400)
    for i in (0, 1, 2, 3, 5, 6, 7, 8):
        assert results[i].status_code == 200, results[i].text
        check_answer(task, results[i].json()["results"][0]["labels"])
    after = httpx.get(server.url + "/health", timeout=10).json()["batches"]
    assert after["failed"] == before["failed"] and after["failed_items"] == 0


def test_a_taken_port_is_one_line_before_the_model_loads(server: Server, tiny: Path) -> None:
    port = server.url.rsplit(":", 1)[1]
    r = run_cli("serve", "--model", str(tiny), "--port", port, timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: --host 127.0.0.1 --port {port}: cannot listen there")
    assert r.stderr.count("\n") == 1 and "serving" not in r.stdout


def test_wrong_or_missing_key_is_401_and_the_openai_client_says_so(server: Server) -> None:
    import openai

    url = server.url + "/v1/classify"
    msg = _error(httpx.post(url, json=ticket(), timeout=30), 401)
    assert msg.startswith("missing bearer key")
    msg = _error(httpx.post(url, json=ticket(), headers=auth("sk-wrong"), timeout=30), 401)
    assert msg.startswith("wrong bearer key") and KEY not in msg
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError, match="wrong bearer key"):
        client.models.list()


def test_the_log_holds_neither_the_key_nor_ticket_text(server: Server) -> None:
    secret = "Geheimnis-Ticket-4711 mein Router brennt"
    r = httpx.post(
        server.url + "/v1/classify",
        json={**ticket(), "description": secret},
        headers=auth(),
        timeout=60,
    )
    assert r.status_code == 200
    httpx.post(server.url + "/v1/classify", json=ticket(), headers=auth("sk-wrong"), timeout=30)
    out = server.output()
    assert "POST /v1/classify" in out  # the access log is on at --log-level debug
    assert KEY not in out and "sk-wrong" not in out
    assert "Geheimnis" not in out and ticket()["description"] not in out


# -- the served model evaluates like the model in-process ------------------------------------------
def test_eval_through_the_server_matches_in_process_eval_item_for_item(
    server: Server, tiny: Path, tmp_path: Path
) -> None:
    data = write_jsonl(tmp_path / "t.jsonl", make_rows(1)[:8])
    common = ["--data", str(data), "--decoding", "constrained"]
    r = run_cli(
        "eval", "--provider", "hf", "--model", str(tiny), *common, "--out", str(tmp_path / "a"),
        "--dtype", "float32",  # as the server: in bfloat16 only a tolerance holds
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run_cli(
        "eval", "--provider", "openai", "--base-url", server.url + "/v1", "--model", NAME,
        *common, "--concurrency", "4", "--out", str(tmp_path / "b"),
        env={"OPENAI_API_KEY": KEY},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr

    def preds(run: str) -> dict[str, dict[str, Any]]:
        lines = (tmp_path / run / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
        return {p["id"]: p for p in map(json.loads, lines)}

    local, served = preds("a"), preds("b")
    assert len(local) == 8 and local.keys() == served.keys()
    for item, p in local.items():
        assert served[item]["parsed"] == p["parsed"], item
        for f, dist in p["probs"].items():
            assert served[item]["probs"][f] == pytest.approx(dist, rel=1e-3, abs=1e-5), (item, f)


# -- batching, capacity, shutdown --------------------------------------------------------------
def test_micro_batching_queue_limit_and_graceful_shutdown(tiny: Path, tmp_path: Path) -> None:
    args = ["--max-batch", "4", "--max-wait-ms", "6000", "--max-queue", "3"]
    with serving(tiny, tmp_path / "home", *args) as srv:
        url = srv.url + "/v1/classify"
        results: dict[str, httpx.Response] = {}

        def call(name: str, body: dict[str, Any]) -> None:
            results[name] = httpx.post(url, json=body, timeout=120)

        # three concurrent clients, one ticket each: one micro-batch of three
        threads = [threading.Thread(target=call, args=(f"c{i}", ticket(i))) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [results[f"c{i}"].status_code for i in range(3)] == [200, 200, 200]
        batches = httpx.get(srv.url + "/health", timeout=10).json()["batches"]
        assert (batches["count"], batches["items"], batches["largest"]) == (1, 3, 3)

        # three tickets fill the queue while their batch waits for a fourth: one more is 429
        held = threading.Thread(
            target=call, args=("held", {"items": [ticket(i) for i in range(3)]})
        )
        held.start()
        while httpx.get(srv.url + "/health", timeout=10).json()["queue"]["pending"] < 3:
            assert held.is_alive(), "the held request was answered before the test could look"
            time.sleep(0.05)
        over = httpx.post(url, json=ticket(), timeout=30)
        assert "queue is full" in _error(over, 429)
        assert over.headers["retry-after"] == "1"

        # SIGTERM while the held request waits: it is still answered, then the server exits 0
        srv.proc.send_signal(signal.SIGTERM)
        held.join()
        assert results["held"].status_code == 200, results["held"].text
        assert len(results["held"].json()["results"]) == 3
        assert srv.proc.wait(timeout=60) == 0
        assert "stopped: 6 items answered in 2 micro-batches (0 failed), 0 left" in srv.output()
        with pytest.raises(httpx.TransportError):
            httpx.get(srv.url + "/health", timeout=5)


# -- lone requests start from the kept prompt prefix -----------------------------------------------
def test_lone_requests_reuse_the_kept_prefix_and_answer_as_a_batch(tiny: Path, task: Task) -> None:
    from bizztune.core.interfaces import ProviderConfig
    from bizztune.data.io import row_to_example
    from bizztune.eval.evaluate import EvalConfig, build_requests
    from bizztune.plugins import load_provider

    exs = [row_to_example(r, task, f"row {i}") for i, r in enumerate(make_rows(1)[:6])]
    reqs = build_requests(task, exs, EvalConfig())
    cfg = ProviderConfig(name="hf", model=str(tiny), decoding="constrained", dtype="float32")
    served: Any = load_provider(cfg)
    list(served.complete(reqs[:2], task.schema))  # as the server's warm-up: the template prefix
    kept = served.stats["prefix_tokens"]
    alone = {r.id: next(iter(served.complete([r], task.schema))).text for r in reqs[2:]}
    assert served.stats["prefix_tokens"] == kept  # no lone request ran a prefix of its own
    batch = load_provider(cfg).complete(reqs[2:], task.schema)
    assert {c.request_id: c.text for c in batch} == alone


# -- a combined model --------------------------------------------------------------------------
def test_a_served_combination_answers_what_bizztune_combine_scored(
    tiny: Path, task: Task, tmp_path: Path
) -> None:
    """``--combine-with tfidf --train-data SPLIT``: the model's and a fitted tfidf's answers
    pooled per ticket, item for item what ``bizztune combine`` makes of their eval runs;
    chat is refused (tfidf reads a ticket's fields), and a missing --train-data is one line."""
    rows = make_rows(2, seed=3)
    split = tmp_path / "split"
    write_jsonl(split / "train.jsonl", rows[8:])
    data = write_jsonl(tmp_path / "t.jsonl", rows[:8])
    for provider, extra in (
        ("hf", ["--model", str(tiny), "--decoding", "constrained"]),
        ("tfidf", ["--train-data", str(split)]),
    ):
        r = run_cli("eval", "--provider", provider, *extra, "--data", str(data),
                    "--out", str(tmp_path / provider))  # fmt: skip
        assert r.returncode == 0, r.stderr
    r = run_cli("combine", str(tmp_path / "hf"), str(tmp_path / "tfidf"), "--out",
                str(tmp_path / "both"), "--task", "tickets")  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "both" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    scored = {p["id"]: p for p in map(json.loads, lines)}

    home = tmp_path / "home"
    with serving(tiny, home, "--combine-with", "tfidf", "--train-data", str(split)) as srv:
        items = [{k: row[k] for k in ("id", "title", "description", "user", "date")}
                 for row in rows[:8]]  # fmt: skip
        res = httpx.post(srv.url + "/v1/classify", json={"items": items}, timeout=120)
        assert res.status_code == 200, res.text
        body = res.json()
        assert body["combined_with"] == "tfidf"
        for got in body["results"]:
            want = scored[got["id"]]
            assert got["labels"] == want["parsed"], got["id"]
            for f, dist in want["probs"].items():
                assert got["probs"][f] == pytest.approx(dist, rel=1e-3, abs=1e-5), (got["id"], f)
            assert got["confidence"] == pytest.approx(want["confidence"], rel=1e-3, abs=1e-6)
        chat = httpx.post(srv.url + "/v1/chat/completions", timeout=30, json={
            "model": "tiny", "messages": [{"role": "user", "content": "Hallo"}]})  # fmt: skip
        assert chat.status_code == 400
        assert "/v1/classify" in chat.json()["error"]["message"]
    r = run_cli("serve", "--model", str(tiny), "--combine-with", "tfidf", "--port",
                str(free_port()))  # fmt: skip
    assert r.returncode != 0 and "pass --train-data" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


# -- one request's failure is its own ---------------------------------------------------------------
class _Picky:
    """A provider that fails any call holding a ticket titled BOOM, and when ``broken``, every
    call: the batcher's test double (the batcher is what is tested, not a model)."""

    name = model = "picky"

    def __init__(self, broken: bool = False) -> None:
        self.broken = broken
        self.calls: list[int] = []

    def complete(self, requests: Any, schema: Any) -> Iterator[Any]:
        from bizztune.core.interfaces import Completion

        self.calls.append(len(requests))
        if self.broken or any(r.example.inputs["title"] == "BOOM" for r in requests):
            raise ValueError("cannot read this ticket")
        for r in requests:
            yield Completion(r.id, '{"urgency": "Hoch"}')


def _submit_together(provider: Any, task: Task, titles: list[str]) -> list[Any]:
    """One job per title, submitted at once so that they share one micro-batch."""
    import asyncio

    from bizztune.serve.batcher import Batcher
    from bizztune.serve.bodies import Limits, classify_requests

    batcher = Batcher(provider, task.schema, max_batch=16, max_wait_s=0.5, max_queue=64)
    batcher.start()

    async def main() -> list[Any]:
        jobs = [
            batcher.submit(classify_requests({"title": t}, task, "long", Limits(4, 1000)))
            for t in titles
        ]
        return await asyncio.gather(*jobs, return_exceptions=True)

    try:
        return asyncio.run(main())
    finally:
        batcher.stop(5)


def test_the_batcher_fails_a_bad_job_alone_with_400_and_a_broken_model_with_500(
    task: Task,
) -> None:
    from bizztune.serve.batcher import BadItem, ModelFailed

    picky = _Picky()
    got = _submit_together(picky, task, ["Router", "Drucker", "BOOM", "Kabel"])
    assert picky.calls == [4, 1, 1, 1, 1]  # the batch, then each job on its own
    assert isinstance(got[2], BadItem) and "cannot read this ticket" in str(got[2])
    for i in (0, 1, 3):
        assert [c.text for c in got[i]] == ['{"urgency": "Hoch"}']
    got = _submit_together(_Picky(broken=True), task, ["Router", "Drucker"])
    assert all(isinstance(g, ModelFailed) for g in got)  # nothing answered: the model


LEAVES = [None, True, 0, -1, 10**80, 1.5, float("inf"), "", "x", "Hoch", NAME, "user",
          "json_schema", "\ud800", "a\udfffb", "😀", "x" * 50, [], {}]  # fmt: skip


def _random_json(rng: Any, depth: int = 0) -> Any:
    """Any JSON value, nested a few levels, with the values clients get wrong."""
    kind = rng.random()
    if depth > 3 or kind < 0.4:
        return rng.choice(LEAVES)
    if kind < 0.7:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["title", "description", "id", "schema", "properties", "type", "text", "urgency"]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


def _value(rng: Any) -> Any:
    return rng.choice(LEAVES) if rng.random() < 0.7 else _random_json(rng)


def _random_body(rng: Any, task: Task) -> Any:
    """A body of /v1/classify or /v1/chat/completions, nearly right, with wrong values."""
    kind = rng.random()
    if kind < 0.1:
        return _random_json(rng)
    if kind < 0.5:
        names = [*task.input_fields, "id", "fields"]
        tickets = [{k: _value(rng) for k in rng.sample(names, rng.randrange(1, 4))}
                   for _ in range(rng.randrange(1, 4))]  # fmt: skip
        return tickets[0] if rng.random() < 0.5 else {"items": tickets}
    parts = lambda: [{"type": "text", "text": _value(rng)}]  # noqa: E731
    msgs = [{"role": rng.choice(["user", "system", "assistant", _value(rng)]),
             "content": _value(rng) if rng.random() < 0.7 else parts()}
            for _ in range(rng.randrange(1, 3))]  # fmt: skip
    body: dict[str, Any] = {"model": NAME if rng.random() < 0.8 else _value(rng), "messages": msgs}
    if rng.random() < 0.5:
        body["response_format"] = {"type": "json_schema", "json_schema": _random_json(rng)}
    for key in ("max_tokens", "n", "stream"):
        if rng.random() < 0.2:
            body[key] = _value(rng)
    return body


def test_200000_nested_brackets_are_a_400_not_a_recursion_error() -> None:
    """Over the test server's --max-body-bytes, so checked where the server reads a body."""
    from bizztune.serve.bodies import BadRequest, parse_json

    for raw in (b"[" * 200_000, b'{"a": ' * 200_000):
        with pytest.raises(BadRequest) as e:
            parse_json(raw)
        assert e.value.status == 400 and "nests arrays or objects too deeply" in e.value.message


def test_no_body_is_anything_but_an_answer_or_a_4xx(task: Task) -> None:
    """The class of item 6: whatever JSON a client sends, the body checks either refuse it
    (BadRequest) or build requests whose every text the model can tokenize."""
    import random

    from bizztune.serve.bodies import (
        BadRequest,
        Limits,
        chat_request,
        classify_requests,
        parse_json,
    )

    rng = random.Random(0)
    limits = Limits(4, 3000)
    for _ in range(3000):
        body = _random_body(rng, task)
        raw = json.dumps(body, ensure_ascii=rng.random() < 0.8).encode("utf-8", "surrogatepass")
        for build in (
            lambda b: classify_requests(b, task, "long", limits),
            lambda b: [chat_request(b, task, [NAME], limits, "compact")],
        ):
            try:
                reqs = build(parse_json(raw))
            except BadRequest as e:
                assert 400 <= e.status < 500
                continue
            for r in reqs:  # accepted: every text can be encoded, so tokenized
                json.dumps(r.messages, ensure_ascii=False).encode("utf-8")


# -- a chat that is the task's prompt, in either style ---------------------------------------------
def test_the_ticket_in_a_task_prompt_is_found_in_either_style_and_nothing_else(task: Task) -> None:
    from bizztune.serve.prompts import ticket_in

    ex = Example("x", {"title": "Router: kaputt", "description": "Zeile 1\nName: keiner\n\n{}",
                       "user": "Anna", "date": "2024-01-02"})  # fmt: skip
    for style in ("long", "compact"):
        for fields in (task.schema.names, ("urgency",)):
            found = ticket_in(task, task.messages(ex, style=style, fields=fields), fields)
            assert found is not None and found[1] == style
            # the ticket found asks the model exactly what the client's prompt asked
            assert task.messages(found[0], style=style, fields=fields) == task.messages(
                ex, style=style, fields=fields
            )
            assert task.messages(found[0], style="compact", fields=fields) == task.messages(
                ex, style="compact", fields=fields
            )
    assert (
        ticket_in(task, [{"role": "user", "content": "Hallo, wie geht's?"}], task.schema.names)
        is None
    )
    compact = task.messages(ex, style="compact")
    assert ticket_in(task, compact, ("urgency",)) is None  # asked for other fields
    long = task.messages(ex, style="long")
    edited = [{**long[-1], "content": long[-1]["content"] + " Bitte schnell."}]
    assert ticket_in(task, edited, task.schema.names) is None  # the client's own prompt
    # a client's text cannot make it slow: linear in the text, no backtracking
    import time

    hostile = "Ticket klassifizieren (category, subcategory, urgency), nur JSON.\nTitel: " + (
        "\nBeschreibung: \nName: \nDatum: " * 600
    )
    t0 = time.perf_counter()
    ticket_in(task, [{"role": "user", "content": hostile + "x"}], task.schema.names)
    assert time.perf_counter() - t0 < 0.5
