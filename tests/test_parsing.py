"""The shared parser on real-world-shaped model output (good, bad and ugly)."""

from __future__ import annotations

import json

import pytest

from bizztune.plugins import load_task
from bizztune.tasks.parsing import match_label, norm, parse_answer

SCHEMA = load_task("tickets").schema
TS, SW = "Technischer Support", "Softwarefehler"
BV, LV = "Bestellverwaltung", "Lieferverzögerungen"
AZ, ZP = "Abrechnung und Zahlungen", "Zahlungsprobleme"

# (model output, expected category, subcategory, urgency); None = counted wrong/invalid.
CASES = [
    (
        '{"category": "Technischer Support", "subcategory": "Softwarefehler", "urgency": "Hoch"}',
        TS,
        SW,
        "Hoch",
    ),
    (
        '```json\n{"category": "Technischer Support", "subcategory": "Softwarefehler", "urgency": "Hoch"}\n```',
        TS,
        SW,
        "Hoch",
    ),
    (
        "```\n{'category': 'Bestellverwaltung', 'subcategory': 'Lieferverzögerungen', 'urgency': 'Mittel'}\n```",
        BV,
        LV,
        "Mittel",
    ),
    (
        "{'category': 'Bestellverwaltung', 'subcategory': 'Lieferverzögerungen', 'urgency': 'Niedrig'}",
        BV,
        LV,
        "Niedrig",
    ),
    (
        'Gerne! Hier ist die Klassifizierung:\n{"category": "Abrechnung und Zahlungen", "subcategory": "Zahlungsprobleme", "urgency": "Hoch"}\nIch hoffe, das hilft.',
        AZ,
        ZP,
        "Hoch",
    ),
    (
        '{"category": "Bestellverwaltung", "subcategory": "Lieferverz\\u00f6gerungen", "urgency": "Mittel"}',
        BV,
        LV,
        "Mittel",
    ),
    (
        '{"category": "Bestellverwaltung", "subcategory": "Lieferverz\\\\u00f6gerungen", "urgency": "Mittel"}',
        BV,
        LV,
        "Mittel",
    ),
    (
        '{"category": "technischer support", "subcategory": "SOFTWAREFEHLER", "urgency": " hoch "}',
        TS,
        SW,
        "Hoch",
    ),
    (
        '{"category": "Technischer  Support", "subcategory": "Software-Fehler", "urgency": "HOCH"}',
        TS,
        SW,
        "Hoch",
    ),
    (
        '{"category": "Bestellverwaltung", "subcategory": "Lieferverzoegerungen", "urgency": "Niedrig"}',
        BV,
        LV,
        "Niedrig",
    ),
    (
        '{"Kategorie": "Technischer Support", "Unterkategorie": "Softwarefehler", "Dringlichkeit": "Hoch"}',
        TS,
        SW,
        "Hoch",
    ),
    (
        '{"Category": "Technischer Support", "Sub-Category": "Softwarefehler", "Urgency": "Hoch"}',
        TS,
        SW,
        "Hoch",
    ),
    (
        '{"category": "Technischer Support", "subcategory": "Softwarefehler", "urgency": "Hoch",}',
        TS,
        SW,
        "Hoch",
    ),
    (
        '{"classification": {"category": "Technischer Support", "subcategory": "Softwarefehler", "urgency": "Hoch"}}',
        TS,
        SW,
        "Hoch",
    ),
    (
        '{"category": "Technischer Support", "subcategory": "Softwarefehler", "urgency": "Hoch"',
        TS,
        SW,
        "Hoch",
    ),
    (
        '{"category": "Technischer Support", "subcategory": "Softwarefehler", "urgency": "Ho',
        TS,
        SW,
        None,
    ),
    ("category: Technischer Support\nsubcategory: Softwarefehler\nurgency: Hoch", TS, SW, "Hoch"),
    (
        "**Kategorie:** Bestellverwaltung\n**Unterkategorie:** Lieferverzögerungen\n**Dringlichkeit:** Mittel",
        BV,
        LV,
        "Mittel",
    ),
    (
        '{"category": "Billing", "subcategory": "Zahlungsprobleme", "urgency": "Hoch"}',
        None,
        ZP,
        "Hoch",
    ),
    (
        '{"category": "Technischer Support", "subcategory": "Hardwaredefekt", "urgency": "Hoch"}',
        TS,
        None,
        "Hoch",
    ),
    (
        '{"category": "Technischer Support", "subcategory": "Softwarefehler", "urgency": "Kritisch"}',
        TS,
        SW,
        None,
    ),
    ('{"category": "Technischer Support", "subcategory": "Softwarefehler"}', TS, SW, None),
    (
        '{"category": "Technischer Support", "subcategory": "Softwarefehler", "urgency": null}',
        TS,
        SW,
        None,
    ),
    (
        '{"category": ["Technischer Support"], "subcategory": ["Softwarefehler"], "urgency": ["Hoch"]}',
        TS,
        SW,
        "Hoch",
    ),
    (
        '{"category": "Technischer Support", "subcategory": "Softwarefehler", "urgency": "Hoch (sofort bearbeiten)"}',
        TS,
        SW,
        "Hoch",
    ),
    ("Das Ticket gehört zu Technischer Support.", None, None, None),
    ("", None, None, None),
    ("I'm sorry, I can't help with that.", None, None, None),
    (
        '{"category": "Technischer Support", "subcategory": "Softwarefehler", "urgency": "Hoch"} {"category": "Ungewiss"}',
        TS,
        SW,
        "Hoch",
    ),
    (
        '<|im_start|>assistant\n{"category": "Ungewiss", "subcategory": "Kein Zusammenhang", "urgency": "Niedrig"}<|im_end|>',
        "Ungewiss",
        "Kein Zusammenhang",
        "Niedrig",
    ),
    (
        '{"category": "Allgemeine Anfragen", "subcategory": "Feedback & Vorschläge", "urgency": "Niedrig"}',
        "Allgemeine Anfragen",
        None,
        "Niedrig",
    ),
    (
        '{"category": "Allgemeine Anfragen", "subcategory": "feedback und vorschlaege", "urgency": "niedrig"}',
        "Allgemeine Anfragen",
        "Feedback und Vorschläge",
        "Niedrig",
    ),
    (
        '{"category": "Technischer Support", "subcategory": "Softwarefehler", "urgency": "Hoch", "reason": "App {crasht}"}',
        TS,
        SW,
        "Hoch",
    ),
    (
        "{'category': \"Technischer Support\", 'subcategory': 'Softwarefehler', 'urgency': 'Hoch', 'note': \"don't panic\"}",
        TS,
        SW,
        "Hoch",
    ),
]


