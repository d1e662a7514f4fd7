"""Metrics checked against values computed by hand."""

from __future__ import annotations

import math

import pytest

from bizztune.eval.metrics import (
    INVALID,
    bootstrap_ci,
    confusion,
    macro_f1,
    mcnemar_exact,
    paired_diff_ci,
    score,
)
from bizztune.plugins import load_task

SCHEMA = load_task("tickets").schema


def test_macro_f1_by_hand() -> None:
    gold = ["A", "A", "B", "B", "C"]
    pred = ["A", "B", "B", "B", None]
    # A: tp1 fp0 fn1 -> 2/3; B: tp2 fp1 fn0 -> 4/5; C: tp0 fn1 -> 0. Mean = (2/3 + 4/5) / 3
    assert macro_f1(gold, pred) == pytest.approx((2 / 3 + 0.8 + 0) / 3)


def test_confusion_counts_invalid_column() -> None:
    table = confusion(["A", "A", "B"], ["A", None, "A"], ["A", "B"])
    assert table == {"A": {"A": 1, "B": 0, INVALID: 1}, "B": {"A": 1, "B": 0, INVALID: 0}}


def test_mcnemar_exact_by_hand() -> None:
    # 5 discordant pairs all favouring B: p = 2 * 0.5**5 = 0.0625
    a = [False] * 5 + [True] * 10
    b = [True] * 5 + [True] * 10
    r = mcnemar_exact(a, b)
    assert (r["only_a"], r["only_b"]) == (0, 5)
    assert r["p_value"] == pytest.approx(0.0625)
    # b=1, c=4: p = 2 * (C(5,0)+C(5,1)) / 32 = 12/32
    a2 = [True, False, False, False, False]
    b2 = [False, True, True, True, True]
    assert mcnemar_exact(a2, b2)["p_value"] == pytest.approx(12 / 32)
    assert mcnemar_exact([True, False], [True, False])["p_value"] == 1.0


def test_bootstrap_ci_contains_mean_and_is_seeded() -> None:
    x = [True] * 70 + [False] * 30
    lo, hi = bootstrap_ci(x, seed=1)
    assert lo < 0.7 < hi
    # normal approximation: 0.7 +- 1.96 * sqrt(.21/100) = +-0.09
    assert 0.55 < lo < 0.65 and 0.75 < hi < 0.85
    assert bootstrap_ci(x, seed=1) == (lo, hi)
    assert bootstrap_ci([True] * 10) == (1.0, 1.0)


def test_paired_diff() -> None:
    a = [True] * 50 + [False] * 50
    b = [True] * 100
    d, lo, hi = paired_diff_ci(a, b)
    assert d == pytest.approx(0.5) and lo > 0.3 and hi < 0.7


def test_score_by_hand() -> None:
    gold = [
        {"category": "Technischer Support", "subcategory": "Softwarefehler", "urgency": "Hoch"},
        {"category": "Bestellverwaltung", "subcategory": "Bestellverfolgung", "urgency": "Mittel"},
        {"category": "Ungewiss", "subcategory": "Kein Zusammenhang", "urgency": "Niedrig"},
        {
            "category": "Technischer Support",
            "subcategory": "Geräte-Setup-Probleme",
            "urgency": "Hoch",
        },
    ]
    pred = [
        {
            "category": "Technischer Support",
            "subcategory": "Softwarefehler",
            "urgency": "Hoch",
        },  # all right
        {
            "category": "Bestellverwaltung",
            "subcategory": "Lieferverzögerungen",
            "urgency": "Mittel",
        },
        {"category": "Ungewiss", "subcategory": None, "urgency": "Niedrig"},  # invalid subcategory
        {
            "category": "Abrechnung und Zahlungen",
            "subcategory": "Softwarefehler",
            "urgency": "Mittel",
        },
    ]
    m = score(SCHEMA, gold, pred)
    assert m["n"] == 4
    assert m["fields"]["category"]["accuracy"] == 0.75
    assert m["fields"]["subcategory"]["accuracy"] == 0.25
    assert m["fields"]["urgency"]["accuracy"] == 0.75
    assert m["joint"]["accuracy"] == 0.25
    assert m["invalid_rate"] == 0.25
    assert m["fields"]["subcategory"]["invalid_rate"] == 0.25
    # consistency judged on 3 items (one has a None): items 1, 2 consistent, item 4 not
    assert m["hierarchy_judged"] == 3
    assert m["hierarchy_consistency"] == pytest.approx(2 / 3)
    conf = m["fields"]["subcategory"]["confusion"]
    assert conf["Kein Zusammenhang"][INVALID] == 1
    assert conf["Geräte-Setup-Probleme"]["Softwarefehler"] == 1
    # urgency macro-F1: Hoch tp1 fn1 -> 2/3; Mittel tp1 fp1 -> 2/3; Niedrig 1 -> mean 7/9
    assert m["fields"]["urgency"]["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert not math.isnan(m["fields"]["category"]["ci95"][0])
