"""Refit a head trainer's heads on its own fine-tuned states, and score the variants on every set.

    python benchmarks/head_refit.py runs/default/train --data runs/default/data/split
    python benchmarks/head_refit.py ADAPTER --data SPLIT --seed 1 --json s1.json \\
        --variants 800:0.5,800:1,1600:0.5,1600:1
    python benchmarks/head_refit.py --pair s0.json s1.json s2.json   # over seeds, paired

The adapter's heads as trained are scored first (the baseline, in the same run). Then, per
variant ``TICKETS:MIX`` (``--variants``; ``0`` tickets: all), every head is refitted as a
logistic regression (inverse L2 strength ``--c``) on the states the served model (base +
merged LoRA) computes for a seeded sample of that many training tickets of ``--data`` (by
``--seed``: the seed the adapter was trained with), and served as ``(1 - MIX)`` of the head as
trained plus ``MIX`` of the refitted one. That is what ``bizztune train --head-refit C
--head-refit-tickets N --head-refit-mix MIX`` does after its last step
(``trainers/head/finish.py``: the same ``refit_on_features``); the states are computed once
and shared by the variants. Give it an adapter trained without the refit: it refits the heads
it finds. Sets: the split's test split, ``tickets:foreign-dev`` (where choices are made) and
``tickets:foreign`` (reported, never chosen on). Prints per-field and joint accuracy with the
CPU model and flags; ``--json`` writes them with every item's correctness per field.

``--pair`` reads such files, one per training seed of the same recipe, and prints every
variant against the heads as trained: per item the mean over seeds, paired, with a bootstrap
over the items (``eval.seeds.paired_over_seeds``). ``--baseline SET=RUN`` (repeatable) also
prints every variant against another model's ``bizztune eval`` run on that set, e.g.
``tickets:foreign=runs/tfidf-foreign`` (``benchmarks/pair_seeds.py`` compares eval runs).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bizztune.core.machine import cpu_line

SETS = ("test", "tickets:foreign-dev", "tickets:foreign")
FIELDS_AND_JOINT = ("category", "subcategory", "urgency", "joint")


def score(clf: Any, feats: dict[str, Any], sets: dict[str, list[Any]]) -> dict[str, Any]:
    """Each set's accuracy and per-item correctness, the heads applied to stored states."""
    import torch

    from bizztune.models.heads import answer_labels, label_probs

    names = [f.name for f in clf.spec.fields]
    out: dict[str, Any] = {}
    with torch.no_grad():
        for name, exs in sets.items():
            logits = {n: h(feats[name]) for n, h in clf.heads.out.items()}
            probs = label_probs(clf.spec, logits, names)
            ok = {
                e.id: [answer_labels(clf.spec, p, names)[n] == e.labels[n] for n in names]
                for p, e in zip(probs, exs, strict=True)
            }
            acc = {n: sum(v[i] for v in ok.values()) / len(ok) for i, n in enumerate(names)}
            acc["joint"] = sum(all(v) for v in ok.values()) / len(ok)
            out[name] = {"accuracy": acc, "correct": ok}
    return out


def load_sets(task: Any, split: Path) -> tuple[list[Any], dict[str, list[Any]]]:
    """The split's training tickets, and every set of ``SETS`` (``test``: the split's own)."""
    from bizztune.data.io import load_examples
    from bizztune.data.sources import resolve_data

    sets = {
        s: load_examples(split / "test.jsonl" if s == "test" else resolve_data(task, s), task)
        for s in SETS
    }
    return load_examples(split / "train.jsonl", task), sets