@pytest.mark.parametrize(("text", "cat", "sub", "urg"), CASES)
def test_parse_real_world_outputs(
    text: str, cat: str | None, sub: str | None, urg: str | None
) -> None:
    p = parse_answer(text, SCHEMA)
    assert p.labels == {"category": cat, "subcategory": sub, "urgency": urg}
    # Every None carries a reason, and only Nones do.
    assert set(p.errors) == {k for k, v in p.labels.items() if v is None}
    assert p.valid == (None not in p.labels.values())


def _is_clean(text: str) -> bool:
    """Strict JSON whose three values are exact taxonomy labels: the only easy case."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return False
    return (
        isinstance(obj, dict)
        and set(obj) == set(SCHEMA.names)
        and all(obj[f.name] in f.labels for f in SCHEMA.fields)
    )


def test_at_least_twenty_bad_shapes() -> None:
    assert sum(not _is_clean(c[0]) for c in CASES) >= 20


def test_reasons_name_the_problem() -> None:
    p = parse_answer('{"category": "Billing", "urgency": "Hoch"}', SCHEMA)
    assert p.errors["category"] == "out of taxonomy: 'Billing'"
    assert p.errors["subcategory"] == "missing"
    assert parse_answer("   ", SCHEMA).errors["urgency"] == "empty answer"


def test_single_field_calls_accept_bare_labels() -> None:
    assert parse_answer("Mittel", SCHEMA, ["urgency"]).labels == {"urgency": "Mittel"}
    assert parse_answer('"Softwarefehler".', SCHEMA, ["subcategory"]).labels == {"subcategory": SW}
    assert parse_answer('{"urgency": "Niedrig"}', SCHEMA, ["urgency"]).labels == {
        "urgency": "Niedrig"
    }
    assert parse_answer("Sehr wichtig", SCHEMA, ["urgency"]).labels == {"urgency": None}


def test_norm_and_match_label() -> None:
    assert norm("Geräte-Setup-Probleme") == norm("geraete setup probleme")
    labels = SCHEMA.field("subcategory").labels
    assert match_label("Geraete Setup Probleme", labels) == "Geräte-Setup-Probleme"
    assert match_label({"x": 1}, labels) is None
    assert match_label("", labels) is None
    # two unrelated labels named at once: ambiguous, so not guessed
    assert match_label("Softwarefehler oder Zahlungsprobleme", labels) is None
