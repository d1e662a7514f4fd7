"""Which readout of a fine-tuned body carries each field: pooled states of several layers,
fitted as regressions on the training tickets and scored on every set.

    python benchmarks/head_readout.py runs/default/train --data runs/default/data/split
    python benchmarks/head_readout.py ADAPTER --data SPLIT --tickets 1600 --c 0.003,0.01

A head trainer's heads read the mean state of the body's last kept layer. Would another
readout of the same fine-tuned body (base + merged LoRA) tell the labels apart better? One
pass over the training tickets and the sets computes, per ticket, the mean state of the last
layer (``mean``, the heads' input), its maximum over the tokens (``max``), the mean over the
ticket's own tokens without the prompt around them (``ticket``), and the mean state after
layer k (``layerK``; ``layer0`` is the input embeddings, the words as such). Each readout, a
concatenation of such states (each LayerNorm-ed, then standardized on the training tickets),
gets one multinomial logistic regression per field (inverse L2 strength ``--c``) on a seeded
sample of ``--tickets`` training tickets (as ``--head-refit``), scored alone and averaged
half and half with the heads as trained (as ``--head-refit-mix 0.5``; the heads read
``mean``). Sets: the split's test split, ``tickets:foreign-dev`` (choices) and
``tickets:foreign`` (reported only). Prints per-field accuracy with the CPU model and flags.
Joint accuracy is left out: the regressions are per field, without the taxonomy's parents.
``--json`` writes every item's correctness per field in ``benchmarks/head_refit.py``'s
format, one variant per readout, C and alone/mixed, so that ``python benchmarks/head_refit.py
--pair r0.json r1.json r2.json`` pairs them over training seeds against the heads as trained
(its joint there is all three fields right).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from head_refit import SETS, load_sets

from bizztune.core.machine import cpu_line

READOUTS = "mean,max,ticket,mean+max,layer0,layer4,layer8,mean+layer0,mean+layer4,mean+layer8"


def states(clf: Any, seqs: list[list[int]], pad: int, layers: list[int]) -> dict[str, Any]:
    """Every readout's pooled states of ``seqs``, (n, hidden) each, in order."""
    import torch

    from bizztune.models.heads import EVAL_BATCH_TOKENS, collate, length_batches, pool
    from bizztune.trainers.head.precision import mixed_precision

    pre = 0  # the prompt before the ticket is the same for every ticket: its common prefix
    while all(len(s) > pre and s[pre] == seqs[0][pre] for s in seqs):
        pre += 1
    post = 0  # and so is the end of the turn after it
    while all(len(s) > post + pre and s[-1 - post] == seqs[0][-1 - post] for s in seqs):
        post += 1
    n, h = len(seqs), clf.spec.hidden_size
    names = ["mean", "max", "ticket", *(f"layer{k}" for k in layers)]
    out = {k: torch.empty(n, h) for k in names}
    with torch.inference_mode():
        for idx in length_batches([len(s) for s in seqs], 16, EVAL_BATCH_TOKENS):
            ids, mask = collate([seqs[i] for i in idx], pad)
            with mixed_precision(clf.body, "cpu", True):
                o = clf.body(input_ids=ids, attention_mask=mask, output_hidden_states=True)
            last = o.last_hidden_state.float()
            own = torch.zeros_like(mask)
            for j, i in enumerate(idx):
                own[j, pre : len(seqs[i]) - post] = 1
            out["mean"][idx] = pool(last, mask, "mean")
            out["max"][idx] = last.masked_fill(~mask.bool().unsqueeze(-1), -torch.inf).amax(1)
            out["ticket"][idx] = pool(last, own, "mean")
            for k in layers:
                out[f"layer{k}"][idx] = pool(o.hidden_states[k].float(), mask, "mean")
    return out


