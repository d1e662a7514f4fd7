"""Where does a field's attention go? Its mass on the words a TF-IDF regression finds for the
gold label, against the share those words' tokens have of the prompt (what the mean gives them).

    python benchmarks/attention_mass.py RUN/adapter [RUN2/adapter ...] --data SPLIT \
        --sets test,tickets:foreign-dev --field urgency --limit 200

Each adapter must be a head trainer's folder with ``attn`` pooling (``--head-pooling attn``,
with or without ``--head-rationale``). The word regression is fitted on the split's training
tickets, as the trainer's ``--head-rationale`` does; on every ticket of a set, the target is
built from its gold label (so this reads gold labels: on a measuring set, it measures, never
chooses). Printed per adapter and set: the mean attention mass on the target's tokens, the
mean share of the prompt those tokens are (the mass a mean pooling puts there), and their
ratio, with the CPU line.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("adapters", nargs="+")
    ap.add_argument("--data", required=True, help="the split the adapters were trained on")
    ap.add_argument("--sets", default="test,tickets:foreign-dev")
    ap.add_argument("--field", default="urgency")
    ap.add_argument("--limit", type=int, default=None, help="first N tickets of each set")
    args = ap.parse_args()

    import torch

    from bizztune.core.machine import cpu_line
    from bizztune.data.io import load_examples
    from bizztune.data.sources import resolve_data
    from bizztune.models.heads import HeadSpec, collate, encode_prompt, load_head_classifier
    from bizztune.tasks import load_task
    from bizztune.trainers.head.rationale import WordModel, ticket_text, token_targets

    task = load_task("tickets")
    train = load_examples(Path(args.data), task, "train")
    labels = task.schema.field(args.field).labels
    # fitted on the training tickets only, as the trainer does; a set's tickets are read by it
    words = WordModel(
        [ticket_text(e) for e in train], [labels.index(e.labels[args.field]) for e in train],
        len(labels),
    )  # fmt: skip
    print(cpu_line())
    print("| adapter | set | n | attention on the words | their share of the prompt | ratio |")
    print("|---|---|---|---|---|---|")
    for adapter in args.adapters:
        spec = HeadSpec.read(Path(adapter))
        if spec.pooling != "attn":
            raise SystemExit(f"{adapter}: pooling {spec.pooling!r}, not attn: no attention to read")
        clf, tok = load_head_classifier(spec.base_model, adapter, device="cpu")
        clf.keep_attention = True
        f = [x.name for x in spec.fields].index(args.field)
        for name in args.sets.split(","):
            if name == "test":
                exs = load_examples(Path(args.data), task, "test")
            else:
                exs = load_examples(resolve_data(task, name), task)
            exs = exs[: args.limit] if args.limit else exs
            ys = [labels.index(e.labels[args.field]) for e in exs]
            weights = words.weights([ticket_text(e) for e in exs], ys)
            mass, share = [], []
            with torch.inference_mode():
                for e, w in zip(exs, weights, strict=True):
                    msgs = task.messages(e, style=spec.style)
                    ids, _ = encode_prompt(tok, msgs, spec.max_length)
                    t = token_targets(tok, msgs, ids, w)
                    if t is None:
                        continue
                    x, m = collate([ids], 0)
                    clf(x, m)
                    assert clf.attention is not None
                    a = clf.attention[0, :, f].float()
                    on = [j for j, v in enumerate(t) if v > 0]
                    mass.append(float(a[on].sum()))
                    share.append(len(on) / len(ids))
            n = len(mass)
            mm, ss = sum(mass) / max(n, 1), sum(share) / max(n, 1)
            print(f"| {adapter} | {name} | {n} | {mm:.3f} | {ss:.3f} | {mm / max(ss, 1e-9):.2f} |")


if __name__ == "__main__":
    main()
