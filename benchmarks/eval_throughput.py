"""Local inference throughput: the naive per-ticket ``generate`` against the hf provider.

    nice python benchmarks/eval_throughput.py --n 200 --model smollm2-135m \
        --out benchmarks/results/eval_throughput.json > bench.log 2>&1 &
    python benchmarks/eval_throughput.py --n 16 --chunk 8       # a quick run

In one process, on the same test tickets (the task's embedded default split, or ``--data``):

(a) naive: one ``model.generate`` per ticket with the full long prompt, greedy, up to 60 new
    tokens, parsed by the shared parser, as the original study did;
(b) fast: the hf provider in constrained mode (shared-prefix KV cache, batching, forced tokens
    skipped): only valid answers, by construction;
(c) with ``--also-free``: the hf provider's free generation (same speed-ups, parsed text).

Both run on the same model object in alternating chunks of ``--chunk`` tickets, so load from
other processes on a shared machine hits both alike. Prints tickets/s of each, the ratio, the
accuracy of each, and the compute bound: 2 x parameters x tokens not in the shared prefix,
against the bf16/fp32 matmul peak measured here, in this process (the peak MFU divides by).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any


def matmul_rate(dtype: Any) -> float:
    """This machine's matmul peak in GFLOP/s: the same figure MFU divides by
    (``trainers.mfu.matmul_peak_tflops``), so eval and training fractions compare."""
    from bizztune.trainers.mfu import matmul_peak_tflops

    return 1000 * matmul_peak_tflops(dtype)


def accuracy(task: Any, golds: list[dict[str, str]], preds: list[dict[str, Any]]) -> dict[str, Any]:
    from bizztune.eval.metrics import score

    m = score(task.schema, golds, preds)
    return {
        "fields": {f: round(v["accuracy"], 4) for f, v in m["fields"].items()},
        "mean_field_accuracy": round(
            sum(v["accuracy"] for v in m["fields"].values()) / len(m["fields"]), 4
        ),
        "joint_accuracy": round(m["joint"]["accuracy"], 4),
        "invalid_rate": round(m["invalid_rate"], 4),
    }


def main() -> None:
    import torch

    from bizztune.core.interfaces import ProviderConfig
    from bizztune.data.io import load_examples
    from bizztune.data.sources import DEFAULT_N, default_data_dir, resolve_data
    from bizztune.eval.evaluate import EvalConfig, build_requests
    from bizztune.plugins import load_task
    from bizztune.providers.local.hf import HFProvider

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="test tickets")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--data", help="split dir or file (default: the embedded default split)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--stages", choices=["group", "field"], default="group")
    ap.add_argument("--max-new-tokens", type=int, default=60)
    ap.add_argument("--chunk", type=int, default=25, help="tickets per alternating chunk")
    ap.add_argument("--also-free", action="store_true", help="also time the fast free mode")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = ap.parse_args()

    task = load_task("tickets")
    data = resolve_data(task, Path(args.data) if args.data else None)
    examples = load_examples(data, task, args.split)
    if not args.data and len(examples) < args.n:  # the default split is deterministic: grow it
        data = default_data_dir(task, n=DEFAULT_N * math.ceil(args.n / len(examples)))
        examples = load_examples(data, task, args.split)
    examples = examples[: args.n]
    golds = [ex.labels for ex in examples]
    fast = HFProvider(
        ProviderConfig(
            name="hf",
            model=args.model,
            decoding="constrained",
            batch_size=args.batch_size,
            extra={"constrained_stages": args.stages},
        )
    )
    model, tok = fast.lm, fast.tok
    free = None
    if args.also_free:
        free = HFProvider(
            ProviderConfig(
                name="hf",
                model=args.model,
                decoding="free",
                batch_size=args.batch_size,
                max_new_tokens=args.max_new_tokens,
            )
        )
        free.lm, free.backbone, free.head = model, fast.backbone, fast.head
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"model {args.model}: {n_params / 1e6:.1f}M parameters, {model.dtype}, "
        f"{torch.get_num_threads()} threads; {len(examples)} tickets from {data}",
        flush=True,
    )

    def naive(ex: Any) -> dict[str, Any]:
        msgs = task.messages(ex, style="long")
        text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False, return_tensors="pt")
        with torch.inference_mode():
            out = model.generate(
                **ids, max_new_tokens=args.max_new_tokens, do_sample=False, pad_token_id=fast.pad_id
            )
        answer = tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
        return task.parse(answer).labels

    def provider_run(p: HFProvider, exs: list[Any]) -> list[dict[str, Any]]:
        reqs = build_requests(task, exs, EvalConfig(calls="joint"))
        got = {c.request_id: c.text for c in p.complete(reqs, task.schema)}
        return [task.parse(got[r.id] or "").labels for r in reqs]

    # Warm-up outside the timed runs (one-off kernel set-up, the prefix KV of the fast path).
    warm = examples[: min(2, len(examples))]
    naive(warm[0])
    provider_run(fast, warm)
    if free is not None:
        provider_run(free, warm)
    rates_before = {"bf16": matmul_rate(torch.bfloat16), "fp32": matmul_rate(torch.float32)}

    times = {"naive": 0.0, "fast": 0.0, "free": 0.0}
    preds: dict[str, list[dict[str, Any]]] = {"naive": [], "fast": [], "free": []}
    stats0 = dict(fast.stats)
    for i in range(0, len(examples), args.chunk):
        chunk = examples[i : i + args.chunk]
        t0 = time.perf_counter()
        preds["naive"] += [naive(ex) for ex in chunk]
        times["naive"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        preds["fast"] += provider_run(fast, chunk)
        times["fast"] += time.perf_counter() - t0
        if free is not None:
            t0 = time.perf_counter()
            preds["free"] += provider_run(free, chunk)
            times["free"] += time.perf_counter() - t0
        done = i + len(chunk)
        print(
            f"{done}/{len(examples)}: naive {done / times['naive']:.3f}/s, "
            f"fast {done / times['fast']:.2f}/s",
            flush=True,
        )
    rates_after = {"bf16": matmul_rate(torch.bfloat16), "fp32": matmul_rate(torch.float32)}

    n = len(examples)
    tokens = fast.stats["tokens"] - stats0["tokens"]
    prefix_tokens = fast.stats["prefix_tokens"] - stats0["prefix_tokens"]
    dkey = "bf16" if model.dtype == torch.bfloat16 else "fp32"
    rate = max(rates_before[dkey], rates_after[dkey])
    flops = 2 * n_params * tokens
    bound_s = flops / (rate * 1e9)
    result: dict[str, Any] = {
        "model": args.model,
        "dtype": str(model.dtype),
        "threads": torch.get_num_threads(),
        "n": n,
        "data": str(data),
        "batch_size": args.batch_size,
        "stages": args.stages,
        "naive": {
            "tickets_per_s": round(n / times["naive"], 4),
            "s_per_ticket": round(times["naive"] / n, 3),
            **accuracy(task, golds, preds["naive"]),
        },
        "fast": {
            "tickets_per_s": round(n / times["fast"], 3),
            "s_per_ticket": round(times["fast"] / n, 4),
            **accuracy(task, golds, preds["fast"]),
        },
        "speedup": round(times["naive"] / times["fast"], 2),
        "compute_bound": {
            "parameters": n_params,
            "tokens_not_in_shared_prefix": tokens,
            "tokens_per_ticket": round(tokens / n, 1),
            "shared_prefix_tokens_computed": prefix_tokens,
            "forward_passes": fast.stats["forward_passes"] - stats0["forward_passes"],
            "matmul_gflops": {k: round(v, 1) for k, v in rates_before.items()},
            "matmul_gflops_after": {k: round(v, 1) for k, v in rates_after.items()},
            "bound_tickets_per_s": round(n / bound_s, 2),
            "fraction_of_bound": round(bound_s / times["fast"], 3),
        },
    }
    if free is not None:
        result["fast_free"] = {
            "tickets_per_s": round(n / times["free"], 3),
            **accuracy(task, golds, preds["free"]),
        }
    print(json.dumps(result, indent=2))
    print(
        f"\nnaive {result['naive']['tickets_per_s']:.3f} tickets/s "
        f"(mean field acc {result['naive']['mean_field_accuracy']:.3f}, invalid "
        f"{result['naive']['invalid_rate']:.3f}) | fast {result['fast']['tickets_per_s']:.2f} "
        f"tickets/s (acc {result['fast']['mean_field_accuracy']:.3f}, invalid "
        f"{result['fast']['invalid_rate']:.3f}) | speed-up x{result['speedup']} | compute bound "
        f"{result['compute_bound']['bound_tickets_per_s']} tickets/s, fast reaches "
        f"{100 * result['compute_bound']['fraction_of_bound']:.0f}% of it"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