def accuracy(pred: Any, gold: Any) -> float:
    return float((pred == gold).mean() * 100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("adapter", type=Path, help="a head trainer's output folder (mean pooling)")
    ap.add_argument("--data", type=Path, required=True, help="the split it was trained on")
    ap.add_argument("--model", default="gemma3-270m")
    ap.add_argument("--readouts", default=READOUTS, help="comma-separated, states joined by +")
    ap.add_argument("--c", default="0.003,0.01", help="inverse L2 strengths, comma-separated")
    ap.add_argument("--tickets", type=int, default=1600, help="training tickets refitted on")
    ap.add_argument("--seed", type=int, default=0, help="the adapter's training seed")
    ap.add_argument("--json", type=Path, help="write per-item correctness here")
    args = ap.parse_args()

    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression

    from bizztune.models.heads import load_head_classifier
    from bizztune.tasks import load_task
    from bizztune.trainers.head.finish import refit_sample
    from bizztune.trainers.head.loop import encode, targets

    print(cpu_line())
    task = load_task("tickets")
    clf, tok = load_head_classifier(args.model, args.adapter, device="cpu")
    if clf.spec.pooling != "mean":
        raise SystemExit(f"{args.adapter}: its heads read '{clf.spec.pooling}', not 'mean'")
    readouts = [r.split("+") for r in args.readouts.split(",")]
    layers = sorted({int(s[5:]) for r in readouts for s in r if s.startswith("layer")})
    train, sets = load_sets(task, args.data)
    idx = refit_sample(len(train), args.seed, args.tickets)
    t0 = time.perf_counter()
    feats, gold, trained = {}, {}, {}
    for name, exs in {"train": [train[i] for i in idx], **sets}.items():
        seqs, _ = encode(task, tok, exs, clf.spec.style, clf.spec.max_length)
        feats[name] = states(clf, seqs, int(tok.pad_token_id or 0), layers)
        gold[name] = {k: v.numpy() for k, v in targets(task, exs).items()}
        with torch.no_grad():
            trained[name] = {
                k: v.log_softmax(-1).numpy() for k, v in clf.heads(feats[name]["mean"]).items()
            }
    print(f"states of {sum(len(g['urgency']) for g in gold.values())} tickets: "
          f"{time.perf_counter() - t0:.0f} s; {len(idx)} training tickets")  # fmt: skip
    fields = [f.name for f in clf.spec.fields]
    ids = {s: [e.id for e in exs] for s, exs in sets.items()}
    variants: dict[str, Any] = {}

    def record(name: str, preds: dict[str, dict[str, Any]]) -> None:
        """Per set, every item's correctness per field, as head_refit.py's --json has it."""
        variants[name] = {"sets": {s: {"correct": {
            i: [bool(preds[s][f][k] == gold[s][f][k]) for f in fields]
            for k, i in enumerate(ids[s])}} for s in SETS}}  # fmt: skip

    record("trained", {s: {f: trained[s][f].argmax(1) for f in fields} for s in SETS})
    print("| readout | C | " + " | ".join(f"{s}: alone / mixed with the heads" for s in SETS))
    print("|---|---|" + "---|" * len(SETS))
    heads = [" / ".join(f"{accuracy(trained[s][f].argmax(1), gold[s][f]):.1f}" for f in fields)
             for s in SETS]  # fmt: skip
    print("| the heads as trained | | " + " | ".join(heads) + " |")
    for readout in readouts:
        x = {s: torch.cat([torch.nn.functional.layer_norm(feats[s][k], (feats[s][k].size(1),))
                           for k in readout], dim=1).double().numpy() for s in feats}  # fmt: skip
        mean, sd = x["train"].mean(0), x["train"].std(0) + 1e-6
        z = {s: (v - mean) / sd for s, v in x.items()}
        for c in (float(v) for v in args.c.split(",")):
            cells: dict[str, tuple[list[float], list[float]]] = {s: ([], []) for s in SETS}
            alone: dict[str, dict[str, Any]] = {s: {} for s in SETS}
            mixed: dict[str, dict[str, Any]] = {s: {} for s in SETS}
            for f in fields:
                reg = LogisticRegression(C=c, max_iter=3000).fit(z["train"], gold["train"][f])
                for s in SETS:
                    lp = np.full_like(trained[s][f], -30.0)
                    lp[:, reg.classes_] = reg.predict_log_proba(z[s])
                    alone[s][f] = lp.argmax(1)
                    mixed[s][f] = (0.5 * lp + 0.5 * trained[s][f]).argmax(1)
                    cells[s][0].append(accuracy(alone[s][f], gold[s][f]))
                    cells[s][1].append(accuracy(mixed[s][f], gold[s][f]))
            record(f"{'+'.join(readout)}:{c:g}:alone", alone)
            record(f"{'+'.join(readout)}:{c:g}:mixed", mixed)
            row = [" / ".join(f"{v:.1f}" for v in a) + " · " + " / ".join(f"{v:.1f}" for v in m)
                   for a, m in cells.values()]  # fmt: skip
            print(f"| {'+'.join(readout)} | {c:g} | " + " | ".join(row) + " |")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_line(), "adapter": str(args.adapter),
                                         "seed": args.seed, "variants": variants}))  # fmt: skip


if __name__ == "__main__":
    main()
