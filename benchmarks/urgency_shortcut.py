"""Does a model read what a generated ticket says about impact, or only which problem it is?

    python benchmarks/urgency_shortcut.py runs/d0/eval/finetuned runs/d0/eval/tfidf --n 2000
    python benchmarks/urgency_shortcut.py runs/x/eval/test --n 2000 --option default_share=0.3333

Each argument is a ``bizztune eval`` run folder (or its predictions.jsonl) scored on tickets
of the offline generator. The generator is run again with ``--n``, ``--seed`` and
``--option`` to get every ticket's plan (its rows must match the scored ones, which is
checked), and urgency accuracy is split by how the ticket got its level:

- ``at the problem's level``: the urgency is the problem's own default (a boot loop is Hoch),
  with or without a situation sentence that agrees;
- ``moved by a situation``: a sentence about the customer's situation (or a deadline's
  distance) puts it at another level: only a model that reads it gets these right;
- and, across both, the tickets with an explicit urgent or calm word.

Wilson 95% intervals; a model that reads only the problem is near chance on the moved ones.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    p = k / n
    d = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return mid - half, mid + half


def groups(plan: Any) -> list[str]:
    out = []
    if plan.kind:
        out.append("off-topic mail")
    elif plan.urgency == plan.default:
        out.append("at the problem's level")
    else:
        out.append("moved by a situation")
    if plan.cue:
        out.append(f"with a {plan.cue} word")
    return out


def main() -> None:
    from bizztune.eval.rundir import read_predictions
    from bizztune.tasks import load_task
    from bizztune.tasks.tickets.generator import generate_with_plans

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="eval run folders or predictions.jsonl")
    ap.add_argument("--n", type=int, default=2000, help="tickets the data was generated with")
    ap.add_argument("--seed", type=int, default=0, help="the generator's seed")
    ap.add_argument("--option", action="append", default=[], help="generator option KEY=VALUE")
    args = ap.parse_args()
    options = dict(o.split("=", 1) for o in args.option)
    task = load_task("tickets")
    plans = {
        row["id"]: (row, plan)
        for row, plan in generate_with_plans(task, args.n, args.seed, **options)
    }
    order = ["at the problem's level", "moved by a situation", "off-topic mail",
             "with a urgent word", "with a calm word", "all"]  # fmt: skip
    print(f"generator: n={args.n} seed={args.seed} options={options or 'none'}")
    print("| run | " + " | ".join(order) + " |")
    print("|---|" + "---|" * len(order))
    for run in args.runs:
        path = Path(run)
        preds = read_predictions(path / "predictions.jsonl" if path.is_dir() else path)
        tally = {g: [0, 0] for g in order}
        for pid, rec in preds.items():
            if pid not in plans:
                raise SystemExit(f"{run}: ticket {pid} is not among the {args.n} generated ones")
            row, plan = plans[pid]
            if rec.get("gold", {}).get("urgency") != row["urgency"]:
                raise SystemExit(f"{run}: ticket {pid} has another label than the generator's")
            right = bool(rec.get("correct", {}).get("urgency"))
            for g in [*groups(plan), "all"]:
                tally[g][0] += 1
                tally[g][1] += right
        cells = []
        for g in order:
            n, k = tally[g]
            lo, hi = wilson(k, n)
            cells.append(
                f"{k}/{n} = {100 * k / n:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]" if n else "–"
            )
        print(f"| {run} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
