"""``split_dataset`` and ``bizztune split``: seeded, stratified, near-duplicates kept together.

pytest tests/test_split.py
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import Task
from bizztune.data.datacard import near_duplicate_pairs
from bizztune.data.io import SPLITS, load_examples
from bizztune.data.split import assign_splits, clusters_of, parse_ratios, split_dataset
from bizztune.plugins import load_task
from bizztune.tasks.tickets.generator import generate

from conftest import run_cli, write_jsonl


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task("tickets")


TWINS: dict[str, str] = {}
"""Injected copy id -> id of the ticket it copies."""


def with_near_duplicates(task: Task, n: int = 330) -> list[dict[str, Any]]:
    """Offline tickets plus 30 lightly edited copies (new ids), so clusters exist for sure."""
    rows = list(generate(task, n, seed=5))
    rng = random.Random(0)
    for k, src in enumerate(rng.sample(rows, 30)):
        copy = dict(src)
        copy["id"] = f"dup-{k:03d}"
        copy["description"] = src["description"].replace(".", "!", 1) + " Danke."
        TWINS[copy["id"]] = src["id"]
        rows.append(copy)
    rng.shuffle(rows)
    return rows


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def split_of(out: Path) -> dict[str, str]:
    return {r["id"]: s for s in SPLITS for r in read(out / f"{s}.jsonl")}


def test_no_near_duplicate_pair_crosses_a_split(task: Task, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "rows.jsonl", with_near_duplicates(task))
    summary = split_dataset(task, src, tmp_path / "split", seed=0)
    which = split_of(tmp_path / "split")
    rows = [r for s in SPLITS for r in read(tmp_path / "split" / f"{s}.jsonl")]
    pairs = near_duplicate_pairs([f"{r['title']}\n{r['description']}" for r in rows])
    assert len(pairs) >= 30  # the injected copies are found
    crossing = [(rows[i]["id"], rows[j]["id"]) for i, j, _ in pairs if which[rows[i]["id"]] != which[rows[j]["id"]]]  # fmt: skip
    assert crossing == []
    assert summary.crossing_pairs == 0 and summary.near_duplicate_pairs == len(pairs)
    assert summary.clusters >= 30
    assert len(TWINS) == 30
    for copy, original in TWINS.items():  # every copy sits with its original
        assert which[copy] == which[original]


def test_same_seed_same_split_whatever_the_row_order(task: Task, tmp_path: Path) -> None:
    rows = with_near_duplicates(task)
    a = write_jsonl(tmp_path / "a.jsonl", rows)
    shuffled = list(rows)
    random.Random(9).shuffle(shuffled)
    b = write_jsonl(tmp_path / "b.jsonl", shuffled)
    split_dataset(task, a, tmp_path / "A", seed=3)
    split_dataset(task, b, tmp_path / "B", seed=3)
    split_dataset(task, a, tmp_path / "C", seed=4)
    for s in SPLITS:
        for sub in (f"{s}.jsonl", f"chatml/{s}.jsonl"):
            assert (tmp_path / "A" / sub).read_bytes() == (tmp_path / "B" / sub).read_bytes()
    assert split_of(tmp_path / "A") != split_of(tmp_path / "C")


def test_split_is_stratified_and_follows_the_ratios(task: Task, tmp_path: Path) -> None:
    rows = list(generate(task, 990, seed=1, prior="uniform"))
    src = write_jsonl(tmp_path / "rows.jsonl", rows)
    summary = split_dataset(task, src, tmp_path / "split", seed=0)
    assert summary.counts == {"train": 792, "val": 99, "test": 99}
    for s in ("val", "test"):
        cells = Counter((r["subcategory"], r["urgency"]) for r in read(tmp_path / "split" / f"{s}.jsonl"))  # fmt: skip
        assert len(cells) == 33 and set(cells.values()) == {3}  # 30 per cell -> 24/3/3


def test_split_keeps_a_realistic_prior_in_every_split(task: Task, tmp_path: Path) -> None:
    """With the realistic prior some cells are rare; the test split still gets the label
    shares of the whole, to within a few tickets per label (each of the 33 strata rounds its
    own targets; the remainders carried between them keep the split sizes exact)."""
    rows = list(generate(task, 1000, seed=1))
    src = write_jsonl(tmp_path / "rows.jsonl", rows)
    summary = split_dataset(task, src, tmp_path / "split", seed=0)
    assert summary.counts == {"train": 800, "val": 100, "test": 100}
    for field in ("subcategory", "urgency"):
        whole = Counter(r[field] for r in rows)
        test = Counter(r[field] for r in read(tmp_path / "split" / "test.jsonl"))
        for label, n in whole.items():
            assert abs(test[label] - n / 10) <= 4, (field, label, test[label], n)


def test_split_writes_chatml_hf_datacard_and_meta(task: Task, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "rows.jsonl", list(generate(task, 120, seed=2)))
    out = tmp_path / "split"
    split_dataset(task, src, out, seed=7, ratios=(0.6, 0.2, 0.2), style="compact")

    test = load_examples(out, task, "test")
    assert len(test) == 24
    chat = read(out / "chatml" / "test.jsonl")
    assert [c["id"] for c in chat] == [e.id for e in test]
    for c, ex in zip(chat, test, strict=True):
        assert c["messages"] == task.messages(ex, style="compact", with_answer=True)
        assert c["messages"][0]["content"].startswith("Ticket klassifizieren")
        assert json.loads(c["messages"][-1]["content"]) == ex.labels

    from datasets import load_from_disk

    dd = load_from_disk(str(out / "hf"))
    assert {k: len(v) for k, v in dd.items()} == {"train": 72, "val": 24, "test": 24}
    assert set(dd["train"].column_names) == {
        "id", "messages", "title", "description", "user", "date",
        "category", "subcategory", "urgency",
    }  # fmt: skip
    assert dd["test"][0]["messages"] == chat[0]["messages"]

    meta = json.loads((out / "split.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 7 and meta["ratios"] == [0.6, 0.2, 0.2] and meta["style"] == "compact"
    assert meta["counts"] == {"train": 72, "val": 24, "test": 24}
    assert meta["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert meta["schema_version"] == 1 and meta["crossing_pairs"] == 0
    card = (out / "datacard.md").read_text(encoding="utf-8")
    assert "PASS: near-duplicate rate < 2%" in card
    assert "| test | 24 |" in card


def test_clusters_and_assignment_keep_groups_whole() -> None:
    assert clusters_of(5, [(0, 3, 0.9), (3, 4, 0.6)]) == [[0, 3, 4], [1], [2]]
    strata = [("a",)] * 10
    clusters = [[0, 1, 2, 3], [4], [5], [6], [7], [8], [9]]
    which = assign_splits(strata, clusters, (0.6, 0.2, 0.2), seed=0)
    assert len({which[i] for i in (0, 1, 2, 3)}) == 1
    assert Counter(which) == {"train": 6, "val": 2, "test": 2}


def test_bad_ratios_name_the_flag(task: Task, tmp_path: Path) -> None:
    for bad in ("0.8,0.2", "0.5,0.5,0.5", "a,b,c", "0,0.5,0.5"):
        with pytest.raises(ConfigError, match="--ratios"):
            parse_ratios(bad)
    assert parse_ratios("0.8,0.1,0.1") == (0.8, 0.1, 0.1)


def test_cli_split(tmp_path: Path) -> None:
    src = tmp_path / "t.jsonl"
    r = run_cli("generate", "-n", "99", "--out", str(src), "--seed", "4")
    assert r.returncode == 0, r.stderr
    r = run_cli("split", str(src), "--out", str(tmp_path / "s"), "--ratios", "0.6,0.2,0.2")
    assert r.returncode == 0, r.stderr
    assert "train 59, val 20, test 20" in r.stdout
    assert "PASS near-duplicate rate < 2%" in r.stdout
    assert len(read(tmp_path / "s" / "test.jsonl")) == 20

    bad = run_cli("split", str(src), "--ratios", "0.9,0.2,0.1")
    assert bad.returncode == 2
    assert "error: --ratios must be three shares" in bad.stderr
    missing = run_cli("split", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "nope.jsonl" in missing.stderr


def test_split_card_checks_the_prior_left_in_the_generate_manifest(
    task: Task, tmp_path: Path
) -> None:
    """``bizztune generate`` leaves the generator's label prior in ``<stem>.generate.json``; the
    split's card checks the labels against it. Without a manifest it checks balance."""
    rows = make_rows_with_urgency(["Niedrig"] * 60 + ["Mittel"] * 30 + ["Hoch"] * 10)
    src = write_jsonl(tmp_path / "rows.jsonl", rows)
    split_dataset(task, src, tmp_path / "plain", seed=0)
    plain = (tmp_path / "plain" / "datacard.md").read_text(encoding="utf-8")
    assert "- FAIL: urgency balance (rarest/most common) >= 0.5" in plain

    prior = {"urgency": {"Niedrig": 0.6, "Mittel": 0.3, "Hoch": 0.1}}
    manifest = {"schema_version": 1, "label_prior": prior}
    (tmp_path / "rows.generate.json").write_text(json.dumps(manifest), encoding="utf-8")
    summary = split_dataset(task, src, tmp_path / "prior", seed=0)
    card = (tmp_path / "prior" / "datacard.md").read_text(encoding="utf-8")
    assert "- PASS: urgency shares follow the expected prior (within 3 SE)" in card
    assert "| Hoch | 10 | 10.0% | 10.0% |" in card
    assert summary.card is not None and summary.card.expected["urgency"] == prior["urgency"]
    # an explicit prior wins over the manifest
    other = split_dataset(task, src, tmp_path / "x", seed=0, expected={"urgency": {"Hoch": 1}})
    assert other.card is not None and not other.card.passed


