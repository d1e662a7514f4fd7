"""Nested, stratified subsets of a train split: the training sizes of a learning curve.

    from bizztune.data.subsets import nested_order, write_subset
    order = nested_order(strata, seed=0)      # item indices; order[:n] is the size-n subset
    write_subset(split_dir, out_dir, task, n=100, seed=0)

``nested_order`` puts the items of a train split in one seeded order such that every prefix
is a stratified sample: items are shuffled within their stratum (their label combination),
then the strata take turns, each next item going to the stratum furthest below its share of
the prefix so far (``k * N_s / N - count_s``; ties broken by a seeded draw). So the subset of
100 is inside the subset of 200, and each stratum's count in a subset of n stays within about
one item of ``n * N_s / N`` (``quota_gap`` measures it). The same split and seed give the same
order, whatever else the run does; the training seeds of a curve do not move it.

``write_subset`` writes a split folder the trainers and fittable baselines read: ``train.jsonl``
(the chosen lines of the split's ``train.jsonl``, byte for byte, in the file's order, so the
subset of every item is the train split itself), ``val.jsonl`` (copied: validation loss) and
``subset.json`` (size, seed, the ids and the count per stratum).
"""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import Task
from bizztune.data.io import load_examples, write_text_atomic

SUBSET_SCHEMA_VERSION = 1


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


def quota_gap(strata: Sequence[tuple[str, ...]], subset: Sequence[int]) -> float:
    """The largest |count_s - n * N_s / N| over strata: 0 for a perfectly proportional
    subset of n items, below 1 for one as close as whole items allow."""
    whole = Counter(strata)
    part = Counter(strata[i] for i in subset)
    n, total = len(subset), len(strata)
    return max(abs(part[s] - n * c / total) for s, c in whole.items())


def strata_of(task: Task, split_dir: Path) -> tuple[list[str], list[tuple[str, ...]]]:
    """The ids of a split's train items and their label combination (every task field)."""
    train = load_examples(split_dir, task, "train")
    return [e.id for e in train], [tuple(e.labels[f] for f in task.schema.names) for e in train]


def write_subset(split_dir: Path, out: Path, task: Task, n: int, seed: int) -> dict[str, Any]:
    """The size-``n`` subset of ``split_dir``'s train split as a split folder in ``out``."""
    ids, strata = strata_of(task, split_dir)
    if n > len(ids):
        raise ConfigError(
            f"train.sizes: {n} is more than the {len(ids)} tickets of the train split; "
            f"use sizes up to {len(ids)}"
        )
    chosen = set(nested_order(strata, seed)[:n])
    lines = [x for x in (split_dir / "train.jsonl").read_text("utf-8").splitlines() if x.strip()]
    if len(lines) != len(ids):  # load_examples reads the same file: one item per line
        raise ConfigError(f"{split_dir / 'train.jsonl'}: expected one item per line")
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "train.jsonl", "".join(lines[i] + "\n" for i in sorted(chosen)))
    if (split_dir / "val.jsonl").is_file():
        shutil.copyfile(split_dir / "val.jsonl", out / "val.jsonl")
    counts = Counter(" / ".join(strata[i]) for i in chosen)
    info = {
        "schema_version": SUBSET_SCHEMA_VERSION,
        "n": n,
        "of": len(ids),
        "seed": seed,
        "fields": list(task.schema.names),
        "quota_gap": round(quota_gap(strata, sorted(chosen)), 4),
        "strata": dict(sorted(counts.items())),
        "ids": [ids[i] for i in sorted(chosen)],
    }
    write_text_atomic(out / "subset.json", json.dumps(info, indent=2, ensure_ascii=False))
    return info
