"""Quality gates of a labelled data set, printed and saved as a Markdown data card.

from bizztune.data.datacard import card_stats, write_datacard
stats = write_datacard(rows, Path("data/datacard.md"), "tickets, offline, seed 0", task.schema)

``bizztune generate`` and ``bizztune split`` write one next to their output. Metrics: label
distribution, length distribution, exact duplicates, near-duplicates (exact Jaccard similarity
of character 5-gram shingles, computed block-wise as a sparse matrix product, so there is no
MinHash approximation), the share of titles that contain their own label, and distinct-1/2-gram
ratios. Gates: near-duplicate rate below 2%, at most 10% of titles naming their subcategory,
no exact duplicates, and labels as frequent as expected: with the label prior the generator
promised (``expected``, field -> label -> share), every label's share within three standard
errors of it; without one, the rarest label at least half as frequent as the most common one.
A generator with a realistic prior (few policy questions, few urgent tickets) passes the first
and would fail the second; data of unknown origin gets the second, a warning about imbalance.

What is measured comes from the task's schema: every output field gets its label distribution;
the label gate applies to the fields no other field refines (subcategory and urgency, not
category, which has one or two subcategories each), the title gate to the fields that refine
another (subcategory). The free text is ``title`` and ``description`` (``TEXT_FIELDS``), the
row schema's names for an item's own words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bizztune.core.interfaces import Schema

TEXT_FIELDS = ("title", "description")
"""The inputs that hold an item's own words: compared for duplicates, measured for length."""
NEAR_DUP_THRESHOLD = 0.5
"""Jaccard similarity of 5-gram shingle sets from which two texts count as near-duplicates."""
SHINGLE = 5
MAX_NEAR_DUP_RATE = 0.02
MAX_TITLE_LABEL_SHARE = 0.10
MIN_BALANCE = 0.5
PRIOR_SE = 3.0
"""How many standard errors a label's share may stray from the expected prior."""


# -- pure metrics -------------------------------------------------------------------------------
def normalize(text: str) -> str:
    """Lower case, one space between words: formatting alone does not make two texts differ."""
    return re.sub(r"\s+", " ", text.lower()).strip()


def row_text(row: Mapping[str, Any], fields: Sequence[str] = TEXT_FIELDS) -> str:
    return "\n".join(str(row.get(f, "")) for f in fields)


