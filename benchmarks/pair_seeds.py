"""Two recipes, each trained with one or more seeds and scored on the same items, paired.

    python benchmarks/pair_seeds.py runs/a-s0,runs/a-s1,runs/a-s2 runs/b-s0,runs/b-s1,runs/b-s2
    python benchmarks/pair_seeds.py runs/tfidf-dev runs/d0/predictions.jsonl,runs/d1 --fields urgency

Each argument is a comma-separated list of ``bizztune eval`` run folders (or their
``predictions.jsonl``), one per training seed of a recipe. Per item the share of seeds that
got it right, recipe B minus recipe A, averaged over the items every run scored, with a 95%
percentile interval from resampling the items (``eval.seeds.paired_over_seeds``: the seeds are
held fixed). A recipe with one seed, or a model without seeds (TF-IDF), is a list of one.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

FIELDS = ("category", "subcategory", "urgency", "joint")


def load(path: Path) -> dict[str, Any]:
    """A run in the shape ``eval.seeds.correct_matrix`` reads, from a run folder or its
    predictions.jsonl (``eval.rundir.read_predictions``: the last record of an id wins)."""
    from bizztune.eval.rundir import read_predictions

    p = path / "predictions.jsonl" if path.is_dir() else path
    if not p.is_file():
        raise SystemExit(f"{path}: no predictions.jsonl")
    return {"predictions": read_predictions(p)}


def main() -> None:
    from bizztune.eval.seeds import correct_matrix, paired_over_seeds

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", help="recipe A: run folders or predictions.jsonl, comma-separated")
    ap.add_argument("b", help="recipe B: the same")
    ap.add_argument("--fields", default=",".join(FIELDS))
    args = ap.parse_args()
    a = [load(Path(p)) for p in args.a.split(",")]
    b = [load(Path(p)) for p in args.b.split(",")]
    n = correct_matrix(a + b, "joint").shape[1]  # the items every run scored
    if not n:
        raise SystemExit("the two recipes share no scored item")
    print(f"A: {len(a)} run(s), B: {len(b)} run(s), {n} shared items; B − A in pp, "
          "[95% bootstrap over items], per item the mean over a recipe's seeds")  # fmt: skip
    print("| field | A % | B % | B − A pp [95% CI] |")
    print("|---|---|---|---|")
    for f in args.fields.split(","):
        both = correct_matrix(a + b, f)
        x, y = both[: len(a)], both[len(a) :]
        d, lo, hi = paired_over_seeds(x, y)
        print(f"| {f} | {100 * x.mean():.1f} | {100 * y.mean():.1f} | "
              f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] |")  # fmt: skip


if __name__ == "__main__":
    main()
