"""``bizztune generate``: the offline ticket generator, resuming, and the LLM path end to end
against a real chat-completions server on 127.0.0.1 through the real ``openai`` client.

    pytest tests/test_generate.py
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bizztune.core.errors import ConfigError, DataError
from bizztune.core.interfaces import ProviderConfig, Task
from bizztune.data.datacard import card_stats
from bizztune.data.generate import generate_dataset, generate_offline, parse_options
from bizztune.data.io import load_examples
from bizztune.data.llm_generate import cells_for, generate_with_provider, validate_answer
from bizztune.data.resumable import read_existing
from bizztune.plugins import load_task
from bizztune.tasks.tickets import catalog as cat
from bizztune.tasks.tickets.generator import PART_GENDER, caps, generate, label_prior
from bizztune.tasks.tickets.pools import GENERIC_TITLES, POOLS
from bizztune.tasks.tickets.prior import cell_prior
from bizztune.tasks.tickets.voice import RED_HERRINGS, STRAY_KINDS

from chat_server import ChatServer, Reply
from conftest import run_cli

FIELDS = ["id", "title", "description", "user", "date", "category", "subcategory", "urgency"]


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task("tickets")


@pytest.fixture(scope="module")
def rows(task: Task) -> list[dict[str, Any]]:
    return list(generate(task, 1000, seed=0))


@pytest.fixture(scope="module")
def uniform(task: Task) -> list[dict[str, Any]]:
    return list(generate(task, 990, seed=0, prior="uniform"))


# -- the offline generator ------------------------------------------------------------------------
def test_rows_have_the_schema_and_stable_ids(task: Task, rows: list[dict[str, Any]]) -> None:
    assert [list(r) for r in rows[:3]] == [FIELDS] * 3
    assert [r["id"] for r in rows[:3]] == ["t-000001", "t-000002", "t-000003"]
    parent = task.schema.field("subcategory").parent_of
    for r in rows:
        assert r["category"] == parent[r["subcategory"]]
        assert re.fullmatch(r"202[45]-\d\d-\d\d", r["date"])
        assert not re.search(r"[{}]|\[\[|\]\]", r["title"] + r["description"]), r  # all filled
        # one-liners are meant now; a ticket still says something
        assert r["user"] and r["title"].strip() and len(r["description"].split()) >= 3


def test_uniform_prior_balances_cells_in_every_prefix(uniform: list[dict[str, Any]]) -> None:
    """``prior=uniform`` is the old schedule: every cell once per round of 33."""
    for n in (33, 330, 990):
        cells = Counter((r["subcategory"], r["urgency"]) for r in uniform[:n])
        assert len(cells) == 33
        assert max(cells.values()) - min(cells.values()) <= 1


def test_realistic_prior_is_followed_in_every_round(task: Task, rows: list[dict[str, Any]]) -> None:
    """The default prior: every round of 100 tickets brings each cell to within one ticket of
    its expected count, whatever the prefix of whole rounds."""
    subs = task.schema.field("subcategory").labels
    prior = cell_prior(subs, "realistic")
    for n in (100, 300, 1000):
        cells = Counter((r["subcategory"], r["urgency"]) for r in rows[:n])
        for cell, p in prior.items():
            assert abs(cells[cell] - p * n) < 1 + 1e-9, (n, cell, cells[cell], p * n)
    urgency = Counter(r["urgency"] for r in rows)
    assert urgency["Niedrig"] > urgency["Mittel"] > urgency["Hoch"] >= 150
    subcats = Counter(r["subcategory"] for r in rows)
    tech = subcats["Geräte-Setup-Probleme"] + subcats["Softwarefehler"]
    assert tech >= 3 * (subcats["Unternehmensrichtlinien"] + subcats["Feedback und Vorschläge"]) / 2
    shares = label_prior(task)
    for f in ("category", "subcategory", "urgency"):
        assert sum(shares[f].values()) == pytest.approx(1.0, abs=1e-5)
    assert label_prior(task, prior="uniform")["urgency"]["Hoch"] == pytest.approx(1 / 3, abs=1e-5)


def test_prior_option_is_checked(task: Task, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"prior='nope': choose one of realistic, uniform"):
        next(generate(task, 5, 0, prior="nope"))
    with pytest.raises(ConfigError, match=r"no option 'colour'.*prior: realistic"):
        next(generate(task, 5, 0, colour="blue"))
    out = tmp_path / "t.jsonl"
    r = run_cli("generate", "-n", "5", "--out", str(out), "--generator-option", "prior=nope")
    assert r.returncode == 2 and "prior='nope'" in r.stderr and not out.exists()


def test_seeded_reproducible_and_prefix_stable(task: Task, rows: list[dict[str, Any]]) -> None:
    assert list(generate(task, 1000, seed=0)) == rows
    assert list(generate(task, 100, seed=0)) == rows[:100]
    assert list(generate(task, 500, seed=0, prior="uniform"))[:400] == list(
        generate(task, 400, seed=0, prior="uniform")
    )
    other = list(generate(task, 100, seed=1))
    assert sum(a["description"] == b["description"] for a, b in zip(other, rows, strict=False)) == 0


def test_same_seed_same_bytes_in_another_process(task: Task, tmp_path: Path) -> None:
    """Byte-identical output whatever the process (hash seeds differ between them)."""
    files = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"h{hash_seed}.jsonl"
        r = run_cli("generate", "-n", "300", "--out", str(out), env={"PYTHONHASHSEED": hash_seed})
        assert r.returncode == 0, r.stderr
        files.append(out.read_bytes())
    assert files[0] == files[1]
    assert read_existing(tmp_path / "h1.jsonl") == list(generate(task, 300, seed=0))


def test_quality_gates_on_1000_tickets(
    task: Task, rows: list[dict[str, Any]], uniform: list[dict[str, Any]]
) -> None:
    stats = card_stats(rows, task.schema, expected=label_prior(task))
    assert stats.near_duplicate_rate < 0.02
    assert stats.exact_duplicates == 0
    assert stats.title_label_share["subcategory"] <= 0.10
    assert stats.passed, stats.gates
    assert max(stats.prior_gap.values()) < 0.005
    # realistic labels are not balanced, on purpose; uniform ones are, as before
    assert stats.balance["urgency"] < 0.5 and stats.balance["subcategory"] < 0.5
    flat = card_stats(uniform, task.schema, expected=label_prior(task, prior="uniform"))
    assert flat.balance["subcategory"] >= 0.9 and flat.balance["urgency"] >= 0.95
    assert flat.near_duplicate_rate < 0.02 and flat.passed, flat.gates


def test_no_two_classes_share_a_template() -> None:
    seen: dict[str, str] = {}
    for sub, pool in POOLS.items():
        titles = {*pool.titles, *(t for p in pool.problems for t in p.titles)}
        for p in pool.problems:
            for text in p.variants:
                assert seen.setdefault(text, sub) == sub, (
                    f"{sub} shares a problem with {seen[text]}"
                )
            assert len(p.variants) >= 2, f"{sub}: no paraphrase of {p.variants[0]!r}"
        for title in titles:
            assert title not in GENERIC_TITLES
            assert sub.lower() not in title.lower()
        assert len(pool.problems) >= 14 and len(titles) >= 10
    assert "Kein Zusammenhang" not in RED_HERRINGS


def test_every_problem_has_a_product_and_every_part_a_gender() -> None:
    for sub, pool in POOLS.items():
        for p in pool.problems:
            if sub == "Kein Zusammenhang":  # its tag is the kind of stray mail
                assert p.tag in STRAY_KINDS, p
            else:
                assert any(p.tag in caps(x) for x in cat.PRODUCTS), p.variants[0]
    for parts in cat.PARTS.values():
        assert set(parts) <= set(PART_GENDER)


def test_unrelated_tickets_do_not_mention_the_company_products(
    rows: list[dict[str, Any]], uniform: list[dict[str, Any]]
) -> None:
    names = [p.name for p in cat.PRODUCTS]
    unrelated = [r for r in rows + uniform if r["subcategory"] == "Kein Zusammenhang"]
    assert len(unrelated) >= 130
    for r in unrelated:
        text = r["title"] + r["description"]
        assert not any(n in text for n in names), r
        assert "Bestellnummer" not in text and "Kundennummer" not in text


# -- the append-only file -------------------------------------------------------------------------
def test_offline_resume_equals_an_uninterrupted_run(task: Task, tmp_path: Path) -> None:
    full = tmp_path / "full.jsonl"
    s = generate_offline(task, n=300, seed=2, out=full)
    assert (s.written, s.resumed, s.total) == (300, 0, 300)
    assert len(load_examples(full, task)) == 300

    part = tmp_path / "part.jsonl"
    lines = full.read_bytes().split(b"\n")
    # 120 complete lines and half of the 121st: a write cut off by an interrupt
    part.write_bytes(b"\n".join(lines[:120]) + b"\n" + lines[120][: len(lines[120]) // 2])
    s = generate_offline(task, n=300, seed=2, out=part)
    assert (s.resumed, s.written) == (120, 180)
    assert part.read_bytes() == full.read_bytes()

    again = generate_offline(task, n=300, seed=2, out=part)  # complete: nothing to do
    assert (again.resumed, again.written) == (300, 0)
    assert part.read_bytes() == full.read_bytes()


def test_resume_refuses_a_file_from_another_seed(task: Task, tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    generate_offline(task, n=20, seed=0, out=out)
    before = out.read_bytes()
    with pytest.raises(DataError, match=r"t\.jsonl:1: differs from what seed 1 generates"):
        generate_offline(task, n=40, seed=1, out=out)
    with pytest.raises(DataError, match="more than -n 10"):
        generate_offline(task, n=10, seed=0, out=out)
    assert out.read_bytes() == before


def test_read_existing_rejects_garbage_in_the_middle(tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    out.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"t\.jsonl:2: not a JSON row"):
        read_existing(out)


def test_cli_generate_offline_writes_data_card_and_meta(tmp_path: Path) -> None:
    out = tmp_path / "data" / "t.jsonl"
    uniform = ("--generator-option", "prior=uniform")
    r = run_cli(
        "generate", "--task", "tickets", "-n", "66", "--out", str(out), "--seed", "3", *uniform
    )
    assert r.returncode == 0, r.stderr
    assert f"{out}: 66 rows (66 new, 0 resumed)" in r.stdout
    assert "PASS near-duplicate rate < 2%" in r.stdout
    assert "PASS urgency shares follow the expected prior (within 3 SE)" in r.stdout
    assert len(out.read_text(encoding="utf-8").splitlines()) == 66
    card = (tmp_path / "data" / "t.datacard.md").read_text(encoding="utf-8")
    assert "## Quality gates" in card and "| Hoch | 22 | 33.3% | 33.3% |" in card
    meta = json.loads((tmp_path / "data" / "t.generate.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 3 and meta["summary"]["written"] == 66 and meta["provider"] is None
    assert meta["generator_options"] == {"prior": "uniform"}

    again = run_cli("generate", "-n", "66", "--out", str(out), "--seed", "3", *uniform)
    assert "66 rows (0 new, 66 resumed)" in again.stdout
    # the same file is not the realistic prior's: resuming it without the option is refused
    mixed = run_cli("generate", "-n", "70", "--out", str(out), "--seed", "3")
    assert mixed.returncode == 2 and "generator option" in mixed.stderr

    real = tmp_path / "data" / "r.jsonl"
    r = run_cli("generate", "-n", "100", "--out", str(real))
    assert r.returncode == 0 and "PASS subcategory shares follow the expected prior" in r.stdout
    card = (tmp_path / "data" / "r.datacard.md").read_text(encoding="utf-8")
    assert "| Niedrig | 43 | 43.0% | 42.7% |" in card

    bad = run_cli("generate", "-n", "5", "--out", str(tmp_path / "x.csv"))
    assert bad.returncode == 2 and "error: --out must be a .jsonl file" in bad.stderr
    unknown = run_cli("generate", "--task", "nope", "-n", "5", "--out", str(out))
    assert unknown.returncode == 2 and "nope" in unknown.stderr


# -- generator options, the prior a generator promises, the default set's key ---------------------
TOY_GEN = """
def generate(task, n, seed, **options):
    for i in range(n):
        yield {"id": f"x{i}", "title": f"Titel {i}", "description": f"Text {i} {options} " + "z" * i,
               "user": "A B", "date": "2025-01-01", "category": "Technischer Support",
               "subcategory": "Softwarefehler", "urgency": "Hoch" if i % 4 else "Mittel"}


