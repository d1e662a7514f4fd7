"""Refit a head trainer's heads on its own fine-tuned states, and score both on every set.

    python benchmarks/head_refit.py runs/default/train --data runs/default/data/split
    python benchmarks/head_refit.py ADAPTER --data SPLIT --c 0.01 --tickets 0 --json out.json
    python benchmarks/head_refit.py ADAPTER --data SPLIT --tickets 800 --mix 0.5 --seed 0

The adapter's heads as trained are scored first (the baseline, in the same run), then every
head is refitted as a logistic regression (inverse L2 strength ``--c``) on the states the
served model (base + merged LoRA) computes for the training tickets of ``--data`` (all of
them with ``--tickets 0``, else a seeded sample of that many, by ``--seed``: the seed the
adapter was trained with), with ``--mix a`` averaged with the heads as trained (``(1 - a) *
trained + a * refitted``), which is what ``bizztune train --head-refit C --head-refit-mix a
--head-refit-tickets N`` does after its last step (``trainers/head/finish.refit_heads``), and
scored again. Give it an adapter trained without the refit: it refits the heads it finds. Sets: the split's test split, ``tickets:foreign-dev`` (where choices are made)
and ``tickets:foreign`` (reported, never chosen on). Prints per-field and joint accuracy with
the CPU model and flags; ``--json`` writes them with every item's correctness per field, for
paired comparisons over seeds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bizztune.core.machine import cpu_line

SETS = ("test", "tickets:foreign-dev", "tickets:foreign")


def score(clf: Any, tok: Any, task: Any, sets: dict[str, list[Any]]) -> dict[str, Any]:
    from bizztune.models.heads import answer_labels, label_probs, predict_logits
    from bizztune.trainers.head.loop import encode

    names = [f.name for f in clf.spec.fields]
    pad = int(tok.pad_token_id or 0)
    out: dict[str, Any] = {}
    for name, exs in sets.items():
        seqs, _ = encode(task, tok, exs, clf.spec.style, clf.spec.max_length)
        probs = label_probs(clf.spec, predict_logits(clf, seqs, pad), names)
        ok = {
            e.id: [answer_labels(clf.spec, p, names)[n] == e.labels[n] for n in names]
            for p, e in zip(probs, exs, strict=True)
        }
        acc = {n: sum(v[i] for v in ok.values()) / len(ok) for i, n in enumerate(names)}
        acc["joint"] = sum(all(v) for v in ok.values()) / len(ok)
        out[name] = {"accuracy": acc, "correct": ok}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("adapter", type=Path, help="a head trainer's output folder")
    ap.add_argument("--data", type=Path, required=True, help="the split it was trained on")
    ap.add_argument("--model", default="gemma3-270m")
    ap.add_argument("--c", type=float, default=0.01)
    ap.add_argument("--tickets", type=int, default=0, help="training tickets to refit on (0: all)")
    ap.add_argument("--mix", type=float, default=1.0, help="share of the refitted heads")
    ap.add_argument("--seed", type=int, default=0, help="the adapter's training seed")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from bizztune.data.io import load_examples
    from bizztune.data.sources import resolve_data
    from bizztune.models.heads import load_head_classifier
    from bizztune.tasks import load_task
    from bizztune.trainers.head.finish import refit_heads
    from bizztune.trainers.head.loop import encode, targets

    print(cpu_line())
    task = load_task("tickets")
    clf, tok = load_head_classifier(args.model, args.adapter, device="cpu")
    sets = {
        s: load_examples(args.data / "test.jsonl" if s == "test" else resolve_data(task, s), task)
        for s in SETS
    }
    train = load_examples(args.data / "train.jsonl", task)
    before = score(clf, tok, task, sets)
    t0 = time.perf_counter()
    seqs, _ = encode(task, tok, train, clf.spec.style, clf.spec.max_length)
    pad = int(tok.pad_token_id or 0)
    fit = refit_heads(clf, seqs, targets(task, train), pad, True, c=args.c, mix=args.mix,
                      tickets=args.tickets or None, seed=args.seed)  # fmt: skip
    refit_s = time.perf_counter() - t0
    after = score(clf, tok, task, sets)
    print(
        f"refit on {fit['tickets']} training tickets, C = {args.c}, mix {args.mix}: {refit_s:.0f} s"
    )
    print(
        "| set | heads as trained: cat / sub / urg / joint | refitted | refitted − trained (pp) |"
    )
    print("|---|---|---|---|")
    for s in SETS:
        a, b = before[s]["accuracy"], after[s]["accuracy"]
        fmt = " / ".join(f"{100 * a[k]:.1f}" for k in a)
        fmt2 = " / ".join(f"{100 * b[k]:.1f}" for k in b)
        diff = " / ".join(f"{100 * (b[k] - a[k]):+.1f}" for k in a)
        print(f"| {s} | {fmt} | {fmt2} | {diff} |")
    if args.json:
        record = {"cpu": cpu_line(), "c": args.c, "tickets": fit["tickets"], "fit": fit,
                  "refit_s": round(refit_s, 1), "before": before, "after": after}  # fmt: skip
        args.json.write_text(json.dumps(record))


if __name__ == "__main__":
    main()
