"""A seeded order of items whose every prefix is a stratified sample: how the folds of the
Decision's cross-fitting are dealt (``data/folds.py``).

    from bizztune.data.subsets import nested_order
    order = nested_order(strata, seed=0)      # item indices; order[:n] is stratified

Items are shuffled within their stratum (their label combination), then the strata take turns,
each next item going to the stratum furthest below its share of the prefix so far
(``k * N_s / N - count_s``; ties broken by a seeded draw), so each stratum's count in a prefix
of n stays within one item of ``n * N_s / N``. The same strata and seed give the same order.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence


def nested_order(strata: Sequence[tuple[str, ...]], seed: int) -> list[int]:
    """Every index of ``strata`` once, in an order whose every prefix is stratified."""
    rng = random.Random(f"nested-subsets:{seed}")
    members: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, key in enumerate(strata):
        members[key].append(i)
    keys = sorted(members)
    for key in keys:
        rng.shuffle(members[key])
    tiebreak = {key: rng.random() for key in keys}
    total = len(strata)
    taken = dict.fromkeys(keys, 0)
    order: list[int] = []
    for k in range(1, total + 1):
        open_keys = [key for key in keys if taken[key] < len(members[key])]
        key = max(
            open_keys,
            key=lambda s: (k * len(members[s]) / total - taken[s], tiebreak[s]),
        )
        order.append(members[key][taken[key]])
        taken[key] += 1
    return order
