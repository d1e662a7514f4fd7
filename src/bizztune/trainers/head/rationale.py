"""Where a field's attention should look: rationales from a bag of words (--head-rationale).

    from bizztune.trainers.head.rationale import Rationales
    r = Rationales.build(task, tok, train_examples, style, seqs, {"urgency": 1.0})
    loss = loss + r.loss(clf.attention, micro_batch)      # after a forward with keep_attention

The sixth round of docs/research/ found that the fine-tuned model reads which problem a
ticket is about and not the sentence that says how badly the customer is hit, which TF-IDF
reads; the heads read a mean over some 150 tokens, which blurs one sentence. With
``--head-pooling attn`` each field has a query over the tokens, but in 200 steps it learnt
nothing from the labels alone. Rationale supervision (Zaidan et al. 2007, "Using annotator
rationales"; Bao et al. 2018, "Deriving machine attention from human rationales") tells the
attention where to look. No one annotated rationales here, so they come from a model that
reads words: a word-unigram TF-IDF and a logistic regression per field (``C`` 10, as the
TF-IDF baseline), fitted on the same training tickets. In a ticket, a word's weight is its
TF-IDF value times how much more its coefficient favours the ticket's gold label than the
field's labels do on average; the words with a positive weight, spread over the tokens they
cover in the prompt, are the target distribution. The loss is the cross-entropy of the
field's attention against it (a KL divergence up to a constant), times the field's weight;
a ticket without such a word adds nothing. Only training: inference is the attention alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bizztune.core.interfaces import Example, Task
from bizztune.models.heads import TAIL_TOKENS

WORD = re.compile(r"\w\w+")
"""A word as scikit-learn's default token pattern sees it (two or more word characters)."""
MIN_WEIGHT = 1e-6
"""A word's weight must be above this to count (a word in every ticket lifts no label: 0,
up to rounding)."""
RATIONALE_C = 10.0
"""Inverse L2 strength of the word regression: the TF-IDF baseline's."""


def ticket_text(ex: Example) -> str:
    return "\n".join(ex.inputs.values())


class WordModel:
    """A word-unigram TF-IDF and a logistic regression of one field, fitted on ``texts``."""

    def __init__(self, texts: Sequence[str], labels: Sequence[int], n_labels: int) -> None:
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vec = TfidfVectorizer(sublinear_tf=True, token_pattern=WORD.pattern)
        x = self.vec.fit_transform(texts)
        present = np.unique(np.asarray(labels))
        self.lift = np.zeros((n_labels, x.shape[1]))
        if len(present) < 2:
            return  # one label: no word favours any
        reg = LogisticRegression(C=RATIONALE_C, max_iter=3000).fit(x, labels)
        coef = np.zeros((n_labels, x.shape[1]))
        if len(present) == 2:  # scikit-learn's binary form: one row for the second class
            coef[present[0]], coef[present[1]] = -reg.coef_[0] / 2, reg.coef_[0] / 2
        else:
            coef[present] = reg.coef_
        self.lift = coef - coef[present].mean(axis=0)  # how much a word favours each label

    def weights(self, texts: Sequence[str], labels: Sequence[int]) -> list[dict[str, float]]:
        """Per text, word -> weight towards its own label (positive weights only)."""
        vocab = self.vec.get_feature_names_out()
        x = self.vec.transform(texts).tocsr()
        out: list[dict[str, float]] = []
        for i, label in enumerate(labels):
            row = x.getrow(i)
            w = row.data * self.lift[label, row.indices]
            out.append(
                {
                    str(vocab[j]): float(v)
                    for j, v in zip(row.indices, w, strict=True)
                    if v > MIN_WEIGHT
                }
            )
        return out


def word_weights(
    texts: Sequence[str], labels: Sequence[int], n_labels: int
) -> list[dict[str, float]]:
    """Per text, word -> weight towards its own label, from a ``WordModel`` fitted on them."""
    return WordModel(texts, labels, n_labels).weights(texts, labels)


def token_targets(
    tok: Any, messages: list[dict[str, str]], kept: Sequence[int], weights: Mapping[str, float]
) -> list[float] | None:
    """The target distribution over the prompt's tokens ``kept`` (as ``encode_prompt`` gave
    them, perhaps cut in the middle): each word's weight spread over the tokens it overlaps,
    normalized. None when no weighted word is in them or the tokens cannot be matched."""
    text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, spans = list(enc["input_ids"]), list(enc["offset_mapping"])
    if len(kept) < len(ids):  # cut in the middle to len(kept) tokens, as encode_prompt cuts
        tail = min(TAIL_TOKENS, len(kept) // 2)
        ids = ids[: len(kept) - tail] + ids[len(ids) - tail :]
        spans = spans[: len(kept) - tail] + spans[len(spans) - tail :]
    if ids != list(kept):
        return None
    per_char = [0.0] * len(text)
    for m in WORD.finditer(text):
        w = weights.get(m.group().lower(), 0.0)
        for c in range(m.start(), m.end()):
            per_char[c] = w / (m.end() - m.start())
    target = [sum(per_char[a:b]) for a, b in spans]
    total = sum(target)
    return [t / total for t in target] if total > 0 else None


@dataclass
class Rationales:
    """Each training sequence's target over its tokens, per supervised field (its index in
    the heads' order, its weight)."""

    targets: dict[int, list[list[float] | None]]
    weights: dict[int, float]
    names: list[str]
    """The heads' fields, in order."""

    @classmethod
    def build(
        cls,
        task: Task,
        tok: Any,
        examples: Sequence[Example],
        style: str,
        seqs: Sequence[Sequence[int]],
        fields: Mapping[str, float],
    ) -> Rationales:
        names = [f.name for f in task.schema.fields]
        texts = [ticket_text(ex) for ex in examples]
        msgs = [task.messages(ex, style=style) for ex in examples]  # type: ignore[arg-type]
        targets: dict[int, list[list[float] | None]] = {}
        for name in fields:
            labels = task.schema.field(name).labels
            ys = [labels.index(ex.labels[name]) for ex in examples]
            words = word_weights(texts, ys, len(labels))
            targets[names.index(name)] = [
                token_targets(tok, m, s, w) for m, s, w in zip(msgs, seqs, words, strict=True)
            ]
        return cls(targets, {names.index(k): v for k, v in fields.items()}, names)

    def coverage(self) -> dict[str, float]:
        """Per supervised field, the share of training sequences with a target."""
        return {
            self.names[f]: round(sum(t is not None for t in ts) / max(len(ts), 1), 4)
            for f, ts in self.targets.items()
        }

    def loss(self, attention: Any, idx: Sequence[int]) -> Any:
        """Weighted cross-entropy of the attention (n, tokens, fields) of the micro-batch
        ``idx`` against the targets, averaged over the micro-batch's sequences."""
        import torch

        total = attention.new_zeros(())
        for f, ts in self.targets.items():
            for row, i in enumerate(idx):
                t = ts[i]
                if t is None:
                    continue
                target = torch.tensor(t, dtype=attention.dtype, device=attention.device)
                a = attention[row, : len(t), f].clamp_min(1e-12)
                total = total - self.weights[f] * (target * a.log()).sum()
        return total / max(len(idx), 1)
