"""The foreign ticket sets shipped with the tickets task: loadable by name, as the data card says,
and apart from the generator (no near-duplicates of generated tickets, now or after a change).

    pytest tests/test_foreign_sets.py
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bizztune.core.interfaces import Example, Task
from bizztune.data.datacard import near_duplicate_pairs, row_text
from bizztune.data.io import load_examples
from bizztune.data.shift import cross_near_duplicates
from bizztune.data.sources import resolve_data
from bizztune.plugins import load_task

URGENCIES = ("Hoch", "Mittel", "Niedrig")


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task("tickets")


@pytest.fixture(scope="module")
def sets(task: Task) -> dict[str, list[Example]]:
    return {
        n: load_examples(resolve_data(task, f"tickets:{n}"), task)
        for n in ("foreign", "foreign-dev")
    }


def _texts(examples: list[Example]) -> list[str]:
    return [row_text(e.inputs) for e in examples]


def test_sizes_and_roles(task: Task, sets: dict[str, list[Example]]) -> None:
    test, dev = sets["foreign"], sets["foreign-dev"]
    sub = Counter(e.labels["subcategory"] for e in test)
    assert len(test) >= 330 and len(sub) == 11 and min(sub.values()) >= 30
    assert set(Counter(e.labels["subcategory"] for e in dev).values()) == {36}
    shipped = getattr(task, "datasets", {})
    assert (shipped["foreign"].role, shipped["foreign-dev"].role) == ("test", "dev")
    assert not shipped["foreign"].trainable and not shipped["foreign-dev"].trainable
    assert {e.id for e in test}.isdisjoint({e.id for e in dev})
    # the ambiguous column reaches the examples
    assert sum(e.meta.get("ambiguous", False) for e in test) == 54


def test_the_data_card_matches_the_data(sets: dict[str, list[Example]]) -> None:
    card = (Path(str(load_task("tickets").source)).parent / "datasets" / "README.md").read_text(
        encoding="utf-8"
    )
    test = sets["foreign"]
    cells = Counter((e.labels["subcategory"], e.labels["urgency"]) for e in test)
    for sub in {e.labels["subcategory"] for e in test}:
        row = re.search(
            rf"^\| {re.escape(sub)} \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$", card, re.M
        )
        assert row is not None, sub
        counts = [int(x) for x in row.groups()]
        assert counts == [*(cells[(sub, u)] for u in URGENCIES), sum(counts[:3])], sub
    for name, exs in sets.items():
        urg = Counter(e.labels["urgency"] for e in exs)
        col = 0 if name == "foreign" else 1
        for u in URGENCIES:
            row = re.search(rf"^\| {u} \| (\d+) \([\d.]+%\) \| (\d+) \([\d.]+%\) \|$", card, re.M)
            assert row is not None and int(row.group(col + 1)) == urg[u], (name, u)


def test_no_near_duplicates_within_between_or_of_generated_tickets(
    task: Task, sets: dict[str, list[Example]]
) -> None:
    from bizztune.data.generate import offline_generator
    from bizztune.pipeline.config import DataConfig

    test, dev = _texts(sets["foreign"]), _texts(sets["foreign-dev"])
    assert near_duplicate_pairs(test) == [] and near_duplicate_pairs(dev) == []
    assert cross_near_duplicates(test, dev)["pairs"] == 0
    # against the generator as it is today: a change that copied foreign phrases into it, or
    # drifted towards them, would show here; as many tickets as the default run generates
    n = DataConfig().n
    generated = [row_text(r) for r in offline_generator(task)(task, n=n, seed=0)]
    for texts in (test, dev):
        found = cross_near_duplicates(generated, texts)
        assert found["pairs"] == 0, found["closest"]


def test_second_labeller_agreement_is_as_the_card_says(sets: dict[str, list[Example]]) -> None:
    import json

    folder = Path(str(load_task("tickets").source)).parent / "datasets"
    second = {
        r["id"]: r
        for r in map(json.loads, (folder / "second-labeller.jsonl").read_text().splitlines())
    }
    card = (folder / "README.md").read_text(encoding="utf-8")
    for name, exs in sets.items():
        assert all(e.id in second for e in exs), name
        sub = sum(second[e.id]["subcategory"] == e.labels["subcategory"] for e in exs) / len(exs)
        urg = sum(second[e.id]["urgency"] == e.labels["urgency"] for e in exs) / len(exs)
        row = re.search(
            rf"^  \| {name} \| {len(exs)} \| [\d.]+% \| ([\d.]+)% \(.*?\) \| ([\d.]+)%", card, re.M
        )
        assert row is not None, name
        assert (float(row.group(1)), float(row.group(2))) == (
            round(100 * sub, 1),
            round(100 * urg, 1),
        )
