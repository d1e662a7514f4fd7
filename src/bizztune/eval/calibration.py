"""How far a model's own probabilities can be trusted: ECE and risk-coverage, in every eval
run's metrics.json (``calibration``) and report.

    calibration_summary(records, fields)     # {"with_probs", "ece", "ece_joint", "aurc"}

A record is one line of an eval run's ``predictions.jsonl`` (``parsed``, ``gold``, ``correct``,
``probs``: field -> label -> probability, ``confidence``: the answer's probability). A
field's *confidence* is the probability of the label the model answered (0 for an invalid
answer); the *joint* confidence is the record's ``confidence``, the probability that the whole
answer is the model's.

- **ECE**: confidences in 10 equal-width bins over [0, 1] (the last one closed); ECE is the
  item-weighted mean over bins of |accuracy - mean confidence|, in [0, 1].
- **Risk-coverage**: items sorted by confidence, most confident first; at coverage k/n the
  risk is the error rate of the k most confident. AURC is its mean over k.

Temperature scaling on the validation split served the cascade's thresholds, retired in
research round 9 (docs/research/retired.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

N_BINS = 10


# -- what a record says ----------------------------------------------------------------------------
def has_probs(rec: Mapping[str, Any]) -> bool:
    """Whether the record carries a model's probabilities (not 1 for its answer)."""
    return rec.get("probs_source", "none") in ("model", "partial")


def field_dist(rec: Mapping[str, Any], f: str) -> dict[str, float]:
    """The record's distribution of field ``f``; 1 for the answered label when it has none."""
    probs = rec.get("probs") or {}
    if f in probs:
        return dict(probs[f])
    pred = (rec.get("parsed") or {}).get(f)
    return {pred: 1.0} if pred is not None else {}


def joint_confidence(rec: Mapping[str, Any]) -> float:
    """The answer's probability; for records written before probabilities, 1 if valid."""
    if rec.get("confidence") is not None:
        return float(rec["confidence"])
    parsed = rec.get("parsed") or {}
    return 1.0 if parsed and all(v is not None for v in parsed.values()) else 0.0


def joint_correct(rec: Mapping[str, Any]) -> bool:
    c = rec.get("correct") or {}
    return bool(c) and all(c.values())


def share_with_probs(records: Sequence[Mapping[str, Any]]) -> float:
    return float(np.mean([has_probs(r) for r in records])) if records else 0.0


@dataclass
class Confidences:
    """Per item (in record order): each field's and the answer's confidence and correctness."""

    fields: dict[str, list[float]]
    correct: dict[str, list[bool]]
    joint: list[float]
    joint_correct: list[bool]


def confidences(records: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> Confidences:
    """Confidences of the records, as the model gave them."""
    out = Confidences({f: [] for f in fields}, {f: [] for f in fields}, [], [])
    for r in records:
        for f in fields:
            pred = (r.get("parsed") or {}).get(f)
            dist = field_dist(r, f)
            out.fields[f].append(dist.get(pred, 0.0) if pred is not None else 0.0)
            out.correct[f].append(bool((r.get("correct") or {}).get(f)))
        out.joint.append(joint_confidence(r))
        out.joint_correct.append(joint_correct(r))
    return out


# -- reading calibration ---------------------------------------------------------------------------
def reliability(
    conf: Sequence[float], correct: Sequence[bool], n_bins: int = N_BINS
) -> list[dict[str, float]]:
    """Equal-width bins over [0, 1]: range, items, mean confidence, accuracy (empty bins out)."""
    c = np.asarray(conf, dtype=float)
    y = np.asarray(correct, dtype=float)
    idx = np.minimum((c * n_bins).astype(int), n_bins - 1)
    out = []
    for b in range(n_bins):
        sel = idx == b
        if sel.any():
            out.append(
                {
                    "lo": b / n_bins,
                    "hi": (b + 1) / n_bins,
                    "n": int(sel.sum()),
                    "confidence": float(c[sel].mean()),
                    "accuracy": float(y[sel].mean()),
                }
            )
    return out


def ece(conf: Sequence[float], correct: Sequence[bool], n_bins: int = N_BINS) -> float:
    """Expected calibration error over equal-width bins (module docstring); NaN when empty."""
    if not len(conf):
        return math.nan
    bins = reliability(conf, correct, n_bins)
    return float(sum(b["n"] * abs(b["accuracy"] - b["confidence"]) for b in bins) / len(conf))


def risk_coverage(
    conf: Sequence[float], correct: Sequence[bool]
) -> tuple[list[float], list[float], float]:
    """Coverage k/n, risk of the k most confident items (ties in record order), and AURC."""
    if not len(conf):
        return [], [], math.nan
    order = np.argsort(-np.asarray(conf, dtype=float), kind="stable")
    wrong = 1.0 - np.asarray(correct, dtype=float)[order]
    k = np.arange(1, len(order) + 1)
    risk = np.cumsum(wrong) / k
    return (k / len(order)).tolist(), risk.tolist(), float(risk.mean())


def calibration_summary(
    records: Sequence[Mapping[str, Any]], fields: Sequence[str]
) -> dict[str, Any]:
    """ECE per field and joint, and AURC, of the model's own probabilities."""
    raw = confidences(records, fields)
    return {
        "with_probs": share_with_probs(records),
        "ece": {f: ece(raw.fields[f], raw.correct[f]) for f in fields},
        "ece_joint": ece(raw.joint, raw.joint_correct),
        "aurc": risk_coverage(raw.joint, raw.joint_correct)[2],
    }