def plain(task, n, seed):
    return generate(task, n, seed)


def label_prior(task, **options):
    return {"subcategory": {"Softwarefehler": 1.0}, "urgency": {"Hoch": 0.75, "Mittel": 0.25}}
"""


@pytest.fixture()
def toy(task: Task, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A generator package of its own (``bizztoy``): code and a text file it could read."""
    import sys

    pkg = tmp_path / "lib" / "bizztoy"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "gen.py").write_text(TOY_GEN, encoding="utf-8")
    (pkg / "pool.txt").write_text("eins\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    yield pkg
    for name in ("bizztoy", "bizztoy.gen"):
        sys.modules.pop(name, None)


def test_generator_options_go_from_yaml_and_flags_to_the_generator_and_manifest(
    task: Task, toy: Path, tmp_path: Path
) -> None:
    import dataclasses

    t = dataclasses.replace(
        task, generator="bizztoy.gen:generate", generator_options={"flavour": "a", "keep": 1}
    )
    out = tmp_path / "toy.jsonl"
    result = generate_dataset(t, n=8, seed=0, out=out, options={"flavour": "b"})
    rows = read_existing(out)
    assert "'flavour': 'b', 'keep': 1" in rows[0]["description"]  # the flag wins, YAML stays
    meta = json.loads((tmp_path / "toy.generate.json").read_text(encoding="utf-8"))
    assert meta["generator_options"] == {"flavour": "b", "keep": 1}
    assert meta["label_prior"]["urgency"] == {"Hoch": 0.75, "Mittel": 0.25}
    assert result.card.gates["urgency shares follow the expected prior (within 3 SE)"]
    # a generator that takes no options is called with three arguments
    t3 = dataclasses.replace(task, generator="bizztoy.gen:plain")
    assert generate_offline(t3, n=3, seed=0, out=tmp_path / "plain.jsonl").written == 3
    with pytest.raises(ConfigError, match="does not apply with --provider"):
        generate_dataset(t, n=2, seed=0, out=tmp_path / "p.jsonl", options={"x": 1},
                         provider=ProviderConfig(name="openai"))  # fmt: skip


def test_parse_generator_options() -> None:
    assert parse_options(["prior=uniform", "rate=0.5", "on=true", "empty=", "t=a=b"]) == {
        "prior": "uniform", "rate": 0.5, "on": True, "empty": "", "t": "a=b",
    }  # fmt: skip
    for bad in ("prior", "=uniform"):
        with pytest.raises(ConfigError, match="--generator-option must be KEY=VALUE"):
            parse_options([bad])


def test_default_data_key_hashes_every_file_of_the_generator_package(task: Task, toy: Path) -> None:
    """The default set's folder name changes when any file of the generator's package does,
    text pools included, so a changed generator never reuses old cached data."""
    import dataclasses

    from bizztune.data.sources import generator_fingerprint

    t = dataclasses.replace(task, generator="bizztoy.gen:generate")
    before = generator_fingerprint(t)
    assert generator_fingerprint(t) == before
    (toy / "pool.txt").write_text("zwei\n", encoding="utf-8")
    changed = generator_fingerprint(t)
    (toy / "more.txt").write_text("drei\n", encoding="utf-8")
    assert len({before, changed, generator_fingerprint(t)}) == 3


# -- the LLM path, end to end over HTTP -------------------------------------------------------------
GPT4O = (50 * 2.5 + 12 * 10.0) / 1e6  # the server's usage (50 in, 12 out) at gpt-4o prices
LABEL_LINE = re.compile(r"^- \w+ \((category|subcategory|urgency)\): (.+)$", re.M)


def cell_of(body: dict[str, Any]) -> dict[str, str]:
    """The labels a generation request asks for, read back from its German prompt."""
    return dict(LABEL_LINE.findall(body["messages"][-1]["content"]))


def ticket_json(body: dict[str, Any], **override: Any) -> str:
    cell = cell_of(body)
    row = {
        "title": f"Ticket {cell['subcategory'][:6]} {body['seed']}",
        "description": f"Text über {cell['subcategory']} mit Dringlichkeit {cell['urgency']}, "
        f"Variante {body['seed']}.",
        "user": "Erika Mustermann",
        "date": "2025-03-01",
        **cell,
    }
    row.update(override)
    return json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False)


