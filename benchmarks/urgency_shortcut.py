"""Does a model read what a generated ticket says about impact, or only which problem it is?

    python benchmarks/urgency_shortcut.py runs/d0/eval/finetuned runs/d0/eval/tfidf --n 2000
    python benchmarks/urgency_shortcut.py runs/x/eval/test --n 2000 --option default_share=0.3333
    python benchmarks/urgency_shortcut.py r0.json --variants trained,layer0:0.01:alone

Each argument is a ``bizztune eval`` run folder (or its predictions.jsonl) scored on tickets
of the offline generator, or a ``--json`` file of ``benchmarks/head_readout.py`` /
``head_refit.py`` (its ``test`` set; one row per variant, or those named in ``--variants``). The generator is run again with ``--n``, ``--seed`` and
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
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of k right out of n (scipy's, without continuity correction)."""
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


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


Scores = dict[str, tuple[str | None, bool]]


def scored(runs: list[str], variants: str | None) -> Iterator[tuple[str, Scores]]:
    """(name, ticket id -> (gold urgency if the file has it, urgency right)) per run folder,
    or per variant of a --json file."""
    from bizztune.eval.rundir import read_predictions

    for run in runs:
        path = Path(run)
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            wanted = variants.split(",") if variants else list(data["variants"])
            for v in wanted:
                if v not in data["variants"]:
                    raise SystemExit(
                        f"{run}: no variant {v!r}; it has {', '.join(data['variants'])}"
                    )
                test = data["variants"][v]["sets"]["test"]["correct"]
                yield f"{path.name} {v}", {pid: (None, bool(c[2])) for pid, c in test.items()}
            continue
        preds = read_predictions(path / "predictions.jsonl" if path.is_dir() else path)
        yield (
            run,
            {
                pid: (
                    rec.get("gold", {}).get("urgency"),
                    bool(rec.get("correct", {}).get("urgency")),
                )
                for pid, rec in preds.items()
            },
        )


def main() -> None:
    from bizztune.tasks import load_task
    from bizztune.tasks.tickets.generator import generate_with_plans

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="eval run folders or predictions.jsonl")
    ap.add_argument("--n", type=int, default=2000, help="tickets the data was generated with")
    ap.add_argument("--seed", type=int, default=0, help="the generator's seed")
    ap.add_argument("--option", action="append", default=[], help="generator option KEY=VALUE")
    ap.add_argument("--variants", help="of a --json file: the variants to show, comma-separated")
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
    for name, right_of in scored(args.runs, args.variants):
        tally = {g: [0, 0] for g in order}
        for pid, (gold, right) in right_of.items():
            if pid not in plans:
                raise SystemExit(f"{name}: ticket {pid} is not among the {args.n} generated ones")
            row, plan = plans[pid]
            if gold is not None and gold != row["urgency"]:
                raise SystemExit(f"{name}: ticket {pid} has another label than the generator's")
            for g in [*groups(plan), "all"]:
                tally[g][0] += 1
                tally[g][1] += right
        cells = []
        for g in order:
            n, k = tally[g]
            if not n:
                cells.append("–")
                continue
            lo, hi = wilson(k, n)
            cells.append(f"{k}/{n} = {100 * k / n:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
