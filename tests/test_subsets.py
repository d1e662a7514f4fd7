"""The seeded, stratified order the Decision's folds are dealt in (``data/subsets.py``)."""

from __future__ import annotations

from collections import Counter

import numpy as np


def test_nested_order_is_stratified_at_every_prefix_and_seeded() -> None:
    from bizztune.data.subsets import nested_order

    rng = np.random.default_rng(3)
    labels = [("a",)] * 50 + [("b",)] * 30 + [("c",)] * 15 + [("d",)] * 5
    strata = [labels[i] for i in rng.permutation(len(labels))]
    order = nested_order(strata, seed=0)
    assert sorted(order) == list(range(len(strata)))
    share = Counter(strata)
    for n in range(1, len(strata) + 1):
        got = Counter(strata[i] for i in order[:n])
        for s, c in share.items():
            assert abs(got[s] - n * c / len(strata)) < 1, (n, s, got[s])
    assert nested_order(strata, seed=0) == order
    assert nested_order(strata, seed=1) != order