def openai_config(srv: ChatServer, **kw: Any) -> ProviderConfig:
    defaults: dict[str, Any] = {
        "name": "openai",
        "model": "gpt-4o",
        "base_url": srv.url + "/v1",
        "timeout_s": 5.0,
        "max_retries": 2,
        "concurrency": 3,
        "cache_dir": None,
        "extra": {"backoff_s": 0.001},
    }
    return ProviderConfig(**{**defaults, **kw})


def writer(cfg: ProviderConfig) -> Any:
    """The registered provider ``cfg`` names, resolved as ``bizztune generate`` does."""
    from bizztune.plugins import registry

    return registry().provider(cfg.name)


def test_validate_answer(task: Task) -> None:
    cell = {"category": "Bestellverwaltung", "subcategory": "Bestellverfolgung", "urgency": "Hoch"}
    good = {"title": "Wo ist mein Paket?", "description": "Seit Tagen nichts.", "user": "A B",
            "date": "2025-01-02", **cell}  # fmt: skip

    def check(obj: Any) -> tuple[dict[str, str] | None, str]:
        return validate_answer(task, obj if isinstance(obj, str) else json.dumps(obj), cell)

    assert check(good) == ({k: str(v) for k, v in good.items()}, "")
    assert check("Hier ist es:\n```json\n" + json.dumps(good) + "\n```")[0] is not None
    assert check("{not json") == (None, "not a JSON object")
    assert check("[1, 2]") == (None, "not a JSON object")
    assert check({**good, "title": ""}) == (None, "missing field 'title'")
    assert check({k: v for k, v in good.items() if k != "urgency"}) == (
        None,
        "missing field 'urgency'",
    )
    assert check({**good, "urgency": "Dringend"}) == (None, "out of taxonomy: urgency")
    assert check({**good, "subcategory": "Lieferverzögerungen"}) == (
        None,
        "wrong label: subcategory",
    )
    assert validate_answer(task, None, cell) == (None, "empty answer")


