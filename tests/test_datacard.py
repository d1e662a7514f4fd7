"""The data-card metrics as pure functions, checked against hand-computed values.

pytest tests/test_datacard.py
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from bizztune.data.datacard import (
    balance,
    card_stats,
    distinct_ngrams,
    exact_duplicates,
    label_distribution,
    length_stats,
    near_duplicate_pairs,
    near_duplicate_rate,
    prior_fit,
    shingles,
    title_label_share,
    write_datacard,
)
from bizztune.plugins import load_task

SCHEMA = load_task("tickets").schema


def brute_jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def test_shingles_are_normalized_character_5_grams() -> None:
    assert shingles("Hallo  Welt") == {"hallo", "allo ", "llo w", "lo we", "o wel", " welt"}
    assert shingles("abc") == {"abc"}
    assert shingles("ABCDEF") == shingles("abcdef")


def test_near_duplicate_pairs_are_exact_jaccard() -> None:
    rng = random.Random(1)
    base = "Mein Fernseher zeigt seit dem Update den Fehler E-104 und startet immer wieder neu."
    texts = [
        base,
        base.replace("E-104", "F03"),
        base.upper(),
        "Völlig anderer Text über Rechnungen.",
    ]
    words = base.split()
    for _ in range(12):  # random edits: a range of similarities around the threshold
        w = list(words)
        for _ in range(rng.randint(1, 8)):
            w[rng.randrange(len(w))] = rng.choice(["Akku", "Paket", "Garantie", "Lob"])
        texts.append(" ".join(w))
    pairs = {(i, j): s for i, j, s in near_duplicate_pairs(texts, threshold=0.5)}
    for i, j in itertools.combinations(range(len(texts)), 2):
        expected = brute_jaccard(texts[i], texts[j])
        if expected >= 0.5:
            assert pairs[(i, j)] == pytest.approx(expected, abs=1e-4)
        else:
            assert (i, j) not in pairs
    assert pairs[(0, 2)] == 1.0  # case does not matter
    assert all(3 not in p for p in pairs)


def test_near_duplicate_pairs_work_across_blocks() -> None:
    # more than one 512-row block, with the duplicate pair in different blocks
    texts = [f"Ticket Nummer {i} über etwas {i * 7919 % 1000} ganz Eigenes {i}" for i in range(600)]
    texts[550] = texts[3]
    pairs = near_duplicate_pairs(texts, threshold=0.95)
    assert (3, 550, 1.0) in pairs


def test_near_duplicate_rate_counts_items_not_pairs() -> None:
    assert near_duplicate_rate(10, [(0, 1, 0.9), (0, 2, 0.8)]) == pytest.approx(0.3)
    assert near_duplicate_rate(0, []) == 0.0


def test_exact_duplicates_ignore_case_and_spacing() -> None:
    assert exact_duplicates(["A b", "a  B", "c", "C ", "d"]) == 2


def test_title_label_share_and_label_distribution() -> None:
    rows = [
        {"title": "Softwarefehler in der App", "subcategory": "Softwarefehler", "urgency": "Hoch"},
        {"title": "App stürzt ab", "subcategory": "Softwarefehler", "urgency": "Hoch"},
        {"title": "zahlungsprobleme!!", "subcategory": "Zahlungsprobleme", "urgency": "Mittel"},
        {"title": "Frage", "subcategory": "Zahlungsprobleme", "urgency": "Niedrig"},
    ]
    assert title_label_share(rows, "subcategory") == 0.5
    dist = label_distribution(rows, ("subcategory", "urgency", "category"))
    assert dist == {
        "subcategory": {"Softwarefehler": 2, "Zahlungsprobleme": 2},
        "urgency": {"Hoch": 2, "Mittel": 1, "Niedrig": 1},
    }
    assert balance(dist["urgency"]) == 0.5


def test_distinct_ngrams_and_length_stats() -> None:
    assert distinct_ngrams(["a b a b"], 1) == 0.5
    assert distinct_ngrams(["a b a b"], 2) == pytest.approx(2 / 3)
    s = length_stats([1, 2, 3, 4, 100])
    assert (s["min"], s["median"], s["max"], s["mean"]) == (1, 3, 100, 22.0)


def test_card_gates_fail_on_duplicated_data(tmp_path: Path) -> None:
    row = {
        "title": "Softwarefehler",
        "description": "Die App stürzt ab.",
        "subcategory": "Softwarefehler",
        "urgency": "Hoch",
    }
    stats = write_datacard([dict(row) for _ in range(5)], tmp_path / "card.md", "dups", SCHEMA)
    assert stats.exact_duplicates == 4
    assert stats.near_duplicate_rate == 1.0
    assert not stats.passed
    md = (tmp_path / "card.md").read_text(encoding="utf-8")
    assert "# Data card: dups" in md
    assert "- FAIL: near-duplicate rate < 2%" in md
    assert "- FAIL: titles naming their subcategory <= 10%" in md
    assert "| Softwarefehler | 5 | 100.0% |" in md


def test_card_of_distinct_rows_passes() -> None:
    subs = ["A", "B"]
    rows = [
        {"title": f"t{i}", "description": f"{i} " * 3 + "x" * i, "subcategory": subs[i % 2],
         "urgency": "Hoch"}
        for i in range(40)
    ]  # fmt: skip
    stats = card_stats(rows, SCHEMA)
    assert stats.gates["no exact duplicates"]
    assert stats.balance["subcategory"] == 1.0


def test_prior_fit_allows_sampling_noise_and_nothing_more() -> None:
    assert prior_fit({"a": 50, "b": 50}, {"a": 0.5, "b": 0.5}) == (0.0, True)
    gap, ok = prior_fit({"a": 80, "b": 20}, {"a": 0.5, "b": 0.5})
    assert gap == pytest.approx(0.3) and not ok
    # 1,000 items at p = 0.2: three standard errors plus one item is 0.039 either way
    assert prior_fit({"a": 235, "b": 765}, {"a": 0.2, "b": 0.8})[1]
    assert not prior_fit({"a": 245, "b": 755}, {"a": 0.2, "b": 0.8})[1]
    assert not prior_fit({"a": 98, "c": 2}, {"a": 1.0})[1]  # a label the prior does not have
    assert prior_fit({}, {"a": 1.0}) == (0.0, True)


def test_card_checks_labels_against_the_expected_prior(tmp_path: Path) -> None:
    """A realistic prior (most tickets not urgent) fails the balance gate but passes the prior
    gate; a prior the rows do not follow fails it."""
    urgencies = ["Niedrig"] * 70 + ["Mittel"] * 20 + ["Hoch"] * 10
    rows = [
        {"title": f"t{i}", "description": f"Ticket {i} " + "x" * i, "subcategory": "A",
         "urgency": u}
        for i, u in enumerate(urgencies)
    ]  # fmt: skip
    plain = card_stats(rows, SCHEMA)
    assert not plain.gates["urgency balance (rarest/most common) >= 0.5"]
    realistic = {"urgency": {"Niedrig": 0.7, "Mittel": 0.2, "Hoch": 0.1}, "subcategory": {"A": 1}}
    stats = write_datacard(rows, tmp_path / "card.md", "prior", SCHEMA, expected=realistic)
    assert stats.gates["urgency shares follow the expected prior (within 3 SE)"]
    assert stats.gates["subcategory shares follow the expected prior (within 3 SE)"]
    assert not any("balance" in g for g in stats.gates) and stats.passed
    assert stats.prior_gap == {"subcategory": 0.0, "urgency": 0.0}
    md = (tmp_path / "card.md").read_text(encoding="utf-8")
    assert "- PASS: urgency shares follow the expected prior (within 3 SE)" in md
    assert "| label | n | share | expected |" in md and "| Niedrig | 70 | 70.0% | 70.0% |" in md
    uniform = {"urgency": {"Niedrig": 1 / 3, "Mittel": 1 / 3, "Hoch": 1 / 3}}
    off = card_stats(rows, SCHEMA, expected=uniform)
    assert not off.gates["urgency shares follow the expected prior (within 3 SE)"]
    assert off.prior_gap["urgency"] == pytest.approx(0.7 - 1 / 3, abs=1e-4)
    assert off.gates["subcategory balance (rarest/most common) >= 0.5"]  # no prior: balance


def test_pair_auc_is_roc_auc_score_ties_included() -> None:
    """The data shift's bootstrap AUC (bizztune.data.shift.pair_auc) gives sklearn's value
    on every resample, ties counting half, so its interval is the one roc_auc_score gives."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from bizztune.data.shift import pair_auc

    rng = np.random.default_rng(0)
    for n0, n1, levels in ((1, 1, 2), (5, 3, 3), (40, 9, 5), (120, 33, 1000)):
        for _ in range(20):
            neg, pos = rng.integers(0, levels, n0) / levels, rng.integers(0, levels, n1) / levels
            y = np.r_[np.zeros(n0), np.ones(n1)]
            want = roc_auc_score(y, np.r_[neg, pos])
            assert pair_auc(neg, pos) == pytest.approx(want, abs=1e-12), (n0, n1, levels)
