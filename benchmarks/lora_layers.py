"""What ``--lora-layers`` saves: the head trainer's step with LoRA on every kept layer (the
baseline) against LoRA on the top N only, in one process, on the same batches.

    python benchmarks/lora_layers.py                 # top 6 and top 4 of the recipe's 12 layers
    python benchmarks/lora_layers.py --top 8,6 --steps 16

Every arm is the default recipe (``trainers/recipes.py``, the run's: Gemma 3
270M cut to its first 12 layers, bf16, LoRA r=16 on every linear layer, mean state, micro-batches
of at most 1,024 padded tokens), built with the trainer's own ``add_lora`` and stepped with its
own ``train_step`` on the embedded default split. The arms take turns on each batch, so a slow
spell of the machine falls on all of them; the first two steps are warm-up. Printed: the CPU
line, tokens/s and seconds per step per arm, and each arm's speed over the baseline's. Nothing
else may run on the cores meanwhile.
"""

from __future__ import annotations

import argparse
import time

from bizztune.core.machine import cpu_line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default="gemma3-270m")
    ap.add_argument("--top", default="6,4", help="LoRA layers of each arm besides the baseline")
    ap.add_argument("--steps", type=int, default=12)
    args = ap.parse_args()

    import dataclasses

    import torch
    from profile_train import HeadRecipe

    from bizztune.core.memory import release_memory
    from bizztune.trainers.head.batches import batch_stream, micro_batches
    from bizztune.trainers.head.steps import train_step

    print(cpu_line(), f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    r = HeadRecipe(args.model)
    base_cfg, seqs, y, lengths, pad_id = r.cfg, r.seqs, r.y, r.lengths, r.pad_id

    arms: dict[str, tuple[object, list[object], object]] = {}
    for top in [None, *(float(t) for t in args.top.split(",") if t)]:
        cfg = dataclasses.replace(base_cfg, lora_layers=top)
        clf = r.classifier(cfg)
        params = [p for p in clf.parameters() if p.requires_grad]
        name = "every layer" if top is None else f"top {top:g}"
        arms[name] = (clf, params, torch.optim.AdamW(params, lr=cfg.learning_rate))
        print(f"{name}: {sum(p.numel() for p in params):,} trainable parameters", flush=True)

    stream = batch_stream(lengths, base_cfg.batch_size, 0, args.steps + 2)
    seconds = dict.fromkeys(arms, 0.0)
    tokens = 0
    for i in range(args.steps + 2):
        batch = next(stream)
        parts = micro_batches(batch, lengths, base_cfg.batch_size, base_cfg.micro_batch_tokens)
        for name, (clf, params, opt) in arms.items():
            t0 = time.perf_counter()
            real = train_step(clf, parts, seqs, y, pad_id, autocast=True, params=params, opt=opt,
                              release=lambda: release_memory(collect=False))[1]  # fmt: skip
            if i >= 2:
                seconds[name] += time.perf_counter() - t0
        tokens += real if i >= 2 else 0
    base = seconds["every layer"]
    print(f"\n{args.steps} steps of {base_cfg.batch_size}, {tokens} real tokens per arm")
    for name, s in seconds.items():
        print(f"  {name:12s} {tokens / s:6.0f} tokens/s  {s / args.steps:5.2f} s/step  "
              f"{base / s:4.2f}x the baseline's speed")  # fmt: skip


if __name__ == "__main__":
    main()