def test_llm_path_validates_retries_drops_and_counts(
    task: Task, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    cells = cells_for(task, 12, seed=0)
    assert len({(c["subcategory"], c["urgency"]) for c in cells}) == 12
    key = [(c["subcategory"], c["urgency"]) for c in cells]
    malformed, off_taxonomy, rate_limited, broken, missing = key[:5]
    seen: Counter[tuple[str, str]] = Counter()

    def script(body: dict[str, Any], n: int) -> Reply:
        c = cell_of(body)
        k = (c["subcategory"], c["urgency"])
        seen[k] += 1
        if k == malformed and seen[k] == 1:
            return Reply(content='{"title": "Kaputt", "description": ')
        if k == off_taxonomy:
            return Reply(content=ticket_json(body, subcategory="Sonstiges"))
        if k == rate_limited and seen[k] == 1:
            return Reply(status=429, body={"error": {"message": "Rate limit"}})
        if k == broken:
            return Reply(status=500, body={"error": {"message": "upstream exploded"}})
        if k == missing and seen[k] == 1:
            return Reply(content=ticket_json(body, description=None))
        return Reply(content=ticket_json(body))

    out = tmp_path / "llm.jsonl"
    with ChatServer(script) as srv:
        cfg = openai_config(srv)
        s = generate_with_provider(task, 12, 0, out, cfg, writer(cfg), max_attempts=3)
        bodies = list(srv.requests)

    assert (s.written, s.dropped, s.resumed) == (10, 2, 0)
    assert s.invalid_answers == 1 + 3 + 1
    assert s.failed_requests == 3
    assert s.reasons == {
        "out of taxonomy: subcategory": 3,
        "request failed: HTTP 500": 3,
        "not a JSON object": 1,
        "missing field 'description'": 1,
    }
    # 15 answers came back with usage; failed requests and the 429 carry none
    assert (s.prompt_tokens, s.completion_tokens) == (15 * 50, 15 * 12)
    assert s.cost_usd == pytest.approx(15 * GPT4O)
    assert s.requests == 18 and (s.provider, s.model) == ("openai", "gpt-4o")
    # HTTP: 7 plain + 2 malformed + 3 off-taxonomy + 2 (429, retry) + 3x3 for 500 + 2 missing
    assert len(bodies) == 25

    rows = read_existing(out)
    assert len(rows) == 10 and len({r["id"] for r in rows}) == 10
    by_id = {r["id"]: r for r in rows}
    for i, c in enumerate(cells):
        rid = f"t-{i + 1:06d}"
        if key[i] in (off_taxonomy, broken):
            assert rid not in by_id  # never written as data
        else:
            assert {f: by_id[rid][f] for f in c} == c
    assert len(load_examples(out, task)) == 10

    first = bodies[0]
    assert first["temperature"] == 0.9 and first["max_tokens"] == 1024
    assert first["response_format"] == {"type": "json_object"}
    prompt = first["messages"][0]["content"]
    assert "Der Kunde kann ein Gerät oder einen Dienst gar nicht nutzen" in prompt  # the rubric
    assert "Antworte ausschließlich mit einem JSON-Objekt" in prompt
    # a retry is a new request: another seed, so no cache can answer it with the old reply
    seeds = [b["seed"] for b in bodies if (cell_of(b)["subcategory"], cell_of(b)["urgency"]) == malformed]  # fmt: skip
    assert len(seeds) == 2 and seeds[0] != seeds[1]


def test_llm_run_interrupted_and_resumed_loses_and_duplicates_nothing(
    task: Task, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    out = tmp_path / "llm.jsonl"

    def interrupt_after_7(done: int, total: int) -> None:
        if done == 7:
            raise KeyboardInterrupt

    with ChatServer(lambda body, n: Reply(content=ticket_json(body))) as srv:
        cfg = openai_config(srv, concurrency=2)
        with pytest.raises(KeyboardInterrupt):
            generate_with_provider(task, 20, 0, out, cfg, writer(cfg), progress=interrupt_after_7)
        first_run = out.read_bytes()
        assert len(read_existing(out)) == 7
        # and the interrupt also tore a line in half
        out.write_bytes(first_run + b'{"id": "t-0000')
        s = generate_with_provider(task, 20, 0, out, cfg, writer(cfg))

    assert (s.resumed, s.written, s.dropped) == (7, 13, 0)
    assert s.requests == 13  # only the missing items were asked for
    assert out.read_bytes().startswith(first_run)
    rows = read_existing(out)
    ids = [r["id"] for r in rows]
    assert sorted(ids) == [f"t-{i:06d}" for i in range(1, 21)]  # none lost, none twice
    cells = cells_for(task, 20, seed=0)
    for r in rows:
        c = cells[int(r["id"][2:]) - 1]
        assert (r["subcategory"], r["urgency"]) == (c["subcategory"], c["urgency"])


def test_cli_generate_with_a_provider(tmp_path: Path) -> None:
    out = tmp_path / "gen.jsonl"
    with ChatServer(lambda body, n: Reply(content=ticket_json(body))) as srv:
        r = run_cli(
            "generate", "-n", "10", "--out", str(out), "--provider", "openai",
            "--model", "gpt-4o", "--base-url", srv.url + "/v1", "--concurrency", "3",
            env={"OPENAI_API_KEY": "sk-test"},
        )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "10 rows (10 new, 0 resumed)" in r.stdout
    assert "requests 10, invalid answers 0, failed requests 0, dropped 0" in r.stdout
    assert "tokens 500 in / 120 out, cost $0.002" in r.stdout
    assert len(srv.requests) == 10
    meta = json.loads((tmp_path / "gen.generate.json").read_text(encoding="utf-8"))
    assert meta["provider"]["name"] == "openai" and meta["summary"]["cost_usd"] == pytest.approx(
        10 * GPT4O
    )

    baseline = run_cli("generate", "-n", "2", "--out", str(tmp_path / "b.jsonl"), "-p", "tfidf")
    assert baseline.returncode == 2 and "cannot write tickets" in baseline.stderr
    nokey = run_cli("generate", "-n", "2", "--out", str(tmp_path / "k.jsonl"), "-p", "openai")
    assert nokey.returncode == 2 and "OPENAI_API_KEY" in nokey.stderr
