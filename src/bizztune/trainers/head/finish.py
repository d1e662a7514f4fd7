"""What the head trainer does to the heads after the last step, before they are saved.

    from bizztune.trainers.head.finish import finish_heads
    body.save_pretrained(out)                       # the LoRA weights first: see below
    record = finish_heads(clf, cfg, weights, seqs, y, pad_id, autocast)

- ``class_weight: balanced``: the training data's prior folded back into the heads
  (``balance.fold_prior``).
- ``head_refit: C``: every head refitted as a logistic regression (inverse L2 strength ``C``)
  on the fine-tuned body's states of the training tickets (``head_refit_tickets: N``: a
  seeded sample of N), folded into the heads (``fit_heads``), and with
  ``head_refit_mix: a`` averaged with the heads as trained: ``(1 - a) * trained + a *
  refitted``, weights and biases, which is the same as averaging their logits. Last-layer
  retraining (Kirichenko et al. 2022, "Last Layer Re-Training is Sufficient for Robustness to
  Spurious Correlations"). In the default run's
  200 steps the body learns states that tell an urgent ticket from the others, but the heads,
  trained by the same few SGD steps from zero, do not yet read them: the fine-tuned model
  answered "Hoch" for 4 of the first 26 "Hoch" tickets of tickets:foreign-dev, a regression on
  its own states for 20 (docs/research/). The LoRA update is merged into the body first, so the
  states are exactly those inference computes from the saved adapter; the adapter must be
  saved before this is called. The run's head recipe refits on 800 tickets and mixes half and
  half: over three seeds on tickets:foreign-dev (396 tickets), urgency +4.1 [+1.3, +6.7] and
  joint +4.8 [+2.4, +7.2] points over the heads as trained, category and subcategory level;
  the refitted heads alone gained less (joint +2.6) and lost on category (docs/research/).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bizztune.trainers.config import HeadConfig

if TYPE_CHECKING:
    import torch


def refit_sample(n: int, seed: int, limit: int | None) -> list[int]:
    """Indices of ``limit`` training tickets, a seeded sample in order (all of them when there
    are no more than ``limit``, or ``limit`` is None)."""
    if limit is None or n <= limit:
        return list(range(n))
    return sorted(random.Random(f"{seed}:refit").sample(range(n), limit))


def refit_heads(
    clf: Any,
    seqs: Sequence[Sequence[int]],
    y: dict[str, Any],
    pad_id: int,
    autocast: bool,
    *,
    c: float,
    mix: float = 1.0,
    tickets: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Refit every head on the body's states of ``tickets`` of the sequences (a seeded sample;
    None: all), then keep ``mix`` of the refitted head and ``1 - mix`` of the head as it was;
    returns what to record. The body's states are read as they are: merge a LoRA update
    first (``finish_heads`` does)."""
    import time

    t0 = time.perf_counter()
    idx = refit_sample(len(seqs), seed, tickets)
    feats = probe_features(clf, [seqs[i] for i in idx], pad_id, autocast)
    info = refit_on_features(clf, feats, {k: v[idx] for k, v in y.items()}, c=c, mix=mix)
    return {"seconds": round(time.perf_counter() - t0, 1), **info, "tickets": len(idx)}


def refit_on_features(
    clf: Any, feats: Any, y: dict[str, Any], *, c: float, mix: float = 1.0
) -> dict[str, Any]:
    """``refit_heads`` on states already computed (``probe_features``): every head a
    regression on ``feats``, then ``mix`` of it and ``1 - mix`` of the head as it was."""
    import torch

    before = {
        n: (h.weight.detach().clone(), h.bias.detach().clone()) for n, h in clf.heads.out.items()
    }
    info = fit_heads(clf, feats, y, c)
    if mix < 1.0:
        with torch.no_grad():
            for name, head in clf.heads.out.items():
                w, b = before[name]
                head.weight.mul_(mix).add_(w, alpha=1.0 - mix)
                head.bias.mul_(mix).add_(b, alpha=1.0 - mix)
    return {**info, "mix": mix}


def finish_heads(
    clf: Any,
    cfg: HeadConfig,
    weights: dict[str, Any] | None,
    seqs: Sequence[Sequence[int]],
    y: dict[str, Any],
    pad_id: int,
    autocast: bool,
) -> dict[str, Any]:
    """Apply the options above to ``clf``'s heads in place; returns what to record
    (``class_weight``, ``head_refit``), empty when the heads are left as trained."""
    out: dict[str, Any] = {}
    if weights is not None:
        from bizztune.trainers.head.balance import fold_prior

        out["class_weight"] = {"how": "balanced", "prior_shift": fold_prior(clf, weights)}
    if cfg.head_refit is not None:
        merge = getattr(clf.body, "merge_adapter", None)
        if merge is not None:  # a PEFT body: its states as inference will compute them
            merge()
        c, mix, tickets = cfg.head_refit, cfg.head_refit_mix, cfg.head_refit_tickets
        out["head_refit"] = refit_heads(
            clf, seqs, y, pad_id, autocast, c=c, mix=mix, tickets=tickets, seed=cfg.seed
        )
    return out


def probe_features(
    clf: Any, seqs: Sequence[Sequence[int]], pad_id: int, autocast: bool, batch_size: int = 16
) -> torch.Tensor:
    """The heads' input (pooled state after their LayerNorm) for every sequence, in order."""
    import torch

    from bizztune.models.heads import EVAL_BATCH_TOKENS, collate, length_batches
    from bizztune.trainers.head.precision import mixed_precision

    device = next(clf.heads.parameters()).device
    feats = torch.empty((len(seqs), clf.spec.hidden_size))
    was_training = clf.training
    clf.eval()
    with torch.inference_mode():
        for idx in length_batches([len(s) for s in seqs], batch_size, EVAL_BATCH_TOKENS):
            ids, mask = collate([seqs[i] for i in idx], pad_id)
            ids, mask = ids.to(device), mask.to(device)
            with mixed_precision(clf.body, device.type, autocast):
                pooled = clf.pooled(ids, mask)
            feats[idx] = clf.heads.features(pooled).cpu()
    clf.train(was_training)
    return feats


def fit_heads(clf: Any, feats: Any, y: dict[str, Any], c: float) -> dict[str, Any]:
    """Set every field head to a multinomial logistic regression (L2, ``c``) on ``feats``
    (``probe_features``' rows, one per ticket), each feature standardized and the
    standardization folded into the head's linear layer (``W' = W / sd``, ``b' = b - W' @
    mean``); returns the regression's training accuracy per field and C."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    acc: dict[str, float] = {}
    for field in clf.spec.fields:
        x = feats.double().numpy()
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
