"""Linear probing before fine-tuning (LP-FT): the heads start at a logistic regression on the
frozen body's states, so the first LoRA steps follow a head that already reads the task.

    from bizztune.trainers.head.probe import fit_probe_heads
    info = fit_probe_heads(clf, seqs, y, pad_id, autocast=True)   # before the first step

Kumar et al. (2022, "Fine-Tuning can Distort Pretrained Features and Underperform
Out-of-Distribution") show that fine-tuning from a zero or random head moves the pretrained
features most in the first steps, while the head is still wrong, and that starting from a
linear probe keeps more of what transfers. ``benchmarks/linear_probe.py`` found the frozen
Gemma's mean state about as good on hand-written tickets as the fine-tuned heads.

The regression is scikit-learn's (multinomial, L2, ``C``) on the heads' own input: the pooled
state after the heads' LayerNorm (its affine part still the identity), standardized per
feature as ``linear_probe.py`` does. The standardization is folded into each head's linear
layer, so the module is unchanged: ``W' = W / sd``, ``b' = b - W' @ mean``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

PROBE_C = 0.1
"""Inverse L2 strength of the regression: ``benchmarks/linear_probe.py``'s setting."""


def probe_features(
    clf: Any, seqs: Sequence[Sequence[int]], pad_id: int, autocast: bool, batch_size: int = 16
) -> Any:
    """The heads' input (pooled state after their LayerNorm) for every sequence, in order:
    the frozen body's before training (LP-FT), the fine-tuned one's after (``--head-refit``)."""
    import torch

    from bizztune.models.heads import EVAL_BATCH_TOKENS, collate, length_batches
    from bizztune.trainers.head.precision import mixed_precision

    device = next(clf.heads.parameters()).device
    n_fields = len(clf.spec.fields)
    shape = (len(seqs), n_fields, clf.spec.feature_size)
    feats = torch.empty(shape if clf.spec.pooling == "attn" else shape[::2])
    was_training = clf.training
    clf.eval()
    with torch.inference_mode():
        for idx in length_batches([len(s) for s in seqs], batch_size, EVAL_BATCH_TOKENS):
            ids, mask = collate([seqs[i] for i in idx], pad_id)
            ids, mask = ids.to(device), mask.to(device)
            with mixed_precision(clf.body, device.type, autocast):
                pooled = clf.pooled(ids, mask)
            # attn pooling: one state per field (before training every query reads the mean)
            feats[idx] = clf.heads.features(pooled).cpu()
    clf.train(was_training)
    return feats


def fit_probe_heads(
    clf: Any,
    seqs: Sequence[Sequence[int]],
    y: dict[str, Any],
    pad_id: int,
    autocast: bool,
    c: float = PROBE_C,
) -> dict[str, Any]:
    """Set every field head to a logistic regression on the training states; returns what to
    record (seconds, the probe's training accuracy per field)."""
    t0 = time.perf_counter()
    info = fit_heads(clf, probe_features(clf, seqs, pad_id, autocast), y, c)
    return {"seconds": round(time.perf_counter() - t0, 1), **info}


def fit_heads(clf: Any, feats: Any, y: dict[str, Any], c: float = PROBE_C) -> dict[str, Any]:
    """Set every field head to a logistic regression on ``feats`` (``probe_features``' rows,
    one per training ticket; with ``attn`` pooling each field's own state); returns the
    regression's training accuracy per field and C."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    acc: dict[str, float] = {}
    for i, field in enumerate(clf.spec.fields):
        x = (feats[:, i] if feats.dim() == 3 else feats).double().numpy()
        mean, sd = x.mean(axis=0), x.std(axis=0) + 1e-6
        z = (x - mean) / sd
        target = y[field.name].cpu().numpy()
        present = np.unique(target)
        n = len(field.labels)
        w = np.zeros((n, x.shape[1]))
        b = np.full(n, -30.0)  # a label the training data never shows: (almost) never answered
        if len(present) < 2:  # one label only: nothing to regress
            b[present] = 0.0
            acc[field.name] = 1.0
            _set(clf.heads.out[field.name], w, b)
            continue
        reg = LogisticRegression(C=c, max_iter=3000).fit(z, target)
        acc[field.name] = round(float(reg.score(z, target)), 4)
        coef, icpt = reg.coef_, reg.intercept_
        if len(present) == 2:  # scikit-learn's binary form: one row for the second class
            coef, icpt = np.vstack([-coef / 2, coef / 2]), np.array([-icpt[0] / 2, icpt[0] / 2])
        w[present] = coef / sd
        b[present] = icpt - (coef / sd) @ mean
        _set(clf.heads.out[field.name], w, b)
    return {"train_accuracy": acc, "c": c}


def _set(lin: Any, w: Any, b: Any) -> None:
    import torch

    with torch.no_grad():
        lin.weight.copy_(torch.as_tensor(w, dtype=lin.weight.dtype))
        lin.bias.copy_(torch.as_tensor(b, dtype=lin.bias.dtype))