def refit(args: argparse.Namespace) -> None:
    from bizztune.models.heads import load_head_classifier
    from bizztune.tasks import load_task
    from bizztune.trainers.head.finish import refit_on_features, refit_sample
    from bizztune.trainers.head.loop import encode, targets
    from bizztune.trainers.head.probe import probe_features

    print(cpu_line())
    variants = [(int(t), float(m)) for t, m in (v.split(":") for v in args.variants.split(","))]
    task = load_task("tickets")
    clf, tok = load_head_classifier(args.model, args.adapter, device="cpu")
    pad = int(tok.pad_token_id or 0)
    train, sets = load_sets(task, args.data)
    t0 = time.perf_counter()
    feats = {}
    for name, exs in {"train": train, **sets}.items():
        seqs, _ = encode(task, tok, exs, clf.spec.style, clf.spec.max_length)
        feats[name] = probe_features(clf, seqs, pad, autocast=True)
    states_s = time.perf_counter() - t0
    print(f"states of {sum(len(v) for v in feats.values())} tickets: {states_s:.0f} s")
    trained = {n: {k: v.detach().clone() for k, v in h.state_dict().items()}
               for n, h in clf.heads.out.items()}  # fmt: skip
    y = targets(task, train)
    results: dict[str, Any] = {"trained": {"sets": score(clf, feats, sets)}}
    for tickets, mix in variants:
        for n, h in clf.heads.out.items():
            h.load_state_dict(trained[n])
        idx = refit_sample(len(train), args.seed, tickets or None)
        t1 = time.perf_counter()
        fit = refit_on_features(
            clf, feats["train"][idx], {k: v[idx] for k, v in y.items()}, c=args.c, mix=mix
        )
        results[f"{len(idx)}:{mix:g}"] = {
            "fit": {**fit, "tickets": len(idx), "fit_s": round(time.perf_counter() - t1, 1)},
            "sets": score(clf, feats, sets),
        }
    print(f"C = {args.c}; variant = training tickets refitted on : share of the refitted heads")
    print("| variant | " + " | ".join(f"{s}: cat / sub / urg / joint" for s in SETS) + " |")
    print("|---|" + "---|" * len(SETS))
    for name, r in results.items():
        cells = [
            " / ".join(f"{100 * v:.1f}" for v in r["sets"][s]["accuracy"].values()) for s in SETS
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        record = {"cpu": cpu_line(), "adapter": str(args.adapter), "seed": args.seed,
                  "c": args.c, "states_s": round(states_s, 1), "variants": results}  # fmt: skip
        args.json.write_text(json.dumps(record))


def pair(paths: list[Path], baselines: list[str]) -> None:
    from pair_seeds import load

    from bizztune.eval.seeds import correct_matrix, paired_over_seeds

    runs = [json.loads(p.read_text()) for p in paths]
    print(f"{len(runs)} seeds: {', '.join(str(r['seed']) for r in runs)}; each variant minus "
          "the heads as trained, pp [95% bootstrap over items], per item the mean over seeds")  # fmt: skip

    def seeds(variant: str, s: str) -> list[dict[str, Any]]:
        """Each seed's outcomes on set ``s`` in the shape ``correct_matrix`` reads."""
        fields = FIELDS_AND_JOINT[:-1]
        return [
            {"predictions": {i: {"correct": dict(zip(fields, ok, strict=True))}
                             for i, ok in r["variants"][variant]["sets"][s]["correct"].items()}}
            for r in runs
        ]  # fmt: skip

    def diff(a: list[dict[str, Any]], b: list[dict[str, Any]], f: str) -> str:
        both = correct_matrix(a + b, f)
        d, lo, hi = paired_over_seeds(both[: len(a)], both[len(a) :])
        return f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"

    print("| variant | set | " + " | ".join(FIELDS_AND_JOINT) + " |")
    print("|---|---|" + "---|" * len(FIELDS_AND_JOINT))
    for variant in runs[0]["variants"]:
        if variant == "trained":
            continue
        for s in SETS:
            cells = [diff(seeds("trained", s), seeds(variant, s), f) for f in FIELDS_AND_JOINT]
            print(f"| {variant} | {s} | " + " | ".join(cells) + " |")
    for spec in baselines:
        s, _, run = spec.partition("=")
        base = [load(Path(run))]
        print(f"\nagainst {run} on {s} (variant minus it, pp):")
        print("| variant | " + " | ".join(FIELDS_AND_JOINT) + " |")
        print("|---|" + "---|" * len(FIELDS_AND_JOINT))
        for variant in runs[0]["variants"]:
            cells = [diff(base, seeds(variant, s), f) for f in FIELDS_AND_JOINT]
            print(f"| {variant} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("adapter", type=Path, nargs="?", help="a head trainer's output folder")
    ap.add_argument("--data", type=Path, help="the split it was trained on")
    ap.add_argument("--model", default="gemma3-270m")
    ap.add_argument("--c", type=float, default=0.01)
    ap.add_argument("--variants", default="800:0.5", help="TICKETS:MIX,... (0 tickets: all)")
    ap.add_argument("--seed", type=int, default=0, help="the adapter's training seed")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--pair", type=Path, nargs="+", help="--json files, one per seed")
    ap.add_argument("--baseline", action="append", default=[], metavar="SET=RUN")
    args = ap.parse_args()
    if args.pair:
        pair(args.pair, args.baseline)
    elif args.adapter and args.data:
        refit(args)
    else:
        ap.error("give ADAPTER --data SPLIT, or --pair FILE...")


if __name__ == "__main__":
    main()