def label_distribution(
    rows: Sequence[Mapping[str, Any]], fields: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Field -> label -> count, most common first."""
    return {
        f: dict(Counter(str(r.get(f)) for r in rows).most_common())
        for f in fields
        if any(f in r for r in rows)
    }


def balance(counts: Mapping[str, int]) -> float:
    """Rarest over most common label count: 1.0 is perfectly balanced."""
    return min(counts.values()) / max(counts.values()) if counts else 0.0


def prior_fit(counts: Mapping[str, int], expected: Mapping[str, float]) -> tuple[float, bool]:
    """(largest |observed - expected| share, whether every label is within ``PRIOR_SE``
    binomial standard errors of its expected share, plus one item for rounding)."""
    n = sum(counts.values())
    if not n:
        return 0.0, True
    gap, ok = 0.0, True
    for label in {*counts, *expected}:
        p = float(expected.get(label, 0.0))
        diff = abs(counts.get(label, 0) / n - p)
        gap = max(gap, diff)
        ok = ok and diff <= PRIOR_SE * math.sqrt(p * (1 - p) / n) + 1 / n
    return gap, ok


def length_stats(values: Sequence[int]) -> dict[str, float]:
    if not values:
        return {}
    v = np.asarray(values, dtype=float)
    return {
        "min": float(v.min()),
        "p5": float(np.percentile(v, 5)),
        "median": float(np.median(v)),
        "mean": round(float(v.mean()), 1),
        "p95": float(np.percentile(v, 95)),
        "max": float(v.max()),
    }


def exact_duplicates(texts: Sequence[str]) -> int:
    """How many texts repeat an earlier one after normalization."""
    seen: set[str] = set()
    dups = 0
    for t in texts:
        key = normalize(t)
        dups += key in seen
        seen.add(key)
    return dups


def shingles(text: str, k: int = SHINGLE) -> set[str]:
    t = normalize(text)
    if len(t) <= k:
        return {t}
    return {t[i : i + k] for i in range(len(t) - k + 1)}


def near_duplicate_pairs(
    texts: Sequence[str], threshold: float = NEAR_DUP_THRESHOLD, k: int = SHINGLE
) -> list[tuple[int, int, float]]:
    """All pairs (i < j) whose shingle sets have Jaccard similarity >= threshold, exactly.

    Intersections come from a sparse 0/1 matrix product in blocks of rows, which is exact and
    takes well under a second for a few thousand texts.
    """
    from scipy import sparse

    n = len(texts)
    if n < 2:
        return []
    vocab: dict[str, int] = {}
    indptr, indices = [0], []
    for t in texts:
        ids = sorted({vocab.setdefault(s, len(vocab)) for s in shingles(t, k)})
        indices.extend(ids)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    x = sparse.csr_matrix((data, indices, indptr), shape=(n, len(vocab)))
    sizes = np.diff(x.indptr).astype(np.float64)
    xt = x.T.tocsc()
    pairs: list[tuple[int, int, float]] = []
    block = 512
    for start in range(0, n, block):
        stop = min(n, start + block)
        inter = (x[start:stop] @ xt).toarray().astype(np.float64)
        union = sizes[start:stop, None] + sizes[None, :] - inter
        jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        # keep j > i only
        rows_idx = np.arange(start, stop)[:, None]
        jac[np.arange(n)[None, :] <= rows_idx] = 0.0
        for bi, j in zip(*np.nonzero(jac >= threshold), strict=True):
            pairs.append((start + int(bi), int(j), round(float(jac[bi, j]), 4)))
    return pairs


def near_duplicate_rate(n: int, pairs: Iterable[tuple[int, int, float]]) -> float:
    """Share of items that have at least one near-duplicate partner."""
    involved: set[int] = set()
    for i, j, _ in pairs:
        involved.update((i, j))
    return len(involved) / n if n else 0.0


def title_label_share(rows: Sequence[Mapping[str, Any]], field: str) -> float:
    """Share of titles that contain their own label verbatim (case-insensitive)."""
    if not rows:
        return 0.0
    hits = sum(1 for r in rows if str(r.get(field, "")).lower() in str(r.get("title", "")).lower())
    return hits / len(rows)


def distinct_ngrams(texts: Sequence[str], n: int) -> float:
    """Distinct over total word n-grams: low values mean repetitive text."""
    total = 0
    seen: set[tuple[str, ...]] = set()
    for t in texts:
        words = re.findall(r"\w+", t.lower())
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


# -- the card -----------------------------------------------------------------------------------
@dataclass
class CardStats:
    n: int
    labels: dict[str, dict[str, int]]
    balance: dict[str, float]
    title_words: dict[str, float]
    description_words: dict[str, float]
    exact_duplicates: int
    near_duplicate_pairs: int
    near_duplicate_rate: float
    near_duplicate_threshold: float
    title_label_share: dict[str, float]
    distinct_1: float
    distinct_2: float
    gates: dict[str, bool] = field(default_factory=dict)
    examples_near_dup: list[tuple[str, str, float]] = field(default_factory=list)
    expected: dict[str, dict[str, float]] = field(default_factory=dict)
    """Field -> label -> share the generator promised; empty when it promised none."""
    prior_gap: dict[str, float] = field(default_factory=dict)
    """Field -> largest difference between a label's share and its expected share."""

    @property
    def passed(self) -> bool:
        return all(self.gates.values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def card_stats(
    rows: Sequence[Mapping[str, Any]],
    schema: Schema,
    threshold: float = NEAR_DUP_THRESHOLD,
    expected: Mapping[str, Mapping[str, float]] | None = None,
) -> CardStats:
    """The card's numbers and gates; ``expected`` is the label prior the rows should follow."""
    texts = [row_text(r) for r in rows]
    pairs = near_duplicate_pairs(texts, threshold)
    labels = label_distribution(rows, schema.names)
    descs = [str(r.get("description", "")) for r in rows]
    share = {f: title_label_share(rows, f) for f in labels}
    stats = CardStats(
        n=len(rows),
        labels=labels,
        balance={f: round(balance(c), 3) for f, c in labels.items()},
        title_words=length_stats([len(str(r.get("title", "")).split()) for r in rows]),
        description_words=length_stats([len(d.split()) for d in descs]),
        exact_duplicates=exact_duplicates(texts),
        near_duplicate_pairs=len(pairs),
        near_duplicate_rate=round(near_duplicate_rate(len(rows), pairs), 4),
        near_duplicate_threshold=threshold,
        title_label_share={f: round(v, 4) for f, v in share.items()},
        distinct_1=round(distinct_ngrams(descs, 1), 4),
        distinct_2=round(distinct_ngrams(descs, 2), 4),
        examples_near_dup=[
            (str(rows[i].get("id", i)), str(rows[j].get("id", j)), s)
            for i, j, s in sorted(pairs, key=lambda p: -p[2])[:5]
        ],
    )
    stats.gates = {
        f"near-duplicate rate < {MAX_NEAR_DUP_RATE:.0%}": stats.near_duplicate_rate
        < MAX_NEAR_DUP_RATE,
        "no exact duplicates": stats.exact_duplicates == 0,
    }
    for f in (f.name for f in schema.fields if f.parent and f.name in share):
        key = f"titles naming their {f} <= {MAX_TITLE_LABEL_SHARE:.0%}"
        stats.gates[key] = share[f] <= MAX_TITLE_LABEL_SHARE
    stats.expected = {f: dict(d) for f, d in (expected or {}).items() if f in labels}
    for f, b in stats.balance.items():
        if f not in schema.leaves:
            continue
        if f in stats.expected:
            gap, ok = prior_fit(labels[f], stats.expected[f])
            stats.prior_gap[f] = round(gap, 4)
            stats.gates[f"{f} shares follow the expected prior (within {PRIOR_SE:g} SE)"] = ok
        else:
            stats.gates[f"{f} balance (rarest/most common) >= {MIN_BALANCE}"] = b >= MIN_BALANCE
    return stats


def _fmt_lengths(d: Mapping[str, float]) -> str:
    return " | ".join(f"{d[k]:g}" for k in ("min", "p5", "median", "mean", "p95", "max"))


def render_markdown(stats: CardStats, title: str) -> str:
    out = [f"# Data card: {title}", "", f"{stats.n} items.", "", "## Quality gates", ""]
    for name, ok in stats.gates.items():
        out.append(f"- {'PASS' if ok else 'FAIL'}: {name}")
    out += [
        "",
        "## Duplicates and diversity",
        "",
        "| metric | value |",
        "|---|---|",
        f"| exact duplicates (normalized title + description) | {stats.exact_duplicates} |",
        f"| near-duplicate pairs (char {SHINGLE}-gram Jaccard >= {stats.near_duplicate_threshold}) "
        f"| {stats.near_duplicate_pairs} |",
        f"| near-duplicate rate (items with a near-duplicate) | {stats.near_duplicate_rate:.2%} |",
    ]
    for f, v in stats.title_label_share.items():
        out.append(f"| titles containing their {f} | {v:.2%} |")
    out += [
        f"| distinct-1 (description words) | {stats.distinct_1:.3f} |",
        f"| distinct-2 (description word pairs) | {stats.distinct_2:.3f} |",
        "",
        "## Lengths (words)",
        "",
        "| field | min | p5 | median | mean | p95 | max |",
        "|---|---|---|---|---|---|---|",
    ]
    if stats.title_words:
        out.append(f"| title | {_fmt_lengths(stats.title_words)} |")
        out.append(f"| description | {_fmt_lengths(stats.description_words)} |")
    out += ["", "## Labels", ""]
    for f, counts in stats.labels.items():
        exp = stats.expected.get(f)
        if exp is None:
            out += [f"### {f} (balance {stats.balance[f]:.2f})", ""]
            out += ["| label | n | share |", "|---|---|---|"]
            out += [f"| {label} | {c} | {c / stats.n:.1%} |" for label, c in counts.items()]
        else:
            gap = (
                f", largest gap to the prior {stats.prior_gap[f]:.1%}"
                if f in stats.prior_gap
                else ""
            )
            out += [f"### {f} (balance {stats.balance[f]:.2f}{gap})", ""]
            out += ["| label | n | share | expected |", "|---|---|---|---|"]
            out += [
                f"| {label} | {c} | {c / stats.n:.1%} | {exp.get(label, 0.0):.1%} |"
                for label, c in counts.items()
            ]
        out.append("")
    if stats.examples_near_dup:
        out += ["## Most similar pairs", ""]
        out += [f"- {a} ~ {b}: {s:.2f}" for a, b, s in stats.examples_near_dup]
        out.append("")
    return "\n".join(out)


def write_datacard(
    rows: Sequence[Mapping[str, Any]],
    path: Path,
    title: str,
    schema: Schema,
    expected: Mapping[str, Mapping[str, float]] | None = None,
) -> CardStats:
    """Compute the card of ``rows`` and write it as Markdown to ``path``."""
    stats = card_stats(rows, schema, expected=expected)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(stats, title), encoding="utf-8")
    return stats


def summary_lines(stats: CardStats) -> list[str]:
    """A few lines for the terminal."""
    lines = [
        f"{stats.n} items; near-duplicate rate {stats.near_duplicate_rate:.2%} "
        f"({stats.near_duplicate_pairs} pairs), exact duplicates {stats.exact_duplicates}",
        "titles containing their label: "
        + ", ".join(f"{f} {v:.1%}" for f, v in stats.title_label_share.items()),
        "balance (rarest/most common): "
        + ", ".join(f"{f} {v:.2f}" for f, v in stats.balance.items())
        + (
            "; largest gap to the expected prior: "
            + ", ".join(f"{f} {v:.1%}" for f, v in stats.prior_gap.items())
            if stats.prior_gap
            else ""
        ),
        f"distinct-1 {stats.distinct_1:.3f}, distinct-2 {stats.distinct_2:.3f}",
    ]
    lines += [f"{'PASS' if ok else 'FAIL'} {name}" for name, ok in stats.gates.items()]
    return lines
