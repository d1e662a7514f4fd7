"""Where a training step of the head trainer spends its time: torch.profiler on the real model.

    python benchmarks/profile_train.py                       # gemma3-270m, the run's CPU recipe
    python benchmarks/profile_train.py --steps 8 --micro-batch-tokens 1024
    python benchmarks/profile_train.py --no-autocast         # the fp32-LoRA-input path

The steps are the head trainer's own (``train_step`` of ``trainers/head/loop.py``): the same
model as the run's recipe (LoRA on every linear layer of the first two thirds of the bf16 body,
one head per field on their mean state), the same batches of the embedded default
split, micro-batches of at most ``--micro-batch-tokens`` padded tokens, bf16 autocast,
``malloc_trim`` after each micro-batch, AdamW. Two warm-up steps are not profiled. Printed:
the CPU line, seconds per step, the share of self CPU time per kind of operation (matmuls,
attention, casts and copies, optimizer, the rest), the top operations, the time in
``malloc_trim`` (timed apart), and the step's MFU against the bf16 matmul peak measured in the
same process. Nothing else may run on the cores meanwhile.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from typing import Any

from bizztune.core.machine import cpu_line

KINDS = {
    "matmul": ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::linear"),
    "attention": ("aten::_scaled_dot_product", "aten::_flash_attention", "aten::softmax"),
    "cast/copy": ("aten::copy_", "aten::_to_copy", "aten::to", "aten::clone", "aten::contiguous"),
    "optimizer": ("aten::_foreach", "Optimizer.", "aten::lerp", "aten::addcdiv", "aten::sqrt"),
}


class HeadRecipe:
    """The default recipe (``trainers/recipes.py``, the run's) on ``model``, its training
    tickets of the embedded default split encoded as the trainer encodes them, and its
    classifier (the trainer's own ``add_lora``): what the step benchmarks train. Also used by
    ``benchmarks/lora_layers.py``."""

    def __init__(self, model: str) -> None:
        from bizztune.models.embedded import resolve_model
        from bizztune.models.tokenizer import load_tokenizer
        from bizztune.plugins import load_task
        from bizztune.trainers.config import HeadConfig, build_config
        from bizztune.trainers.head.steps import encode, targets
        from bizztune.trainers.lora.run import load_splits
        from bizztune.trainers.recipes import DEFAULT

        self.cfg = build_config(HeadConfig, {**DEFAULT.values(), "model": model}, "recipe")
        self.task = load_task("tickets")
        _, train_ex, _ = load_splits(self.task, self.cfg)
        self.path = resolve_model(model)
        tok = load_tokenizer(self.path)
        self.seqs, _ = encode(self.task, tok, train_ex, "compact", 512)
        self.y = targets(self.task, train_ex)
        self.lengths = [len(s) for s in self.seqs]
        self.pad_id = int(tok.pad_token_id or 0)

    def classifier(self, cfg: Any) -> Any:
        """A fresh classifier of ``cfg`` (this recipe, or a variant of it), seeded, in training
        mode: the bf16 body cut to ``cfg.head_layers``, LoRA as ``cfg`` says, zero heads."""
        import torch

        from bizztune.models.heads import HeadClassifier, HeadSpec, load_body
        from bizztune.trainers.head.adapters import add_lora

        torch.manual_seed(0)
        body = add_lora(load_body(self.path, torch.bfloat16, layers=cfg.head_layers), cfg)
        hidden = int(body.config.get_text_config().hidden_size)
        spec = HeadSpec.for_schema(self.task.schema, hidden, pooling=cfg.head_pooling)
        clf = HeadClassifier(body, spec)
        clf.train()
        return clf


def kind(name: str) -> str:
    for k, prefixes in KINDS.items():
        if name.startswith(prefixes):
            return k
    return "other"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default="gemma3-270m")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--micro-batch-tokens", type=int, default=512)
    ap.add_argument("--no-autocast", action="store_true")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile

    from bizztune.core.memory import release_memory
    from bizztune.trainers.head.batches import batch_stream, micro_batches
    from bizztune.trainers.head.steps import train_step
    from bizztune.trainers.mfu import matmul_peak_tflops, train_flops_per_token

    print(cpu_line(), f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    r = HeadRecipe(args.model)
    cfg, seqs, y, lengths, pad_id = r.cfg, r.seqs, r.y, r.lengths, r.pad_id
    clf = r.classifier(cfg)
    kept = len(clf.body.get_base_model().layers)
    print(f"the run's head recipe: {kept} layers, {cfg.head_pooling} state, "
          f"LoRA r={cfg.r} dropout {cfg.dropout}")  # fmt: skip
    params = [p for p in clf.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate)
    stream = batch_stream(lengths, args.batch_size, 0, args.steps + 2)
    trim = [0.0]

    def timed_release() -> None:
        t = time.perf_counter()
        release_memory(collect=False)
        trim[0] += time.perf_counter() - t

    def step() -> int:
        batch = next(stream)
        parts = micro_batches(batch, lengths, args.batch_size, args.micro_batch_tokens)
        return train_step(
            clf, parts, seqs, y, pad_id, autocast=not args.no_autocast, params=params,
            opt=opt, release=timed_release,
        )[1]  # fmt: skip

    for _ in range(2):
        step()
    trim[0] = 0.0
    real = 0
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            real += step()
    wall = time.perf_counter() - t0
    peak = matmul_peak_tflops(torch.bfloat16)

    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    by_kind: dict[str, float] = defaultdict(float)
    for e in events:
        by_kind[kind(e.key)] += e.self_cpu_time_total
    flops = train_flops_per_token(clf) * real  # as train_summary.json counts: real tokens
    print(f"{args.steps} steps, {real} tokens: {wall / args.steps:.2f} s/step "
          f"(profiled: the profiler adds a few %)")  # fmt: skip
    print(f"malloc_trim: {trim[0] / args.steps * 1000:.0f} ms/step "
          f"({100 * trim[0] / wall:.1f}% of the wall time)")  # fmt: skip
    print(f"MFU (model FLOPs / time / bf16 matmul peak {peak:.2f} TFLOP/s): "
          f"{flops / wall / (peak * 1e12):.3f}")  # fmt: skip
    print("\nself CPU time by kind:")
    for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {k:10s} {100 * v / total:5.1f}%")
    print(f"\ntop {args.top} operations by self CPU time:")
    print(f"  {'operation':44s} {'calls':>7s} {'self ms':>9s} {'share':>6s}")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.top]:
        print(f"  {e.key[:44]:44s} {e.count:7d} {e.self_cpu_time_total / 1000:9.0f} "
              f"{100 * e.self_cpu_time_total / total:5.1f}%")  # fmt: skip


if __name__ == "__main__":
    main()
