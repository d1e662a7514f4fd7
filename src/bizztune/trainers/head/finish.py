"""What the head trainer does to the heads after the last step, before they are saved.

    from bizztune.trainers.head.finish import finish_heads
    body.save_pretrained(out)                       # the LoRA weights first: see below
    record = finish_heads(clf, cfg, weights, seqs, y, pad_id, autocast)

- ``--class-weight balanced``: the training data's prior folded back into the heads
  (``balance.fold_prior``).
- ``--head-refit C``: every head refitted as a logistic regression (inverse L2 strength ``C``)
  on the fine-tuned body's states of the training tickets, folded into the heads
  (``probe.fit_probe_heads``): last-layer retraining (Kirichenko et al. 2022, "Last Layer
  Re-Training is Sufficient for Robustness to Spurious Correlations"). In the default run's
  200 steps the body learns states that tell an urgent ticket from the others, but the heads,
  trained by the same few SGD steps from zero, do not yet read them: the fine-tuned model
  answered "Hoch" for 4 of 26 "Hoch" tickets of tickets:foreign-dev, a regression on its own
  states for 20 (docs/models.md). The LoRA update is merged into the body first, so the
  states are exactly those inference computes from the saved adapter; the adapter must be
  saved before this is called.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from bizztune.trainers.config import TrainConfig


def refit_sample(n: int, seed: int, limit: int) -> list[int]:
    """Indices of ``limit`` training tickets, a seeded sample in order (all of them when there
    are no more than ``limit``): for measuring a refit on fewer tickets
    (``benchmarks/head_refit.py --tickets``). The option itself reads every training ticket:
    on 800 of the default's 1,600, urgency fell by 4.5 points on tickets:foreign-dev
    (docs/models.md)."""
    if n <= limit:
        return list(range(n))
    return sorted(random.Random(f"{seed}:refit").sample(range(n), limit))


def finish_heads(
    clf: Any,
    cfg: TrainConfig,
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
        from bizztune.trainers.head.probe import fit_probe_heads

        merge = getattr(clf.body, "merge_adapter", None)
        if merge is not None:  # a PEFT body: its states as inference will compute them
            merge()
        fit = fit_probe_heads(clf, seqs, y, pad_id, autocast, c=cfg.head_refit)
        out["head_refit"] = {**fit, "tickets": len(seqs)}
    return out
