"""How far a model's probabilities can be trusted: temperature scaling, ECE, risk-coverage.

    cal = fit_calibration(val_records)                  # temperatures from the validation split
    conf = confidences(test_records, cal)               # calibrated confidences per item
    ece(conf.joint, conf.joint_correct)                 # expected calibration error

A record is one line of an eval run's ``predictions.jsonl`` (``parsed``, ``gold``, ``correct``,
``probs``: field -> label -> probability, ``confidence``: the answer's probability). A
field's *confidence* is the probability of the label the model answered (0 for an invalid
answer); the *joint* confidence is the record's ``confidence``, the probability that the whole
answer is the model's.

- **Temperature scaling** (Guo et al., 2017), one temperature per field: each label's
  probability becomes p^(1/T), renormalised, with T > 0 fitted by minimising the negative
  log-likelihood of the gold labels on the validation split (golden-section search over 1/T in
  [0.05, 20]; the likelihood is convex in 1/T). T > 1 softens an overconfident model; the
  answered label stays the most probable one. The joint confidence gets a temperature of its
  own on its logit, fitted on whether the whole answer was right: c' = sigmoid(logit(c) / T).
- **ECE**: confidences in 10 equal-width bins over [0, 1] (the last one closed); ECE is the
  item-weighted mean over bins of |accuracy - mean confidence|, in [0, 1].
- **Risk-coverage**: items sorted by confidence, most confident first; at coverage k/n the
  risk is the error rate of the k most confident. AURC is its mean over k.

Models without probabilities (1 for the answered label) are not fitted: a temperature cannot
move 0 and 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

N_BINS = 10
EPS = 1e-6
"""Probabilities are kept in [EPS, 1 - EPS] before a logarithm or a logit."""
BETA_RANGE = (0.05, 20.0)
"""The search range of 1/T."""


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


# -- temperature scaling ---------------------------------------------------------------------------
def _golden(fn: Callable[[float], float], lo: float, hi: float, iters: int = 60) -> float:
    """The minimum of a unimodal function on [lo, hi], searched on a log scale."""
    a, b = math.log(lo), math.log(hi)
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = fn(math.exp(c)), fn(math.exp(d))
    for _ in range(iters):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = fn(math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = fn(math.exp(d))
    return math.exp((a + b) / 2)


def fit_temperature(dists: Sequence[Mapping[str, float]], gold: Sequence[str]) -> float:
    """The T that minimises the NLL of ``gold`` under p^(1/T), renormalised; 1 without data."""
    pairs = [(d, g) for d, g in zip(dists, gold, strict=True) if d]
    if not pairs:
        return 1.0
    labels = sorted({lab for d, g in pairs for lab in (*d, g)})
    index = {lab: i for i, lab in enumerate(labels)}
    logp = np.full((len(pairs), len(labels)), math.log(EPS))
    for i, (d, _) in enumerate(pairs):
        for lab, p in d.items():
            logp[i, index[lab]] = math.log(min(max(p, EPS), 1.0))
    y = np.array([index[g] for _, g in pairs])

    def nll(beta: float) -> float:
        z = beta * logp
        z = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        return float(np.mean(lse - z[np.arange(len(y)), y]))

    return 1.0 / _golden(nll, *BETA_RANGE)


def scale(dist: Mapping[str, float], t: float) -> dict[str, float]:
    """A distribution at temperature ``t``: p^(1/t), renormalised."""
    if not dist or t == 1.0:
        return dict(dist)
    logs = {k: math.log(max(v, EPS)) / t for k, v in dist.items()}
    m = max(logs.values())
    ex = {k: math.exp(v - m) for k, v in logs.items()}
    total = sum(ex.values())
    return {k: v / total for k, v in ex.items()}


def _logit(c: float) -> float:
    c = min(max(c, EPS), 1 - EPS)
    return math.log(c / (1 - c))


def fit_binary_temperature(conf: Sequence[float], correct: Sequence[bool]) -> float:
    """The T that minimises the NLL of ``correct`` under sigmoid(logit(conf) / T)."""
    if not conf:
        return 1.0
    z = np.array([_logit(c) for c in conf])
    y = np.array(correct, dtype=float)

    def nll(beta: float) -> float:
        s = beta * z
        # log(1 + e^s) - y s, computed stably
        return float(np.mean(np.logaddexp(0.0, s) - y * s))

    return 1.0 / _golden(nll, *BETA_RANGE)


def scale_binary(c: float, t: float) -> float:
    if t == 1.0:
        return c
    return 1.0 / (1.0 + math.exp(-_logit(c) / t))


# -- calibration of a model ------------------------------------------------------------------------
@dataclass
class Calibration:
    """Temperatures of one model, fitted on ``n`` validation items (T = 1: left as it is)."""

    fields: dict[str, float] = field(default_factory=dict)
    joint: float = 1.0
    n: int = 0
    fitted: bool = False
    """False: no validation run, or the model gives no probabilities."""


def fit_calibration(records: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> Calibration:
    """Per-field and joint temperatures from a validation run's records."""
    real = [r for r in records if has_probs(r)]
    if not real or len(real) < len(records) / 2:
        return Calibration({f: 1.0 for f in fields}, 1.0, len(records), False)
    temps = {
        f: fit_temperature([field_dist(r, f) for r in real], [r["gold"][f] for r in real])
        for f in fields
    }
    joint = fit_binary_temperature(
        [joint_confidence(r) for r in real], [joint_correct(r) for r in real]
    )
    return Calibration(temps, joint, len(real), True)


@dataclass
class Confidences:
    """Per item (in record order): each field's and the answer's confidence and correctness."""

    fields: dict[str, list[float]]
    correct: dict[str, list[bool]]
    joint: list[float]
    joint_correct: list[bool]


def confidences(
    records: Sequence[Mapping[str, Any]], fields: Sequence[str], cal: Calibration | None = None
) -> Confidences:
    """Confidences of the records, calibrated by ``cal`` when it was fitted."""
    cal = cal if cal is not None and cal.fitted else None
    out = Confidences({f: [] for f in fields}, {f: [] for f in fields}, [], [])
    for r in records:
        for f in fields:
            pred = (r.get("parsed") or {}).get(f)
            dist = field_dist(r, f)
            if cal is not None:
                dist = scale(dist, cal.fields.get(f, 1.0))
            out.fields[f].append(dist.get(pred, 0.0) if pred is not None else 0.0)
            out.correct[f].append(bool((r.get("correct") or {}).get(f)))
        c = joint_confidence(r)
        out.joint.append(scale_binary(c, cal.joint) if cal is not None else c)
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
    records: Sequence[Mapping[str, Any]], fields: Sequence[str], cal: Calibration | None = None
) -> dict[str, Any]:
    """ECE per field and joint, before and (with a fitted ``cal``) after, and AURC."""
    raw = confidences(records, fields)
    out: dict[str, Any] = {
        "with_probs": share_with_probs(records),
        "ece": {f: ece(raw.fields[f], raw.correct[f]) for f in fields},
        "ece_joint": ece(raw.joint, raw.joint_correct),
        "aurc": risk_coverage(raw.joint, raw.joint_correct)[2],
    }
    if cal is not None and cal.fitted:
        after = confidences(records, fields, cal)
        out.update(
            temperature={**cal.fields, "joint": cal.joint},
            calibrated_on=cal.n,
            ece_after={f: ece(after.fields[f], after.correct[f]) for f in fields},
            ece_joint_after=ece(after.joint, after.joint_correct),
        )  # AURC stays: a temperature keeps the order of the confidences
    return out
