"""k stratified folds of your own tickets, for cross-fitting: every ticket of a split's train
and validation parts is held out once, by models trained on the others.

    info = write_folds(split_dir, out, task, k=5, seed=0, keep_in_train=generated_ids)
    # out/fold0/{train,val,test}.jsonl ... out/fold4/..., out/folds.json

The tickets are put in one seeded, stratified order (``subsets.nested_order``, by every task
field's label) and dealt to the folds in turn, so each fold holds each label combination within
about one ticket of its share. Fold i's ``test.jsonl`` is its own tickets (the ones scored),
``train.jsonl`` every other fold's and the ``keep_in_train`` rows (generated tickets added to
train only, which are never held out), ``val.jsonl`` its own tickets again (a trainer reports
its validation loss on them; nothing is chosen by it). Lines are copied byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import Task
from bizztune.data.io import load_examples, write_text_atomic
from bizztune.data.subsets import nested_order

FOLDS_SCHEMA_VERSION = 1


def _lines(path: Path) -> dict[str, str]:
    """id -> the raw line, for a JSON Lines split file."""
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out[str(json.loads(line)["id"])] = line
    return out


def write_folds(
    split_dir: Path,
    out: Path,
    task: Task,
    k: int,
    seed: int,
    keep_in_train: Collection[str] = (),
) -> dict[str, Any]:
    """The k folds of ``split_dir``'s train and val tickets (module docstring) in ``out``."""
    pool = [
        e
        for part in ("train", "val")
        for e in (
            load_examples(split_dir, task, part) if (split_dir / f"{part}.jsonl").is_file() else []
        )
        if e.id not in keep_in_train
    ]
    if len(pool) < k:
        raise ConfigError(
            f"decision.folds: {k} folds need at least {k} of your own train and val tickets, "
            f"not {len(pool)}"
        )
    lines = {**_lines(split_dir / "train.jsonl"), **_lines(split_dir / "val.jsonl")}
    strata = [tuple(e.labels[f] for f in task.schema.names) for e in pool]
    fold_of = {pool[i].id: j % k for j, i in enumerate(nested_order(strata, seed))}
    extra = [line for i, line in _lines(split_dir / "train.jsonl").items() if i in keep_in_train]
    sizes = []
    for f in range(k):
        held = [lines[e.id] for e in pool if fold_of[e.id] == f]
        rest = [lines[e.id] for e in pool if fold_of[e.id] != f] + extra
        d = out / f"fold{f}"
        d.mkdir(parents=True, exist_ok=True)
        write_text_atomic(d / "train.jsonl", "".join(x + "\n" for x in rest))
        write_text_atomic(d / "val.jsonl", "".join(x + "\n" for x in held))
        write_text_atomic(d / "test.jsonl", "".join(x + "\n" for x in held))
        sizes.append(len(held))
    info = {
        "schema_version": FOLDS_SCHEMA_VERSION,
        "k": k,
        "seed": seed,
        "tickets": len(pool),
        "kept_in_train": len(extra),
        "sizes": sizes,
        "fold_of": fold_of,
    }
    write_text_atomic(out / "folds.json", json.dumps(info, indent=2, ensure_ascii=False))
    return info
