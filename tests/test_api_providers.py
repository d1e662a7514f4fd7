"""The API providers through their real client libraries against a real HTTP server on 127.0.0.1.

    pytest tests/test_api_providers.py

``openai`` and ``mistral`` run every scenario (success, 429 then success, persistent 500,
timeout, malformed body, missing and rejected key, JSON-mode fallback, cache); ``litellm``
runs through its OpenAI-compatible path once (importing it takes seconds). The CLI tests run
the real ``bizztune`` entry point in a subprocess.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bizztune.core.errors import ConfigError, MissingKeyError, ProviderError
from bizztune.core.interfaces import Completion, Example, ProviderConfig, Request, Task
from bizztune.eval.evaluate import EvalConfig, build_requests
from bizztune.plugins import load_provider, load_task
from bizztune.providers.api.backend import retry_after
from bizztune.providers.api.engine import ApiProvider
from bizztune.providers.api.prices import price_of

from chat_server import ChatServer, Reply
from conftest import make_rows, run_cli, write_jsonl

FAMILIES = ["openai", "mistral"]
GPT4O = (50 * 2.5 + 12 * 10.0) / 1e6  # the server's usage (50 in, 12 out) at gpt-4o prices
MISTRAL_SMALL = (50 * 0.15 + 12 * 0.6) / 1e6
KEY_ENVS = [("openai", "OPENAI_API_KEY"), ("mistral", "MISTRAL_API_KEY")]


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task("tickets")


@pytest.fixture(scope="module")
def examples(task: Task) -> list[Example]:
    from bizztune.data.io import row_to_example

    return [row_to_example(r, task, f"row {i}") for i, r in enumerate(make_rows(1)[:6])]


def gold_answer(examples: list[Example]) -> Any:
    """A server script that answers every ticket with its gold labels."""

    def script(body: dict[str, Any], n: int) -> Reply:
        return Reply(content=json.dumps(gold_for(body, examples), ensure_ascii=False))

    return script


def gold_for(body: dict[str, Any], examples: list[Example]) -> dict[str, str]:
    text = json.dumps(body.get("messages"), ensure_ascii=False)
    hits = [ex for ex in examples if ex.inputs["description"] in text]
    assert len(hits) == 1, "the script must find exactly one ticket in the request"
    return hits[0].labels


def requests_for(task: Task, examples: list[Example]) -> list[Request]:
    cfg = EvalConfig(provider=ProviderConfig(name="majority"), style="compact")
    return build_requests(task, examples, cfg)


def provider(family: str, srv: ChatServer, tmp_path: Path, **kw: Any) -> ApiProvider:
    """A provider from the registry pointed at the test server, with fast backoff."""
    defaults: dict[str, Any] = {
        "name": family,
        "model": "gpt-4o" if family == "openai" else "mistral-small-latest",
        "base_url": srv.url + "/v1",  # mistral strips the /v1 its client adds itself
        "timeout_s": 5.0,
        "max_retries": 2,
        "concurrency": 2,
        "cache_dir": tmp_path / "cache",
        "extra": {"backoff_s": 0.001},
    }
    p = load_provider(ProviderConfig(**{**defaults, **kw}))
    assert isinstance(p, ApiProvider)
    return p


def run(p: ApiProvider, task: Task, reqs: list[Request]) -> dict[str, Completion]:
    out = {c.request_id: c for c in p.complete(reqs, task.schema)}
    assert set(out) == {r.id for r in reqs}
    return out


@pytest.fixture()
def api_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO, logger="bizztune.api")
    yield caplog


# -- success ------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_success_parses_labels_and_sends_deterministic_json_calls(
    family: str, task: Task, examples: list[Example], tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv(f"{family.upper()}_API_KEY", "sk-test-123")
    reqs = requests_for(task, examples[:3])
    with ChatServer(gold_answer(examples)) as srv:
        comps = run(provider(family, srv, tmp_path), task, reqs)
    for r in reqs:
        c = comps[r.id]
        assert c.error is None and not c.cached
        assert task.parse(c.text or "", r.fields).labels == r.example.labels  # type: ignore[union-attr]
        assert (c.prompt_tokens, c.completion_tokens) == (50, 12)
        assert c.cost_usd == pytest.approx(GPT4O if family == "openai" else MISTRAL_SMALL)
    assert len(srv.requests) == 3
    body = srv.requests[0]
    assert body["path"] == "/v1/chat/completions"
    assert body["model"] == ("gpt-4o" if family == "openai" else "mistral-small-latest")
    assert body["temperature"] == 0
    assert body["seed" if family == "openai" else "random_seed"] == 0
    assert body["max_tokens"] == 64
    assert body["response_format"] == {"type": "json_object"}
    # Header names are case-insensitive: clients send `Authorization` or `authorization`.
    assert srv.headers[0]["authorization"] == srv.headers[0]["Authorization"]
    assert srv.headers[0]["Authorization"] == "Bearer sk-test-123"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "3"}, 3.0),
        ({"RETRY-AFTER-MS": "250"}, 0.25),
        ({"Retry-After-Ms": "oops", "Retry-After": "1.5"}, 1.5),
        ({"Content-Type": "application/json"}, None),
        (None, None),
    ],
)
def test_retry_after_reads_header_names_in_any_case(
    headers: dict[str, str] | None, seconds: float | None
) -> None:
    assert retry_after(headers) == seconds


@pytest.mark.parametrize("family", FAMILIES)
def test_429_is_retried_and_honours_retry_after(
    family: str, task: Task, examples: list[Example], tmp_path: Path, api_log: Any
) -> None:
    answer = gold_answer(examples)

    def script(body: dict[str, Any], n: int) -> Reply:
        if n == 1:
            return Reply(
                status=429,
                body={"error": {"message": "Rate limit reached"}},
                headers={"Retry-After": "0.02"},
            )
        return answer(body, n)

    reqs = requests_for(task, examples[:1])
    with ChatServer(script) as srv:
        p = provider(family, srv, tmp_path)
        comps = run(p, task, reqs)
    c = comps[reqs[0].id]
    assert c.error is None
    assert json.loads(c.text or "") == examples[0].labels
    assert len(srv.requests) == 2  # our retry, not the client's: its own retries are off
    assert p.stats["retries"] == 1 and p.stats["http_calls"] == 2
    assert "HTTP 429: Rate limit reached; retry 1/2 in 0.02s" in api_log.text


@pytest.mark.parametrize("family", FAMILIES)
def test_persistent_500_gives_an_error_completion_and_the_run_goes_on(
    family: str, task: Task, examples: list[Example], tmp_path: Path, api_log: Any
) -> None:
    bad = examples[1].inputs["description"]
    answer = gold_answer(examples)

    def script(body: dict[str, Any], n: int) -> Reply:
        if bad in json.dumps(body["messages"], ensure_ascii=False):
            return Reply(status=500, body={"error": {"message": "upstream exploded"}})
        return answer(body, n)

    reqs = requests_for(task, examples[:3])
    with ChatServer(script) as srv:
        p = provider(family, srv, tmp_path, max_retries=2)
        comps = run(p, task, reqs)
    failed = comps[examples[1].id]
    assert failed.text is None
    assert failed.error == "HTTP 500: upstream exploded (gave up after 3 attempts)"
    for ex in (examples[0], examples[2]):
        assert json.loads(comps[ex.id].text or "") == ex.labels
    assert len(srv.requests) == 3 + 2  # 1 + 2 retries for the bad one, 1 each for the others
    assert p.stats["failed"] == 1
    assert f"{examples[1].id} failed: HTTP 500" in api_log.text
    # a failed answer is not cached: a rerun asks again
    assert len(p.cache or []) == 2


@pytest.mark.parametrize("family", FAMILIES)
def test_timeout_is_retried_then_reported(
    family: str, task: Task, examples: list[Example], tmp_path: Path
) -> None:
    reqs = requests_for(task, examples[:1])
    with ChatServer(lambda body, n: Reply(content="{}", delay_s=1.0)) as srv:
        p = provider(family, srv, tmp_path, timeout_s=0.2, max_retries=1)
        comps = run(p, task, reqs)
    c = comps[reqs[0].id]
    assert c.text is None
    assert c.error == "timed out after 0.2s (gave up after 2 attempts)"
    assert len(srv.requests) == 2


@pytest.mark.parametrize("family", FAMILIES)
def test_malformed_body_is_an_error_completion_without_retry(
    family: str, task: Task, examples: list[Example], tmp_path: Path
) -> None:
    reqs = requests_for(task, examples[:2])
    with ChatServer(lambda body, n: Reply(body="<html>surprise</html>")) as srv:
        p = provider(family, srv, tmp_path)
        comps = run(p, task, reqs)
    for r in reqs:
        assert comps[r.id].text is None
        assert (comps[r.id].error or "").startswith("malformed response body")
    assert len(srv.requests) == 2


def test_a_200_without_choices_is_malformed(
    task: Task, examples: list[Example], tmp_path: Path
) -> None:
    reqs = requests_for(task, examples[:1])
    with ChatServer(lambda body, n: Reply(body={"id": "x", "choices": []})) as srv:
        comps = run(provider("openai", srv, tmp_path), task, reqs)
    assert comps[reqs[0].id].error == "malformed response: no choices"


@pytest.mark.parametrize("family", FAMILIES)
def test_concurrency_puts_n_requests_in_flight(
    family: str, task: Task, examples: list[Example], tmp_path: Path
) -> None:
    """The server only answers once 4 requests are waiting together: that needs 4 in flight."""
    together = threading.Barrier(4, timeout=10)
    answer = gold_answer(examples)

    def script(body: dict[str, Any], n: int) -> Reply:
        try:
            together.wait()
        except threading.BrokenBarrierError:
            return Reply(status=400, body={"error": {"message": "not concurrent"}})
        return answer(body, n)

    reqs = requests_for(task, examples[:4])
    with ChatServer(script) as srv:
        comps = run(provider(family, srv, tmp_path, concurrency=4), task, reqs)
    assert [comps[ex.id].error for ex in examples[:4]] == [None] * 4
    assert len(srv.requests) == 4


def test_each_answer_is_cached_the_moment_it_arrives(
    task: Task, examples: list[Example], tmp_path: Path
) -> None:
    """A run that dies after its first answer has that answer on disk already."""
    reqs = requests_for(task, examples[:3])
    with ChatServer(gold_answer(examples)) as srv:
        p = provider("openai", srv, tmp_path, concurrency=1)
        stream = p.complete(reqs, task.schema)
        first = next(stream)
        assert p.cache is not None and len(p.cache) >= 1
        stream.close()  # what a crash or Ctrl-C does to the generator
        again = provider("openai", srv, tmp_path)
        [hit] = [c for c in again.complete(reqs, task.schema) if c.request_id == first.request_id]
    assert hit.cached and hit.text == first.text


# -- keys ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("family", "env"), KEY_ENVS)
def test_missing_key_names_the_variable_and_sends_nothing(
    family: str, env: str, task: Task, examples: list[Example], tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    p = load_provider(ProviderConfig(name=family, cache_dir=tmp_path / "cache"))
    with pytest.raises(MissingKeyError) as e:
        list(p.complete(requests_for(task, examples[:1]), task.schema))
    assert f"set {env} in the environment or in a .env file" in str(e.value)
    assert p.stats["http_calls"] == 0


@pytest.mark.parametrize(("family", "env"), KEY_ENVS)
def test_rejected_key_stops_the_run_naming_the_variable(
    family: str, env: str, task: Task, examples: list[Example], tmp_path: Path
) -> None:
    unauthorized = Reply(status=401, body={"error": {"message": "Incorrect API key provided"}})
    with ChatServer(lambda body, n: unauthorized) as srv:
        p = provider(family, srv, tmp_path, concurrency=1)
        with pytest.raises(MissingKeyError) as e:
            list(p.complete(requests_for(task, examples[:3]), task.schema))
    msg = str(e.value)
    assert "rejected the API key (HTTP 401: Incorrect API key provided)" in msg
    assert f"set {env} to a valid key" in msg
    assert len(srv.requests) == 1  # no retries of a 401, no further requests


def test_unreachable_server_stops_the_run(
    task: Task, examples: list[Example], tmp_path: Path
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = load_provider(
        ProviderConfig(
            name="openai",
            model="m",
            base_url=f"http://127.0.0.1:{port}/v1",
            max_retries=1,
            extra={"backoff_s": 0.001},
        )
    )
    with pytest.raises(ProviderError, match=r"cannot reach http://127\.0\.0\.1:\d+/v1 after 2"):
        list(p.complete(requests_for(task, examples[:1]), task.schema))


def test_base_url_without_model_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--model is required with --base-url"):
        load_provider(ProviderConfig(name="openai", base_url="http://127.0.0.1:1/v1"))


def test_aliases_name_their_model_and_model_wins() -> None:
    assert load_provider(ProviderConfig(name="gpt-4")).model == "gpt-4"
    assert load_provider(ProviderConfig(name="gpt-3.5-turbo")).model == "gpt-3.5-turbo"
    assert load_provider(ProviderConfig(name="open-mistral-7b")).model == "open-mistral-7b"
    p = load_provider(ProviderConfig(name="gpt-4o", model="gpt-4o-mini"))
    assert (p.name, p.model, p.family) == ("gpt-4o", "gpt-4o-mini", "openai")
    assert load_provider(ProviderConfig(name="mistral")).model == "mistral-small-latest"


def test_price_table() -> None:
    assert price_of("gpt-4o-2024-08-06") == (2.5, 10.0)
    assert price_of("openai/gpt-4o-mini") == (0.15, 0.6)
    assert price_of("gpt-4.1-mini") == (0.4, 1.6)
    assert price_of("mistralai/Mistral-7B-Instruct-v0.3") is None


# -- cache, formats, params ---------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_cache_makes_a_second_run_send_no_request(
    family: str, task: Task, examples: list[Example], tmp_path: Path
) -> None:
    reqs = requests_for(task, examples[:4])
    with ChatServer(gold_answer(examples)) as srv:
        first = run(provider(family, srv, tmp_path), task, reqs)
        assert len(srv.requests) == 4
        again = provider(family, srv, tmp_path)  # a new process would see the same files
        second = run(again, task, reqs)
        assert len(srv.requests) == 4
        assert again.stats["cache_hits"] == 4 and again.stats["http_calls"] == 0
        for r in reqs:
            a, b = first[r.id], second[r.id]
            assert b.cached and b.cost_usd == 0.0 and a.cost_usd > 0
            assert (b.text, b.prompt_tokens, b.completion_tokens) == (
                a.text,
                a.prompt_tokens,
                a.completion_tokens,
            )
        # other parameters are another question: a miss
        hot = [
            Request(r.id, r.example_id, r.messages, r.fields, params={"temperature": 0.7})
            for r in reqs[:1]
        ]
        run(provider(family, srv, tmp_path), task, hot)
        assert len(srv.requests) == 5 and srv.requests[-1]["temperature"] == 0.7
        # --no-cache: always asks
        run(provider(family, srv, tmp_path, cache_dir=None), task, reqs[:1])
        assert len(srv.requests) == 6


def test_cache_needs_no_key(
    task: Task, examples: list[Example], tmp_path: Path, monkeypatch: Any
) -> None:
    """A re-score of cached answers works where the key is gone."""
    monkeypatch.setenv("MISTRAL_API_KEY", "sk-test")
    reqs = requests_for(task, examples[:2])
    with ChatServer(gold_answer(examples)) as srv:
        run(provider("mistral", srv, tmp_path), task, reqs)
    monkeypatch.delenv("MISTRAL_API_KEY")
    cfg = ProviderConfig(name="mistral-small-latest", cache_dir=tmp_path / "cache")
    p = load_provider(cfg)
    # not the same base URL, so not the same answers: a miss that needs a key
    with pytest.raises(MissingKeyError):
        list(p.complete(reqs, task.schema))
    p = load_provider(ProviderConfig(**{**cfg.__dict__, "base_url": srv.url + "/v1"}))
    assert all(c.cached for c in p.complete(reqs, task.schema))


@pytest.mark.parametrize("family", FAMILIES)
def test_server_refusing_response_format_falls_back_once_and_remembers(
    family: str, task: Task, examples: list[Example], tmp_path: Path, api_log: Any
) -> None:
    answer = gold_answer(examples)

    def script(body: dict[str, Any], n: int) -> Reply:
        if "response_format" in body:
            msg = "response_format json_object is not supported by this server"
            return Reply(status=400, body={"error": {"message": msg}})
        return answer(body, n)

    reqs = requests_for(task, examples[:3])
    with ChatServer(script) as srv:
        comps = run(provider(family, srv, tmp_path, concurrency=1), task, reqs)
    assert all(json.loads(comps[ex.id].text or "") == ex.labels for ex in examples[:3])
    assert ["response_format" in b for b in srv.requests] == [True, False, False, False]
    assert "refused response_format json" in api_log.text


@pytest.mark.parametrize("family", FAMILIES)
def test_constrained_decoding_sends_the_label_schema(
    family: str, task: Task, examples: list[Example], tmp_path: Path
) -> None:
    reqs = requests_for(task, examples[:1])
    with ChatServer(gold_answer(examples)) as srv:
        run(provider(family, srv, tmp_path, decoding="constrained"), task, reqs)
    rf = srv.requests[0]["response_format"]
    assert rf["type"] == "json_schema"
    schema = rf["json_schema"]["schema"]
    assert schema["required"] == ["category", "subcategory", "urgency"]
    assert schema["properties"]["urgency"]["enum"] == ["Hoch", "Mittel", "Niedrig"]
    assert "Kein Zusammenhang" in schema["properties"]["subcategory"]["enum"]


@pytest.mark.parametrize("family", FAMILIES)
def test_request_params_override_the_config(family: str, tmp_path: Path, task: Task) -> None:
    """How the data generator calls it: free text or JSON, its own temperature and length."""
    msgs = [{"role": "user", "content": "Schreibe ein Ticket als JSON."}]
    reqs = [
        Request("plain", "plain", msgs, (), params={"temperature": 0.9, "max_tokens": 400}),
        Request("json", "json", msgs, (), params={"json": True, "seed": 7}),
    ]
    with ChatServer(lambda body, n: Reply(content='{"title": "x"}')) as srv:
        comps = run(provider(family, srv, tmp_path, concurrency=1), task, reqs)
    assert comps["plain"].text == '{"title": "x"}'
    by_kind = {("response_format" in b): b for b in srv.requests}
    seed = "seed" if family == "openai" else "random_seed"
    assert (by_kind[False]["temperature"], by_kind[False]["max_tokens"]) == (0.9, 400)
    assert by_kind[True]["response_format"] == {"type": "json_object"}
    assert (by_kind[True][seed], by_kind[True]["temperature"]) == (7, 0)


# -- litellm ------------------------------------------------------------------------------------
def test_litellm_through_its_openai_compatible_path(
    task: Task, examples: list[Example], tmp_path: Path
) -> None:
    answer = gold_answer(examples)

    def script(body: dict[str, Any], n: int) -> Reply:
        if n == 1:
            return Reply(status=429, body={"error": {"message": "slow down"}})
        return answer(body, n)

    reqs = requests_for(task, examples[:2])
    with ChatServer(script) as srv:
        p = provider("litellm", srv, tmp_path, model="openai/gpt-4o", concurrency=1)
        comps = run(p, task, reqs)
        assert len(srv.requests) == 3  # one 429 retried by us, not by litellm or openai
        assert all(json.loads(comps[ex.id].text or "") == ex.labels for ex in examples[:2])
        assert srv.requests[1]["model"] == "gpt-4o"
        assert srv.requests[1]["response_format"] == {"type": "json_object"}
        assert comps[examples[0].id].cost_usd == pytest.approx(GPT4O)  # litellm's price map
        again = provider("litellm", srv, tmp_path, model="openai/gpt-4o")
        assert all(c.cached for c in again.complete(reqs, task.schema))
        assert len(srv.requests) == 3


def test_litellm_needs_a_model() -> None:
    with pytest.raises(ConfigError, match="--model is required for litellm"):
        load_provider(ProviderConfig(name="litellm"))


# -- the CLI ------------------------------------------------------------------------------------
def test_cli_missing_key_is_one_line_and_non_zero(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "t.jsonl", make_rows(1)[:3])
    env = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
    args = f"eval --provider gpt-4 --data {data} --limit 2 --out {tmp_path / 'run'}".split()
    r = run_cli(*args, cwd=tmp_path, env=env)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1
    assert "OPENAI_API_KEY" in lines[0] and "provider 'gpt-4'" in lines[0]


def test_cli_eval_against_an_openai_compatible_server(tmp_path: Path) -> None:
    rows = make_rows(1)[:5]
    data = write_jsonl(tmp_path / "t.jsonl", rows)
    fields = ("category", "subcategory", "urgency")
    by_desc = {r["description"]: {k: r[k] for k in fields} for r in rows}

    def script(body: dict[str, Any], n: int) -> Reply:
        text = json.dumps(body["messages"], ensure_ascii=False)
        [labels] = [v for d, v in by_desc.items() if d in text]
        return Reply(content=json.dumps(labels, ensure_ascii=False))

    env = {"OPENAI_API_KEY": ""}  # a --base-url server needs no key
    with ChatServer(script) as srv:
        args = (
            f"eval --provider openai --base-url {srv.url}/v1 --model gpt-4o --data {data} "
            "--limit 4 --concurrency 2 --style compact"
        ).split()
        r = run_cli(*args, "--out", str(tmp_path / "a"), cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stderr
        assert len(srv.requests) == 4
        lines = (tmp_path / "a" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
        preds = [json.loads(ln) for ln in lines]
        assert len(preds) == 4
        assert all(p["parsed"] == p["gold"] and not p["errors"] for p in preds)
        usage = json.loads((tmp_path / "a" / "metrics.json").read_text())["usage"]
        assert (usage["prompt_tokens"], usage["completion_tokens"]) == (200, 48)
        assert usage["cost_usd"] == pytest.approx(4 * GPT4O)
        assert usage["cached_items"] == 0

        # a rerun into another directory is answered from the cache: nothing sent, nothing paid
        r = run_cli(*args, "--out", str(tmp_path / "b"), cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stderr
        assert len(srv.requests) == 4
        usage = json.loads((tmp_path / "b" / "metrics.json").read_text())["usage"]
        assert (usage["cached_items"], usage["cost_usd"], usage["prompt_tokens"]) == (4, 0.0, 200)


def test_rerun_asks_again_only_for_items_whose_call_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed call is scored wrong in the first run; a rerun resumes and re-asks only it."""
    from conftest import run_eval

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    rows = make_rows(1)[:4]
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    bad_title = rows[1]["title"]
    healthy = {"on": False}

    def script(body: dict[str, Any], n: int) -> Reply:
        prompt = body["messages"][-1]["content"]
        row = next(r for r in rows if f"Titel: {r['title']}" in prompt)
        if row["title"] == bad_title and not healthy["on"]:
            return Reply(status=500, body={"error": {"message": "boom"}})
        return Reply(
            content=json.dumps({k: row[k] for k in ("category", "subcategory", "urgency")})
        )

    with ChatServer(script) as srv:
        prov = ProviderConfig(
            name="openai",
            model="m",
            base_url=srv.url + "/v1",
            max_retries=1,
            cache_dir=tmp_path / "cache",
            extra={"backoff_s": 0.001},
        )
        cfg = EvalConfig(
            task="tickets", provider=prov, data=str(data), split="all", out=str(tmp_path / "run")
        )
        run_eval(cfg)
        m1 = json.loads((tmp_path / "run" / "metrics.json").read_text())
        sent = len(srv.requests)
        healthy["on"] = True
        run_eval(cfg)
        m2 = json.loads((tmp_path / "run" / "metrics.json").read_text())
        resent = srv.requests[sent:]
    n_bad = sum(1 for r in rows if r["title"] == bad_title)
    assert m1["fields"]["category"]["accuracy"] == pytest.approx(1 - n_bad / 4)
    assert m2["fields"]["category"]["accuracy"] == 1.0 and m2["n"] == 4
    assert len(resent) == n_bad  # only the failed item was asked again
