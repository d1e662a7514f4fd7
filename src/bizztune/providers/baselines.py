"""Providers that need no model: ``majority`` and ``tfidf`` (scikit-learn), fitted on train.

They answer with JSON text like any model, so the shared parser and scorer see them the same.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from bizztune.core.errors import ConfigError
from bizztune.core.hookspecs import Register, hookimpl
from bizztune.core.interfaces import Completion, Example, ProviderConfig, Request, Schema


def _text(ex: Example) -> str:
    return " \n ".join(ex.inputs.values())


class MajorityProvider:
    """Predicts the most frequent train label of every field; its probabilities are the train
    split's label frequencies (the prior), the same for every item."""

    name = "majority"

    def __init__(self, config: ProviderConfig) -> None:
        self.model = "majority"
        self.labels: dict[str, str] = {}
        self.prior: dict[str, dict[str, float]] = {}

    def fit(self, train: Sequence[Example], schema: Schema) -> None:
        for f in schema.fields:
            counts = Counter(ex.labels[f.name] for ex in train)
            # ties broken by taxonomy order, so the result does not depend on row order
            self.labels[f.name] = max(f.labels, key=lambda lab: (counts[lab], -f.labels.index(lab)))
            total = sum(counts.values()) or 1
            self.prior[f.name] = {lab: c / total for lab, c in counts.items() if c}

    def complete(self, requests: Sequence[Request], schema: Schema) -> Iterator[Completion]:
        if not self.labels:
            raise ConfigError("the majority provider must be fitted on a train split first")
        for r in requests:
            yield Completion(
                r.id,
                json.dumps({k: self.labels[k] for k in r.fields}, ensure_ascii=False),
                probs={k: dict(self.prior[k]) for k in r.fields if k in self.prior},
            )


class TfidfProvider:
    """Word and character n-gram TF-IDF with one logistic regression per field.

    The subcategory model's answer also fixes the category through the hierarchy when the
    task has one, which is both more accurate and always consistent. Its probabilities are the
    regressions' ``predict_proba``; a parent fixed by its child gets its children's
    probabilities summed (the answered parent is the best child's, whose sum need not be the
    largest), and the answer's probability is the product over the leaf fields.
    """

    name = "tfidf"

    def __init__(self, config: ProviderConfig) -> None:
        self.model = "tfidf-logreg"
        self.seed = config.seed
        self.pipes: dict[str, Any] = {}

    def fit(self, train: Sequence[Example], schema: Schema) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        texts = [_text(ex) for ex in train]
        for f in schema.fields:
            y = [ex.labels[f.name] for ex in train]
            if len(set(y)) < 2:
                self.pipes[f.name] = y[0]
                continue
            feats = FeatureUnion(
                [
                    ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
                    (
                        "char",
                        TfidfVectorizer(
                            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2
                        ),
                    ),
                ]
            )
            pipe = make_pipeline(
                feats, LogisticRegression(C=10.0, max_iter=2000, random_state=self.seed)
            )
            pipe.fit(texts, y)
            self.pipes[f.name] = pipe
        self.schema = schema

    def _proba(self, field: str, texts: list[str]) -> list[dict[str, float]]:
        p = self.pipes[field]
        if isinstance(p, str):
            return [{p: 1.0}] * len(texts)
        classes = [str(c) for c in p.classes_]
        return [dict(zip(classes, map(float, row), strict=True)) for row in p.predict_proba(texts)]

    def complete(self, requests: Sequence[Request], schema: Schema) -> Iterator[Completion]:
        if not self.pipes:
            raise ConfigError("the tfidf provider must be fitted on a train split first")
        t0 = time.perf_counter()
        texts = [_text(r.example) for r in requests if r.example is not None]
        if len(texts) != len(requests):
            raise ConfigError("the tfidf provider needs the raw item of every request")
        proba = {f: self._proba(f, texts) for f in schema.names}
        dt = (time.perf_counter() - t0) / max(len(requests), 1)
        for i, r in enumerate(requests):
            probs = {f: proba[f][i] for f in schema.names}
            # predict() is the argmax of predict_proba (ties: the first class, as sklearn does)
            ans = {f: max(probs[f], key=probs[f].__getitem__) for f in schema.names}
            for f in schema.fields:  # the finer field decides its parent
                if f.parent and f.parent in ans and ans[f.name] in f.parent_of:
                    ans[f.parent] = f.parent_of[ans[f.name]]
                    summed: dict[str, float] = {}
                    for lab, p in probs[f.name].items():
                        par = f.parent_of.get(lab, lab)
                        summed[par] = summed.get(par, 0.0) + p
                    probs[f.parent] = summed
            yield Completion(
                r.id,
                json.dumps({k: ans[k] for k in r.fields}, ensure_ascii=False),
                latency_s=dt,
                probs={k: probs[k] for k in r.fields},
            )


# -- registration ----------------------------------------------------------------------------------
@hookimpl
def register_providers(register: Register) -> None:
    register(
        "majority",
        MajorityProvider,
        description="most frequent train label per field (no model)",
        fittable=True,
    )
    register(
        "tfidf",
        TfidfProvider,
        description="TF-IDF + logistic regression fitted on train (no model)",
        fittable=True,
    )
