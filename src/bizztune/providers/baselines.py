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


_FITTED: dict[str, dict[str, Any]] = {}
"""The last fit of this process, by ``_fit_key``: ``bizztune run`` scores tfidf on several sets,
each fitted on the same train split; the fit is deterministic, so it is done once."""


def _fit_key(train: Sequence[Example], schema: Schema, seed: int) -> str:
    import hashlib

    h = hashlib.sha256(f"{seed}\n{schema.names}\n".encode())
    for ex in train:
        h.update(json.dumps([ex.inputs, ex.labels], sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest()


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
        key = _fit_key(train, schema, self.seed)
        if key in _FITTED:  # the same split fitted again in this process (a run's other sets)
            self.pipes = dict(_FITTED[key])
            self.schema = schema
            return
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        texts = [_text(ex) for ex in train]
        # One vectorizer for every field: each field's would be fitted on the same texts with
        # the same settings, so it is the same one. A parent fixed by its child's answer (the
        # category by the subcategory) needs no regression of its own.
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
        fixed = {f.parent for f in schema.fields if f.parent and f.parent_of}
        x = None
        for f in schema.fields:
            y = [ex.labels[f.name] for ex in train]
            if len(set(y)) < 2:
                self.pipes[f.name] = y[0]
                continue
            if f.name in fixed:
                continue
            if x is None:
                x = feats.fit_transform(texts)
            lr = LogisticRegression(C=10.0, max_iter=2000, random_state=self.seed).fit(x, y)
            self.pipes[f.name] = make_pipeline(feats, lr)
        self.schema = schema
        _FITTED.clear()  # one split at a time: a run fits on one train split
        _FITTED[key] = dict(self.pipes)

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
        proba = {f: self._proba(f, texts) for f in schema.names if f in self.pipes}
        dt = (time.perf_counter() - t0) / max(len(requests), 1)
        for i, r in enumerate(requests):
            probs = {f: proba[f][i] for f in proba}
            # predict() is the argmax of predict_proba (ties: the first class, as sklearn does)
            ans = {f: max(probs[f], key=probs[f].__getitem__) for f in probs}
            for f in schema.fields:  # the finer field decides its parent
                if f.parent and f.name in ans and ans[f.name] in f.parent_of:
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
