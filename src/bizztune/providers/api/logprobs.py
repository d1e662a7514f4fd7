"""Label probabilities of a JSON answer from an API's token log-probabilities.

    tokens = read_logprobs(response.choices[0])          # OpenAI-shaped logprobs, or None
    probs, confidence = answer_probs(text, tokens, schema, ("category", "urgency"))

OpenAI-compatible servers return, when asked (``logprobs: true, top_logprobs: k``), each
generated token with its log-probability and the ``k`` most likely tokens at its place. A label
is a short run of tokens inside the JSON answer (``"urgency": "Hoch"``), so a field's
distribution is read off the tokens of its value, the way constrained decoding scores labels:

1. Find the value of the field in the answer (the first ``"field": "...``) and the label it is.
2. Walk the value's tokens from the first one. At each token the labels still possible are
   those that begin with the value text so far; once one is left the label is decided and the
   rest of its tokens are taken as certain (as constrained decoding forces them). At every
   token before that, each alternative among the top ``k`` that continues the value into one
   or more labels gives them the probability of the path so far times its own, shared equally
   when it fits several labels (the server says no more about how they would go on).
3. The answered label gets the probability of its own path to the point where it is decided.
4. The masses are normalised over the labels: what went to continuations that are no label
   (a typo, another spelling) is dropped, as constrained decoding restricts to valid labels.

Limits, said in docs/method.md: a label that is never among the top ``k`` where it would branch
off gets 0; a field's probabilities are conditional on the answer text before it (urgency
given the category the model wrote), so the answer's probability (``confidence``) is their
product in answer order, the chain rule; the tokens of JSON punctuation around values are not
counted. Answers whose tokens do not add up to the answer text give no probabilities.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bizztune.core.interfaces import Schema


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token: its bytes, its log-probability, the top alternatives at its place."""

    text: bytes
    logprob: float
    top: tuple[tuple[bytes, float], ...] = ()


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _token_bytes(tok: Any) -> bytes:
    raw = _get(tok, "bytes")
    if raw is not None:
        return bytes(raw)
    return str(_get(tok, "token") or "").encode("utf-8")


def read_logprobs(choice: Any) -> tuple[TokenLogprob, ...] | None:
    """The tokens of an OpenAI-shaped ``choice.logprobs.content``, or None when absent."""
    content = _get(_get(choice, "logprobs") or {}, "content")
    if not content:
        return None
    try:
        return tuple(
            TokenLogprob(
                _token_bytes(t),
                float(_get(t, "logprob")),
                tuple(
                    (_token_bytes(a), float(_get(a, "logprob")))
                    for a in (_get(t, "top_logprobs") or ())
                ),
            )
            for t in content
        )
    except (TypeError, ValueError):
        return None


def _value_span(raw: bytes, field: str) -> tuple[int, int] | None:
    """Byte offsets of the first string value of ``field`` (start, closing quote)."""
    key = json.dumps(field)[1:-1].encode("utf-8")
    m = re.search(rb'"' + re.escape(key) + rb'"\s*:\s*"', raw)
    if m is None:
        return None
    i = m.end()
    while i < len(raw):
        if raw[i : i + 1] == b"\\":
            i += 2
            continue
        if raw[i : i + 1] == b'"':
            return m.end(), i
        i += 1
    return None


def field_distribution(
    raw: bytes, tokens: Sequence[TokenLogprob], field: str, labels: Sequence[str]
) -> tuple[dict[str, float], str] | None:
    """Label -> probability of one field (module docstring) and the label answered, or None
    when the answer has no value of the field or its value is no label."""
    span = _value_span(raw, field)
    if span is None:
        return None
    start, end = span
    # A label may be written as is or with JSON's \\u escapes.
    closed = {
        lab: {lab.encode("utf-8") + b'"', json.dumps(lab).encode("ascii")[1:]} for lab in labels
    }
    value = raw[start : end + 1]
    chosen = next((lab for lab, forms in closed.items() if value in forms), None)
    if chosen is None:
        return None

    def fits(lab: str, text: bytes) -> bool:
        return any(f.startswith(text) or text.startswith(f) for f in closed[lab])

    mass: dict[str, float] = {}
    log_path = 0.0
    at = 0
    for tok in tokens:
        a, b = at, at + len(tok.text)
        at = b
        if b <= start:
            continue
        if a > end:
            break
        done = raw[start:a] if a >= start else b""
        lead = raw[a:start] if a < start else b""
        alive = [lab for lab in labels if fits(lab, done)]
        if len(alive) <= 1:
            break  # decided: the rest of the label is forced
        for alt, lp in tok.top:
            if alt == tok.text or not alt.startswith(lead):
                continue
            cont = done + alt[len(lead) :]
            hits = [lab for lab in alive if fits(lab, cont)]
            for lab in hits:
                mass[lab] = mass.get(lab, 0.0) + math.exp(log_path + lp) / len(hits)
        log_path += tok.logprob
    mass[chosen] = mass.get(chosen, 0.0) + math.exp(log_path)
    total = sum(mass.values())
    if not total > 0:
        return None
    return {lab: m / total for lab, m in mass.items() if m > 0}, chosen


def answer_probs(
    text: str, tokens: Sequence[TokenLogprob], schema: Schema, fields: Sequence[str]
) -> tuple[dict[str, dict[str, float]], float | None] | None:
    """Field -> label -> probability for the fields whose value could be read, and the answer's
    probability (None unless every field could be read); None when the tokens are not the
    answer's text."""
    raw = b"".join(t.text for t in tokens)
    if raw.decode("utf-8", "replace").strip() != text.strip():
        return None
    out: dict[str, dict[str, float]] = {}
    conf = 1.0
    for name in fields:
        got = field_distribution(raw, tokens, name, schema.field(name).labels)
        if got is None:
            continue
        out[name], answered = got
        conf *= out[name].get(answered, 0.0)
    if not out:
        return None
    return out, conf if len(out) == len(fields) else None
