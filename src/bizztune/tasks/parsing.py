"""Parse model answers into labels of a task schema, surviving real-world output.

Handles strict JSON, Python-dict style, code fences, prose around the object, escaped or
transliterated umlauts, German or English key names, case and whitespace noise, trailing
commas, truncated objects, ``key: value`` lines, and a bare label for single-field calls.
Anything that still cannot be mapped is None for that field, with the reason recorded.
"""

from __future__ import annotations

import ast
import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from bizztune.core.interfaces import ParsedAnswer, Schema

_FENCE = re.compile(r"```(?:json|JSON|python|py)?\s*(.*?)```", re.S)
_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def norm(text: str) -> str:
    """Case-, accent-, spacing- and punctuation-insensitive key for matching labels and keys."""
    t = unicodedata.normalize("NFKC", text).casefold().translate(_TRANSLIT)
    return re.sub(r"[^0-9a-z]+", "", t)


def _unescape(text: str) -> str:
    # Models sometimes double-escape: "Ger\\u00e4te" arrives as a literal backslash-u.
    if "\\u" in text:
        text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return text


def balanced_objects(text: str) -> list[str]:
    """Every top-level {...} span, tolerating braces inside quoted strings."""
    spans: list[str] = []
    depth, start, quote, escaped = 0, -1, "", False
    for i, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
            continue
        if ch in "\"'" and depth > 0:
            # An apostrophe inside a word ("don't") is not a quote.
            if (
                ch == "'"
                and i > 0
                and text[i - 1].isalnum()
                and i + 1 < len(text)
                and text[i + 1].isalnum()
            ):
                continue
            quote = ch
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append(text[start : i + 1])
    if depth > 0 and start >= 0:  # truncated answer: close it
        tail = text[start:].rstrip().rstrip(",")
        if quote:
            tail += quote
        spans.append(tail + "}" * depth)
    return spans


def _load_obj(span: str) -> dict[str, Any] | None:
    candidates = [span, re.sub(r",\s*([}\]])", r"\1", span)]
    for c in candidates:
        try:
            obj = json.loads(c)
        except (json.JSONDecodeError, ValueError):
            try:
                obj = ast.literal_eval(
                    re.sub(
                        r"\bnull\b",
                        "None",
                        re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", c)),
                    )
                )
            except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
                continue
        if isinstance(obj, dict):
            return obj
    return None


def _flatten(obj: dict[str, Any]) -> dict[str, Any]:
    """Lift nested objects ({"classification": {...}}) so their keys are seen too."""
    flat: dict[str, Any] = {}
    for k, v in obj.items():
        if isinstance(v, dict):
            for k2, v2 in _flatten(v).items():
                flat.setdefault(k2, v2)
        else:
            flat.setdefault(str(k), v)
    return flat


def _key_aliases(schema: Schema) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for f in schema.fields:
        for a in (f.name, f.description):
            if a:
                aliases[norm(a)] = f.name
    # Common English/German spellings of the built-in task's fields.
    extra = {
        "kategorie": "category",
        "hauptkategorie": "category",
        "categorie": "category",
        "unterkategorie": "subcategory",
        "subkategorie": "subcategory",
        "dringlichkeit": "urgency",
        "prioritaet": "urgency",
        "priority": "urgency",
        "dringlichkeitsstufe": "urgency",
    }
    for k, v in extra.items():
        if v in schema.names:
            aliases.setdefault(k, v)
    return aliases


def match_label(value: Any, labels: Sequence[str]) -> str | None:
    """The label ``value`` means, or None. Exact after normalisation, then unique containment."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    v = norm(_unescape(str(value)))
    if not v:
        return None
    table = {norm(lab): lab for lab in labels}
    if v in table:
        return table[v]
    # "Hoch (sofort bearbeiten)" or "Kategorie: Bestellverwaltung": one label contained in it.
    hits = [lab for key, lab in table.items() if key and key in v]
    if len(hits) > 1:  # prefer the longest when one contains another ("Feedback" vs ...)
        hits.sort(key=lambda lab: len(norm(lab)), reverse=True)
        if norm(hits[0]) not in norm(hits[1]) and all(norm(h) in norm(hits[0]) for h in hits[1:]):
            return hits[0]
        return None
    return hits[0] if hits else None


def nearest(value: Any, choices: Sequence[str], cutoff: float = 0.75) -> str | None:
    """The choice ``value`` most likely misspells (a dropped, added or swapped letter), for a
    "did you mean" hint; never used to score an answer."""
    import difflib

    hit = match_label(value, choices)
    if hit is not None or value is None:
        return hit
    table = {norm(c): c for c in choices}
    close = difflib.get_close_matches(norm(str(value)), list(table), n=1, cutoff=cutoff)
    return table[close[0]] if close else None


def _line_pairs(text: str, aliases: dict[str, str]) -> dict[str, Any]:
    pairs: dict[str, Any] = {}
    for m in re.finditer(r"[\"'*]*([\wÄÖÜäöüß \-]+?)[\"'*]*\s*[:=]\s*[\"']?([^\"'\n,}]+)", text):
        key = aliases.get(norm(m.group(1)))
        if key and key not in pairs:
            pairs[key] = m.group(2).strip().rstrip(".")
    return pairs


def parse_answer(
    text: str | None, schema: Schema, fields: Sequence[str] | None = None
) -> ParsedAnswer:
    wanted = [n for n in schema.names if n in (fields or schema.names)]
    if text is None or not str(text).strip():
        return ParsedAnswer({n: None for n in wanted}, {n: "empty answer" for n in wanted})
    raw = _unescape(str(text))
    aliases = _key_aliases(schema)
    bodies = [m.group(1) for m in _FENCE.finditer(raw)] + [raw]

    found: dict[str, Any] = {}
    for body in bodies:
        for span in balanced_objects(body):
            obj = _load_obj(span)
            if obj is None:
                continue
            for k, v in _flatten(obj).items():
                name = aliases.get(norm(k))
                if name in wanted and name not in found:
                    found[name] = v
        if found:
            break
    if len(found) < len(wanted):
        for k, v in _line_pairs(raw, aliases).items():
            if k in wanted:
                found.setdefault(k, v)

    labels: dict[str, str | None] = {}
    errors: dict[str, str] = {}
    for n in wanted:
        f = schema.field(n)
        if n not in found and len(wanted) == 1:
            found[n] = raw.strip().strip("`\"' .")  # a bare label for a one-field call
        if n not in found:
            labels[n], errors[n] = None, "missing"
            continue
        lab = match_label(found[n], f.labels)
        labels[n] = lab
        if lab is None:
            errors[n] = f"out of taxonomy: {str(found[n])[:80]!r}"
    return ParsedAnswer(labels, errors)
