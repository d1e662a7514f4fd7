"""How far a test set is from the data a model learned from: the train-vs-test data card.

    bizztune compare-data data/split tickets:foreign          # Markdown to the terminal

    from bizztune.data.shift import compare_sets, render_shift
    result = compare_sets(train_rows, test_rows, task.schema)
    print(render_shift(result, "synthetic train", "tickets:foreign"))

Synthetic training data can look nothing like a user's own tickets, and then no score on a
synthetic test split says anything about theirs. Four measures, each cheap:

- **label shift**: every field's label shares in both sets and their total variation distance
  (0: the same distribution, 1: disjoint);
- **length**: words per item (the text fields) in both sets, and the two-sample
  Kolmogorov-Smirnov statistic between them;
- **vocabulary**: the share of the test set's word tokens whose word occurs in the training
  data (coverage), and the Jaccard overlap of the two vocabularies;
- **domain classifier**: how well a TF-IDF logistic regression tells a test item from a training
  item, as the ROC AUC of out-of-fold predictions (5-fold, stratified) with a bootstrap
  interval. 0.5: the sets cannot be told apart; near 1: every item gives away where it comes
  from. Sets from one generator score near 0.5, which is the reference to read it against.

Near-duplicates across the sets (character 5-gram Jaccard >= 0.5, as in the data card) are
counted too: a test item with a near-duplicate in the training data measures memory, not skill.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bizztune.core.interfaces import Schema
from bizztune.data.datacard import NEAR_DUP_THRESHOLD, length_stats, near_duplicate_pairs, row_text

_WORD = re.compile(r"\w+")


def total_variation(p: Mapping[str, int], q: Mapping[str, int]) -> float:
    """Half the L1 distance between two label distributions given as counts."""
    n_p, n_q = sum(p.values()) or 1, sum(q.values()) or 1
    return 0.5 * sum(abs(p.get(k, 0) / n_p - q.get(k, 0) / n_q) for k in {*p, *q})


def vocabulary_overlap(train: Sequence[str], test: Sequence[str]) -> dict[str, float]:
    """Token coverage of the test texts by the training vocabulary, and vocabulary Jaccard."""
    train_vocab = {w for t in train for w in _WORD.findall(t.lower())}
    test_tokens = [w for t in test for w in _WORD.findall(t.lower())]
    test_vocab = set(test_tokens)
    covered = sum(1 for w in test_tokens if w in train_vocab)
    union = train_vocab | test_vocab
    return {
        "token_coverage": covered / len(test_tokens) if test_tokens else 0.0,
        "type_coverage": len(test_vocab & train_vocab) / len(test_vocab) if test_vocab else 0.0,
        "jaccard": len(train_vocab & test_vocab) / len(union) if union else 0.0,
        "train_types": float(len(train_vocab)),
        "test_types": float(len(test_vocab)),
    }


def domain_auc(
    train: Sequence[str], test: Sequence[str], seed: int = 0, resamples: int = 500
) -> dict[str, float]:
    """ROC AUC of a classifier telling test from train texts (out-of-fold), with a 95%
    percentile-bootstrap interval over items."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import FeatureUnion, make_pipeline

    texts = [*train, *test]
    y = np.array([0] * len(train) + [1] * len(test))
    folds = min(5, len(train), len(test))
    if folds < 2:
        return {"auc": float("nan"), "ci95_low": float("nan"), "ci95_high": float("nan")}
    feats = FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)),
        ]
    )
    clf = make_pipeline(feats, LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced"))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    proba = cross_val_predict(clf, texts, y, cv=cv, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(y, proba))
    rng = np.random.default_rng(seed)
    idx0, idx1 = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    boots = []
    for _ in range(resamples):  # resample within each class, so both stay present
        i0, i1 = rng.choice(idx0, idx0.size), rng.choice(idx1, idx1.size)
        boots.append(pair_auc(proba[i0], proba[i1]))
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {"auc": auc, "ci95_low": float(lo), "ci95_high": float(hi)}


def pair_auc(negative: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC of scores of negative and positive items: the share of (negative, positive)
    pairs the positive scores higher, ties counting half. The value of sklearn's
    roc_auc_score, without its input checks (which cost ~100x the arithmetic in a bootstrap)."""
    s = np.sort(negative)
    below = np.searchsorted(s, positive, "left") + np.searchsorted(s, positive, "right")
    return float(below.sum() / (2.0 * s.size * positive.size))


def cross_near_duplicates(
    train: Sequence[str], test: Sequence[str], threshold: float = NEAR_DUP_THRESHOLD
) -> dict[str, Any]:
    """Test items with a near-duplicate among the training items, and the closest pairs."""
    pairs = near_duplicate_pairs([*train, *test], threshold)
    n = len(train)
    crossing = [(i, j - n, s) for i, j, s in pairs if i < n <= j]
    return {
        "test_items_with_near_duplicate": len({j for _, j, _ in crossing}),
        "pairs": len(crossing),
        "closest": sorted(crossing, key=lambda p: -p[2])[:5],
    }


def compare_sets(
    train: Sequence[Mapping[str, Any]],
    test: Sequence[Mapping[str, Any]],
    schema: Schema,
    seed: int = 0,
) -> dict[str, Any]:
    """Every measure of the module for two sets of rows (the data file schema)."""
    from scipy.stats import ks_2samp

    train_text = [row_text(r) for r in train]
    test_text = [row_text(r) for r in test]
    labels: dict[str, Any] = {}
    for f in schema.names:
        p = Counter(str(r[f]) for r in train if f in r)
        q = Counter(str(r[f]) for r in test if f in r)
        if not q:
            continue
        labels[f] = {
            "tv_distance": total_variation(p, q),
            "train": {k: p[k] / len(train) for k in schema.field(f).labels},
            "test": {k: q[k] / len(test) for k in schema.field(f).labels},
        }
    words_train = [len(t.split()) for t in train_text]
    words_test = [len(t.split()) for t in test_text]
    ks = ks_2samp(words_train, words_test)
    return {
        "n_train": len(train),
        "n_test": len(test),
        "labels": labels,
        "length_words": {
            "train": length_stats(words_train),
            "test": length_stats(words_test),
            "ks_statistic": float(ks.statistic),
        },
        "vocabulary": vocabulary_overlap(train_text, test_text),
        "domain_classifier": domain_auc(train_text, test_text, seed=seed),
        "near_duplicates": cross_near_duplicates(train_text, test_text),
    }


def shift_row(name: str, r: Mapping[str, Any]) -> str:
    """One Markdown table row of the summary: a test set against the training data."""
    d, v, lw = r["domain_classifier"], r["vocabulary"], r["length_words"]
    tv = " / ".join(f"{x['tv_distance']:.2f}" for x in r["labels"].values())
    return (
        f"| {name} | {r['n_test']} | {d['auc']:.2f} [{d['ci95_low']:.2f}, {d['ci95_high']:.2f}] | "
        f"{tv} | {lw['train']['median']:g} / {lw['test']['median']:g} | "
        f"{lw['ks_statistic']:.2f} | {v['token_coverage']:.1%} | {v['jaccard']:.2f} | "
        f"{r['near_duplicates']['test_items_with_near_duplicate']} |"
    )


def shift_table(rows: Sequence[tuple[str, Mapping[str, Any]]], fields: Sequence[str]) -> str:
    """The summary table of several test sets against one training set."""
    head = (
        "| Test set | n | Domain AUC [95% CI] | Label shift (TV: "
        + " / ".join(fields)
        + ") | Median words train / test | Length KS | Token coverage | Vocab Jaccard "
        "| Near-dup. of train |"
    )
    lines = [head, "|" + "---|" * 9]
    lines += [shift_row(name, r) for name, r in rows]
    return "\n".join(lines)


def shift_note() -> str:
    return (
        "Domain AUC: how well a TF-IDF classifier tells a test item from a training item "
        "(out-of-fold ROC AUC; 0.5 = indistinguishable, 1 = every item gives away its source). "
        "TV: total variation distance between the label distributions (0 = same). Length KS: "
        "Kolmogorov-Smirnov statistic of words per item. Token coverage: share of the test "
        "set's words that occur in the training data. Near-dup.: test items with a character "
        "5-gram Jaccard >= 0.5 to a training item."
    )


def render_shift(result: Mapping[str, Any], train_name: str, test_name: str) -> str:
    """The full comparison of one test set with the training data, as Markdown."""
    fields = list(result["labels"])
    out = [
        f"# Data shift: {test_name} against {train_name}",
        "",
        shift_table([(test_name, result)], fields),
        "",
        shift_note(),
        "",
        "## Label shares (train / test)",
        "",
    ]
    for f, x in result["labels"].items():
        out += [
            f"### {f} (TV distance {x['tv_distance']:.2f})",
            "",
            "| label | train | test |",
            "|---|---|---|",
        ]
        out += [f"| {k} | {x['train'][k]:.1%} | {x['test'][k]:.1%} |" for k in x["train"]]
        out.append("")
    lw = result["length_words"]
    out += [
        "## Words per item",
        "",
        "| set | min | p5 | median | mean | p95 | max |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("train", "test"):
        s = lw[name]
        out.append(
            f"| {name} | "
            + " | ".join(f"{s[k]:g}" for k in ("min", "p5", "median", "mean", "p95", "max"))
            + " |"
        )
    nd = result["near_duplicates"]
    out += [
        "",
        f"Near-duplicates across the sets: {nd['test_items_with_near_duplicate']} test items "
        f"({nd['pairs']} pairs).",
        "",
    ]
    return "\n".join(out)