def make_rows_with_urgency(urgencies: list[str]) -> list[dict[str, Any]]:
    return [
        {"id": f"r{i:03d}", "title": f"Titel {i}", "description": f"Text {i} " + "y" * i,
         "user": "A B", "date": "2025-01-01", "category": "Technischer Support",
         "subcategory": "Softwarefehler", "urgency": u}
        for i, u in enumerate(urgencies)
    ]  # fmt: skip


def test_train_extra_joins_the_train_split_only(task: Task, tmp_path: Path) -> None:
    """Rows added with ``train_extra`` (generated beside your own) land in train only, in
    every format the split writes; the split of the source is the one it gets alone."""
    from bizztune.core.errors import DataError

    own = write_jsonl(tmp_path / "own.jsonl", list(generate(task, 120, seed=1)))
    extra = [{**r, "id": f"gen-{r['id']}"} for r in generate(task, 30, seed=2)]
    more = write_jsonl(tmp_path / "extra.jsonl", extra)
    alone = split_dataset(task, own, tmp_path / "alone", seed=0)
    both = split_dataset(task, own, tmp_path / "both", seed=0, train_extra=more)
    assert both.train_extra == 30
    assert both.counts == {**alone.counts, "train": alone.counts["train"] + 30}
    ids = {
        s: [json.loads(x)["id"] for x in (tmp_path / "both" / f"{s}.jsonl").open()] for s in SPLITS
    }
    plain = {
        s: [json.loads(x)["id"] for x in (tmp_path / "alone" / f"{s}.jsonl").open()] for s in SPLITS
    }
    assert ids["val"] == plain["val"] and ids["test"] == plain["test"]
    assert sorted(ids["train"]) == sorted(plain["train"] + [r["id"] for r in extra])
    chat = [json.loads(x)["id"] for x in (tmp_path / "both" / "chatml" / "train.jsonl").open()]
    assert chat == ids["train"]
    from datasets import load_from_disk

    assert load_from_disk(str(tmp_path / "both" / "hf"))["train"]["id"] == ids["train"]
    card = (tmp_path / "both" / "datacard.md").read_text(encoding="utf-8")
    assert "also holds 30 rows added to it only" in card
    clash = write_jsonl(tmp_path / "clash.jsonl", [json.loads(own.read_text().splitlines()[3])])
    with pytest.raises(DataError, match=r"clash.jsonl: id '.+' is also in .+own.jsonl"):
        split_dataset(task, own, tmp_path / "c", seed=0, train_extra=clash)
