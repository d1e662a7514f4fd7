"""Combining models' recorded answers (``bizztune.eval.combine``, ``bizztune combine``): the
product of their probabilities, checked by hand, made consistent with the taxonomy, and an
eval run folder that reports read like any other."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from conftest import make_rows, run_cli, write_jsonl


@pytest.fixture(scope="module")
def schema() -> Any:
    from bizztune.plugins import load_task

    return load_task("tickets").schema


def test_urgency_is_the_normalized_weighted_geometric_mean(schema: Any) -> None:
    from bizztune.providers.combined import pool

    a = {"urgency": {"Hoch": 0.9, "Mittel": 0.05, "Niedrig": 0.05}}
    b = {"urgency": {"Hoch": 0.2, "Mittel": 0.6, "Niedrig": 0.2}}
    got = {k: math.exp(v) for k, v in pool(schema, [a, b], [0.5, 0.5])["urgency"].items()}
    raw = {"Hoch": math.sqrt(0.18), "Mittel": math.sqrt(0.03), "Niedrig": math.sqrt(0.01)}
    assert got == pytest.approx({k: v / sum(raw.values()) for k, v in raw.items()}, abs=1e-9)
    # weights move it towards a member: 3:1 for b
    got = {k: math.exp(v) for k, v in pool(schema, [a, b], [0.25, 0.75])["urgency"].items()}
    raw = {k: a["urgency"][k] ** 0.25 * b["urgency"][k] ** 0.75 for k in raw}
    assert got == pytest.approx({k: v / sum(raw.values()) for k, v in raw.items()}, abs=1e-9)


def test_the_parent_decides_the_pair_and_the_child_the_choice_within_it(schema: Any) -> None:
    """Chain rule: p(category) from the pooled category, p(subcategory | category) from the
    pooled subcategory normalized within it; the answer is one pair the taxonomy allows."""
    from bizztune.providers.combined import answer, pool

    # A member scoring the fields apart, inconsistent with itself: category says billing,
    # subcategory says a software fault (technical support).
    tf = {
        "category": {"Abrechnung und Zahlungen": 0.7, "Technischer Support": 0.3},
        "subcategory": {
            "Softwarefehler": 0.5,
            "Zahlungsprobleme": 0.3,
            "Rückerstattungsanfragen": 0.2,
        },
    }
    logp = pool(schema, [tf], [1.0])
    p = {f: {k: math.exp(v) for k, v in d.items()} for f, d in logp.items()}
    floor = 1e-6
    assert p["category"]["Abrechnung und Zahlungen"] == pytest.approx(0.7, abs=1e-4)
    # within billing: Zahlungsprobleme .3 against Rückerstattungsanfragen .2
    assert p["subcategory"]["Zahlungsprobleme"] == pytest.approx(0.7 * 0.3 / 0.5, abs=1e-4)
    assert p["subcategory"]["Rückerstattungsanfragen"] == pytest.approx(0.7 * 0.2 / 0.5, abs=1e-4)
    assert p["subcategory"]["Softwarefehler"] == pytest.approx(0.3 * 0.5 / (0.5 + floor), abs=1e-4)
    assert sum(p["subcategory"].values()) == pytest.approx(1.0)
    ans = answer(schema, logp)
    assert (ans["category"], ans["subcategory"]) == ("Abrechnung und Zahlungen", "Zahlungsprobleme")


def test_one_consistent_member_comes_out_unchanged(schema: Any) -> None:
    from bizztune.providers.combined import pool

    parent_of = dict(schema.field("subcategory").parent_of)
    sub = {"Softwarefehler": 0.5, "Geräte-Setup-Probleme": 0.2, "Zahlungsprobleme": 0.3}
    cat: dict[str, float] = {}
    for c, v in sub.items():
        cat[parent_of[c]] = cat.get(parent_of[c], 0.0) + v
    member = {"category": cat, "subcategory": sub, "urgency": {"Hoch": 0.4, "Mittel": 0.6}}
    logp = pool(schema, [member, member], [0.5, 0.5])
    for f, d in member.items():
        assert {k: math.exp(logp[f][k]) for k in d} == pytest.approx(d, abs=1e-4), f


def test_a_member_without_probabilities_votes_with_its_answer(schema: Any) -> None:
    """An unparseable answer (no probabilities) counts as the floor for every label: the
    other member decides; a one-hot answer (a provider without probabilities) is one vote."""
    from bizztune.providers.combined import answer, pool

    sure = {"urgency": {"Hoch": 0.3, "Mittel": 0.7}}
    ans = answer(schema, pool(schema, [sure, {}], [0.5, 0.5]))
    assert ans["urgency"] == "Mittel"
    ans = answer(schema, pool(schema, [sure, {"urgency": {"Hoch": 1.0}}], [0.5, 0.5]))
    assert ans["urgency"] == "Hoch"


def test_weights_are_checked(schema: Any) -> None:
    from bizztune.core.errors import ConfigError
    from bizztune.providers.combined import check_weights

    assert check_weights(None, 2) == [0.5, 0.5]
    assert check_weights([1, 3], 2) == [0.25, 0.75]
    for bad, n, msg in (
        (None, 1, "at least two"),
        ([1.0], 2, "1 weights for 2 models"),
        ([1.0, -1.0], 2, "non-negative"),
        ([0.0, 0.0], 2, "not all 0"),
        ([1.0, float("nan")], 2, "non-negative"),
    ):
        with pytest.raises(ConfigError, match=msg):
            check_weights(bad, n)


def _eval(split_dir: Path, out: Path, provider: str) -> Path:
    r = run_cli("eval", "--provider", provider, "--data", str(split_dir), "--out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def _records(run: Path) -> dict[str, dict[str, Any]]:
    lines = (run / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def test_bizztune_combine_writes_an_eval_run_that_reports_read(
    split_dir: Path, tmp_path: Path, schema: Any
) -> None:
    tf = _eval(split_dir, tmp_path / "tfidf", "tfidf")
    mj = _eval(split_dir, tmp_path / "majority", "majority")
    out = tmp_path / "both"
    r = run_cli("combine", str(tf), str(mj), "--out", str(out), "--weights", "3,1")
    assert r.returncode == 0, r.stderr
    a, b, c = _records(tf), _records(mj), _records(out)
    assert list(c) == list(a) and len(c) == len(b)
    parent_of = dict(schema.field("subcategory").parent_of)
    for i, rec in c.items():
        # urgency has no parent: the weighted geometric mean of the recorded probabilities
        raw = {
            k: max(a[i]["probs"]["urgency"].get(k, 0), 1e-6) ** 0.75
            * max(b[i]["probs"]["urgency"].get(k, 0), 1e-6) ** 0.25
            for k in schema.field("urgency").labels
        }
        want = {k: v / sum(raw.values()) for k, v in raw.items()}
        assert rec["probs"]["urgency"] == pytest.approx(want, abs=2e-6)
        assert rec["parsed"]["urgency"] == max(want, key=want.__getitem__)
        assert rec["parsed"]["category"] == parent_of[rec["parsed"]["subcategory"]]
        assert rec["correct"] == {k: rec["parsed"][k] == v for k, v in rec["gold"].items()}
        assert rec["gold"] == a[i]["gold"]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    right = sum(all(x["correct"].values()) for x in c.values())
    assert metrics["joint"]["accuracy"] == pytest.approx(right / len(c))
    cfg = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert [m["weight"] for m in cfg["combine"]["members"]] == [0.75, 0.25]
    assert cfg["provider_info"]["paid"] is False
    # the plan command reads it as any eval run
    r = run_cli("plan", str(out), str(tf))
    assert r.returncode == 0, r.stderr
    # items one run scored and another did not (a run of the first N items) are left out,
    # with a warning naming the run (a predictions file cut after scoring is refused instead)
    few = tmp_path / "majority-few"
    r = run_cli("eval", "--provider", "majority", "--data", str(split_dir), "--limit",
                str(len(a) - 2), "--out", str(few))  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run_cli("combine", str(tf), str(few), "--out", str(tmp_path / "fewer"))
    assert r.returncode == 0, r.stderr
    assert f"{tf}: 2 of its items left out" in r.stderr
    assert len(_records(tmp_path / "fewer")) == len(a) - 2


def test_bad_combinations_get_one_line(split_dir: Path, tmp_path: Path) -> None:
    tf = _eval(split_dir, tmp_path / "tfidf", "tfidf")
    other = tmp_path / "other"
    rows = make_rows(n_per_cell=1, seed=5)
    for k, row in enumerate(rows):
        row["id"] = f"x{k}"
    write_jsonl(other / "test.jsonl", rows)
    write_jsonl(other / "train.jsonl", make_rows(n_per_cell=2, seed=6))
    elsewhere = _eval(other, tmp_path / "elsewhere", "majority")
    relabelled = tmp_path / "relabelled"  # the same ids, other gold labels
    rows = [json.loads(x) for x in (split_dir / "test.jsonl").read_text().splitlines()]
    for row in rows:
        row["urgency"] = "Hoch" if row["urgency"] != "Hoch" else "Niedrig"
    write_jsonl(relabelled / "test.jsonl", rows)
    (relabelled / "train.jsonl").write_text((split_dir / "train.jsonl").read_text())
    relabelled_run = _eval(relabelled, tmp_path / "relabelled-run", "majority")
    cases = [
        ((str(tf), str(relabelled_run)), "has different gold labels in them: not the same items"),
        ((str(tf), str(elsewhere)), "no item was scored by every one of them"),
        ((str(tf), str(tmp_path / "missing")), "missing: not a finished run directory"),
        ((str(tf), str(tf), "--weights", "1,x"), "--weights"),
        ((str(tf),), "two or more"),
    ]
    for args, msg in cases:
        r = run_cli("combine", *args, "--out", str(tmp_path / "c"))
        assert r.returncode != 0
        assert msg in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_provider_without_probabilities_votes_with_its_parsed_answer(schema: Any) -> None:
    """The served combination reads a member's answer as the evaluator does (the shared
    parser, fences and all) when the member gives no probabilities."""
    from bizztune.core.interfaces import Completion, Request
    from bizztune.providers.combined import CombinedProvider

    class Fixed:
        def __init__(self, name: str, text: str, probs: Any = None) -> None:
            self.name = self.model = name
            self.text, self.probs = text, probs

        def complete(self, requests: Any, schema: Any) -> Any:
            for r in requests:
                yield Completion(r.id, self.text, probs=self.probs)

    sure = Fixed("a", "{}", {"urgency": {"Hoch": 0.3, "Mittel": 0.7}})
    fenced = Fixed("b", '```json\n{"urgency": "Hoch"}\n```')
    req = Request("r1", "t1", [], ("urgency",))
    (c,) = CombinedProvider([sure, fenced]).complete([req], schema)
    assert json.loads(c.text or "") == {"urgency": "Hoch"}
    assert c.probs is not None and set(c.probs) == {"urgency"}
    (c,) = CombinedProvider([sure, Fixed("c", "keine Ahnung")]).complete([req], schema)
    assert json.loads(c.text or "") == {"urgency": "Mittel"}  # no answer: the other decides
