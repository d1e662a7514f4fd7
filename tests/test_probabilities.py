"""Label probabilities in every prediction: from the constrained scorer, tfidf, the majority
prior, and API token logprobs (read through the real openai client from a local server).

    pytest tests/test_probabilities.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bizztune.core.interfaces import ProviderConfig, Task
from bizztune.eval.evaluate import EvalConfig
from bizztune.eval.rundir import load_run
from bizztune.plugins import load_task
from bizztune.providers.api.logprobs import TokenLogprob, answer_probs, field_distribution
from bizztune.providers.local.constrained import answer_space, field_probs

from chat_server import ChatServer, Reply
from conftest import make_rows, run_eval, write_jsonl


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task("tickets")


def _sums_to_one(dist: dict[str, float]) -> bool:
    return math.isclose(sum(dist.values()), 1.0, abs_tol=1e-5)


# -- constrained decoding's stage tables -----------------------------------------------------------
def test_field_probs_marginalise_the_stage_tables(task: Task) -> None:
    space = answer_space(task.schema, task.schema.names)  # (category, subcategory), urgency
    opts = space.options
    chosen = next(i for i, o in enumerate(opts) if o["subcategory"] == "Softwarefehler")
    key0 = {(o["category"], o["subcategory"]) for o in opts}
    # stage 0: Softwarefehler 0.5, Geräte-Setup-Probleme 0.3, the other 9 share 0.2
    p0 = {k: 0.2 / 9 for k in key0}
    p0[("Technischer Support", "Softwarefehler")] = 0.5
    p0[("Technischer Support", "Geräte-Setup-Probleme")] = 0.3
    c = opts[chosen]
    p1 = {
        (c["category"], c["subcategory"], u): p
        for u, p in zip(("Hoch", "Mittel", "Niedrig"), (0.6, 0.3, 0.1), strict=True)
    }
    tables = {
        0: {k: math.log(v) for k, v in p0.items()},
        1: {k: math.log(v) for k, v in p1.items()},
    }
    probs, joint = field_probs(task.schema, space, chosen, tables)
    assert probs["subcategory"]["Softwarefehler"] == pytest.approx(0.5)
    # the category is the sum of its subcategories: Technischer Support has exactly these two
    assert probs["category"]["Technischer Support"] == pytest.approx(0.8)
    assert probs["urgency"] == pytest.approx({"Hoch": 0.6, "Mittel": 0.3, "Niedrig": 0.1})
    assert all(_sums_to_one(d) for d in probs.values())
    assert joint == pytest.approx(0.5 * c_prob(c["urgency"]))


def c_prob(urgency: str) -> float:
    return {"Hoch": 0.6, "Mittel": 0.3, "Niedrig": 0.1}[urgency]


def test_field_stages_chain_a_child_to_its_parent(task: Task) -> None:
    space = answer_space(task.schema, ("category", "subcategory"), stages="field")
    sub = task.schema.field("subcategory")
    chosen = next(i for i, o in enumerate(space.options) if o["subcategory"] == "Softwarefehler")
    cats = task.schema.field("category").labels
    p_cat = {c: (0.5 if c == "Technischer Support" else 0.5 / (len(cats) - 1)) for c in cats}
    p_sub = {
        ("Technischer Support", "Softwarefehler"): 0.75,
        ("Technischer Support", "Geräte-Setup-Probleme"): 0.25,
    }
    tables = {
        0: {(c,): math.log(p) for c, p in p_cat.items()},
        1: {k: math.log(p) for k, p in p_sub.items()},
    }
    probs, joint = field_probs(task.schema, space, chosen, tables)
    assert probs["subcategory"]["Softwarefehler"] == pytest.approx(0.5 * 0.75)
    # a category the model did not choose shares its mass equally among its children
    other = next(c for c in cats if c != "Technischer Support")
    kids = [lab for lab in sub.labels if sub.parent_of[lab] == other]
    assert probs["subcategory"][kids[0]] == pytest.approx(p_cat[other] / len(kids))
    assert _sums_to_one(probs["subcategory"])
    assert joint == pytest.approx(0.5 * 0.75)


def test_hf_constrained_records_carry_probabilities(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from bizztune.testing import make_tiny_model

    rows = make_rows(1)
    model = make_tiny_model(tmp_path / "tiny", texts=[r["description"] for r in rows])
    data = write_jsonl(tmp_path / "t.jsonl", rows[:6])
    out = run_eval(
        EvalConfig(
            provider=ProviderConfig(name="hf", model=str(model), decoding="constrained"),
            data=str(data),
            style="compact",
            out=str(tmp_path / "run"),
        )
    )
    run = load_run(out)
    for rec in run.predictions.values():
        assert rec["probs_source"] == "model"
        assert all(_sums_to_one(d) for d in rec["probs"].values())
        sub, urg = rec["parsed"]["subcategory"], rec["parsed"]["urgency"]
        # group stages: the answer's probability is P(category, subcategory) * P(urgency | them)
        assert rec["confidence"] == pytest.approx(
            rec["probs"]["subcategory"][sub] * rec["probs"]["urgency"][urg], rel=1e-4
        )
    cal = run.metrics["calibration"]
    assert cal["with_probs"] == 1.0 and 0.0 <= cal["ece_joint"] <= 1.0
    assert run.config["provider_info"]["device"] == "cpu"
    assert run.config["provider_info"]["paid"] is False


# -- the baselines ---------------------------------------------------------------------------------
def test_tfidf_and_majority_give_their_probabilities(split_dir: Path, tmp_path: Path) -> None:
    for name in ("tfidf", "majority"):
        out = run_eval(
            EvalConfig(
                provider=ProviderConfig(name=name), data=str(split_dir), out=str(tmp_path / name)
            )
        )
        run = load_run(out)
        for rec in run.predictions.values():
            assert rec["probs_source"] == "model"
            assert all(_sums_to_one(d) for d in rec["probs"].values())
            p = rec["probs"]
            # the answered subcategory is the most probable one; its category is the sum of
            # the subcategories under it
            sub = rec["parsed"]["subcategory"]
            assert p["subcategory"][sub] == max(p["subcategory"].values())
            assert rec["confidence"] == pytest.approx(
                p["subcategory"][sub] * p["urgency"][rec["parsed"]["urgency"]], rel=1e-4
            )
        if name == "majority":  # the train prior, the same for every item
            assert (
                len({json.dumps(r["probs"], sort_keys=True) for r in run.predictions.values()}) == 1
            )


# -- API token logprobs ----------------------------------------------------------------------------
def _tokens(spec: list[tuple[str, float, list[tuple[str, float]]]]) -> list[TokenLogprob]:
    return [
        TokenLogprob(t.encode(), lp, tuple((a.encode(), b) for a, b in alts))
        for t, lp, alts in spec
    ]


def test_logprobs_give_label_probabilities_hand_computed(task: Task) -> None:
    text = '{"urgency": "Hoch"}'
    # the value's first token branches: Hoch 0.6, Mittel 0.3, 'Nied' (Niedrig) 0.05, 'xyz' (no label) 0.05
    toks = _tokens(
        [
            ('{"urgency": "', 0.0, []),
            (
                "Ho",
                math.log(0.6),
                [("Mit", math.log(0.3)), ("Nied", math.log(0.05)), ("xyz", math.log(0.05))],
            ),
            ("ch", math.log(0.9), [("chen", math.log(0.1))]),  # decided already: not counted
            ('"}', 0.0, []),
        ]
    )
    got = answer_probs(text, toks, task.schema, ["urgency"])
    assert got is not None
    probs, conf = got
    # the mass of 'xyz' (no label) is dropped and the rest renormalised over 0.95
    assert probs["urgency"] == pytest.approx(
        {"Hoch": 0.6 / 0.95, "Mittel": 0.3 / 0.95, "Niedrig": 0.05 / 0.95}
    )
    assert conf == pytest.approx(0.6 / 0.95)


def test_logprobs_walk_shared_prefixes_and_leading_quotes(task: Task) -> None:
    # 'Technischer Support' and 'Kein Zusammenhang' and others: the first token carries the quote
    raw = '{"category": "Technischer Support"}'
    toks = _tokens(
        [
            ('{"category":', 0.0, []),
            (' "Tech', math.log(0.7), [(' "Best', math.log(0.2)), (" ", math.log(0.1))]),
            ("nischer Support", 0.0, []),
            ('"}', 0.0, []),
        ]
    )
    dist, chosen = field_distribution(
        raw.encode(), toks, "category", task.schema.field("category").labels
    )  # type: ignore[misc]
    assert chosen == "Technischer Support"
    # ' ' does not begin with the lead ' "' and is dropped; ' "Best' is Bestellverwaltung
    assert dist == pytest.approx({"Technischer Support": 0.7 / 0.9, "Bestellverwaltung": 0.2 / 0.9})
    # tokens that do not add up to the answer give nothing
    assert answer_probs('{"category": "Ungewiss"}', toks, task.schema, ["category"]) is None


def test_api_logprobs_read_through_the_openai_client(task: Task, tmp_path: Path) -> None:
    pytest.importorskip("openai")
    rows = make_rows(1)[:3]
    data = write_jsonl(tmp_path / "t.jsonl", rows)
    fields = ("category", "subcategory", "urgency")

    def script(body: dict[str, Any], n: int) -> Reply:
        assert body["logprobs"] is True and body["top_logprobs"] == 20
        text = json.dumps(body["messages"], ensure_ascii=False)
        [row] = [r for r in rows if r["description"] in text]
        labels = {k: row[k] for k in fields}
        head = (
            '{"category": "'
            + labels["category"]
            + '", "subcategory": "'
            + labels["subcategory"]
            + '", "urgency": "'
        )
        other = "Mittel" if labels["urgency"] != "Mittel" else "Hoch"
        tokens = [
            (head, 0.0, []),
            (labels["urgency"], math.log(0.8), [(other, math.log(0.2))]),
            ('"}', 0.0, []),
        ]
        return Reply(content=json.dumps(labels, ensure_ascii=False), tokens=tokens)

    with ChatServer(script) as srv:
        out = run_eval(
            EvalConfig(
                provider=ProviderConfig(
                    name="openai",
                    model="gpt-4o",
                    base_url=srv.url + "/v1",
                    cache_dir=tmp_path / "cache",
                ),
                data=str(data),
                style="compact",
                out=str(tmp_path / "run"),
            )
        )
    run = load_run(out)
    for rec in run.predictions.values():
        assert rec["probs_source"] == "model"
        gold_u = rec["gold"]["urgency"]
        assert rec["probs"]["urgency"][gold_u] == pytest.approx(0.8)
        assert rec["probs"]["subcategory"] == {rec["gold"]["subcategory"]: 1.0}
        assert rec["confidence"] == pytest.approx(0.8)
    assert run.config["provider_info"] == {
        "name": "openai",
        "model": "gpt-4o",
        "family": "openai",
        "paid": True,
        "device": None,
    }
    # the cache keeps the probabilities: a rerun elsewhere sends nothing and reads them back
    again = run_eval(
        EvalConfig(
            provider=ProviderConfig(
                name="openai",
                model="gpt-4o",
                base_url=srv.url + "/v1",
                cache_dir=tmp_path / "cache",
            ),
            data=str(data),
            style="compact",
            out=str(tmp_path / "again"),
        )
    )
    # (records are written in the order answers arrive: compare them by item)
    assert {i: r["probs"] for i, r in load_run(again).predictions.items()} == {
        i: r["probs"] for i, r in run.predictions.items()
    }


def test_a_server_refusing_logprobs_is_asked_without_them(task: Task, tmp_path: Path) -> None:
    pytest.importorskip("openai")
    rows = make_rows(1)[:3]
    data = write_jsonl(tmp_path / "t.jsonl", rows)

    def script(body: dict[str, Any], n: int) -> Reply:
        if body.get("logprobs"):
            return Reply(
                status=400, body={"error": {"message": "logprobs is not supported for this model"}}
            )
        return Reply(
            content='{"category": "Ungewiss", "subcategory": "Kein Zusammenhang", "urgency": "Niedrig"}'
        )

    with ChatServer(script) as srv:
        out = run_eval(
            EvalConfig(
                provider=ProviderConfig(
                    name="openai", model="gpt-4o", base_url=srv.url + "/v1", concurrency=1
                ),
                data=str(data),
                style="compact",
                out=str(tmp_path / "run"),
            )
        )
        asked = [bool(b.get("logprobs")) for b in srv.requests]
    assert asked == [True, False, False, False]  # refused once, then never asked again
    recs = list(load_run(out).predictions.values())
    assert all(r["probs_source"] == "none" and r["confidence"] == 1.0 for r in recs)
    assert all(r["probs"]["urgency"] == {"Niedrig": 1.0} for r in recs)
