"""Training throughput: a plain TRL SFTTrainer set-up (the original study's) against bizztune.

    python benchmarks/train_throughput.py                      # smollm2-135m, embedded data
    python benchmarks/train_throughput.py --n-train 64 --batch-size 4   # the README's figures
    python benchmarks/train_throughput.py --arms lora,qlora   # 16-bit vs 4-bit base memory

Every arm trains the same model on the same training tickets with the same LoRA config
(r, alpha, dropout, target modules), optimizer, learning rate, schedule, batch size and epochs,
in its own process (so peak memory is its own), and then scores the same validation tickets
with one function: the mean loss of the answer tokens plus the end-of-turn token, each arm on
its own training prompt. Printed per arm: trained tokens/s (real tokens, padding excluded),
examples/s, wall time, peak RSS, base weight memory and that final validation loss.

Arms:
- ``trl``: what the original study did, on today's TRL: ``SFTTrainer`` on the full ChatML
  text of the long prompt, loss on every token, TRL's defaults otherwise (fp32 weights with
  bf16 autocast, gradient checkpointing on, right padding to the longest in the batch).
- ``trl-careful``: TRL as a careful user sets it up today, on the same long prompt: bf16 model,
  loss on the completion only, padding-free batches, no gradient checkpointing.
- ``bizztune``: bizztune's ``lora`` trainer as shipped (compact prompt, answer-only loss with
  logits for the answer positions only, padding-free micro-batches on CPU, bf16 base).
- ``bizztune-long``: the same with the long prompt, to separate engineering from prompt length.
- ``bizztune-padded`` / ``bizztune-free`` (and ``bizztune-long-padded`` / ``-long-free``):
  left-padded length-grouped batches or padding-free micro-batches forced (``--padding-free
  false|true``) instead of chosen by ``auto``, to measure what that choice buys.
- ``lora`` / ``qlora``: bizztune with a 16-bit base vs a 4-bit NF4 base (memory).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bizztune.core.interfaces import PromptStyle
    from bizztune.trainers.config import PaddingFree


def _answer_loss(model: Any, tok: Any, task: Any, examples: list[Any], style: PromptStyle) -> float:
    """Mean loss of the answer + end-of-turn tokens, with the task's prompt in ``style``."""
    import torch
    import torch.nn.functional as F

    from bizztune.trainers.lora.collate import encode_example

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for ex in examples:
            enc = encode_example(task, tok, ex, style)
            ids = torch.tensor([enc.input_ids])
            labels = torch.tensor([enc.labels])
            logits = model(input_ids=ids).logits[:, :-1].float()
            loss = F.cross_entropy(
                logits.flatten(0, 1), labels[:, 1:].flatten(), ignore_index=-100, reduction="sum"
            )
            total += float(loss)
            count += int((labels[:, 1:] != -100).sum())
    return total / max(count, 1)


def _data(args: argparse.Namespace) -> tuple[Any, list[Any], list[Any], Path]:
    from bizztune.data.io import load_examples
    from bizztune.data.sources import resolve_data
    from bizztune.plugins import load_task

    task = load_task("tickets")
    data = resolve_data(task, Path(args.data) if args.data else None)
    train = load_examples(data, task, "train")[: args.n_train]
    val = load_examples(data, task, "val")[: args.n_val]
    return task, train, val, data


def arm_trl(args: argparse.Namespace, careful: bool = False) -> dict[str, Any]:
    """The plain TRL set-up: full-text SFT on the long prompt, TRL defaults. ``careful``: TRL as
    a careful user configures it today, on the same prompt: a bf16 model, a prompt-completion
    dataset with the loss on the completion only, padding-free batches (transformers keeps the
    packed sequences apart through their position ids), no gradient checkpointing."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    from bizztune.models.embedded import resolve_model
    from bizztune.models.tokenizer import load_tokenizer

    task, train, val, _ = _data(args)
    path = resolve_model(args.model)
    tok = load_tokenizer(path)
    texts = [
        tok.apply_chat_template(task.messages(ex, style="long", with_answer=True), tokenize=False)
        for ex in train
    ]
    if careful:
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.bfloat16)
        rows = {
            "prompt": [task.messages(ex, style="long", with_answer=False) for ex in train],
            "completion": [task.messages(ex, style="long", with_answer=True)[-1:] for ex in train],
        }
    else:
        model = AutoModelForCausalLM.from_pretrained(str(path))  # fp32, as loaded by default
        rows = {"text": texts}
    base_mb = model.get_memory_footprint() / 2**20
    peft_config = LoraConfig(
        r=args.r, lora_alpha=args.alpha, lora_dropout=args.dropout,
        target_modules=args.target_modules.split(","), task_type="CAUSAL_LM",
    )  # fmt: skip
    careful_args: dict[str, Any] = (
        {"padding_free": True, "gradient_checkpointing": False, "completion_only_loss": True}
        if careful
        else {}
    )
    cfg = SFTConfig(
        output_dir=tempfile.mkdtemp(prefix="trl-bench-"),
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=1,
        learning_rate=args.lr,
        lr_scheduler_type="cosine",
        warmup_steps=0.05,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        seed=0,
        use_cpu=not torch.cuda.is_available(),
        dataset_text_field="text",
        max_length=None if careful else 1024,
        disable_tqdm=True,
        **careful_args,
    )
    trainer = SFTTrainer(
        model=model,
        args=cfg,
        train_dataset=Dataset.from_dict(rows),
        processing_class=tok,
        peft_config=peft_config,
    )
    tokens = sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts)
    t0 = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - t0
    from bizztune.trainers.mfu import efficiency

    # TRL's defaults here: fp32 weights under bf16 autocast, so the bf16 matmul rate is its bound
    dtype = torch.bfloat16 if (cfg.bf16 or cfg.bf16 is None) else torch.float32
    device = "cuda" if torch.cuda.is_available() else "cpu"
    eff = efficiency(trainer.model, tokens / wall, dtype, device)
    val_loss = _answer_loss(trainer.model, tok, task, val, "long")
    return {
        "arm": "trl-careful" if careful else "trl", "style": "long", "train_s": wall, "tokens": tokens,
        "examples": len(train), "val_answer_loss": val_loss, "base_weight_mb": base_mb,
        "mfu": eff["mfu"], "matmul_peak_tflops": eff["matmul_peak_tflops"],
    }  # fmt: skip


def arm_bizztune(
    args: argparse.Namespace,
    style: PromptStyle,
    quant: str | None,
    padding_free: PaddingFree = "auto",
) -> dict[str, Any]:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from bizztune.models.embedded import resolve_model
    from bizztune.models.tokenizer import load_tokenizer
    from bizztune.plugins import load_trainer
    from bizztune.trainers.config import LoraConfig

    task, train, val, data = _data(args)
    out = Path(tempfile.mkdtemp(prefix="bizztune-bench-")) / "run"
    cfg = LoraConfig(
        model=args.model, data=str(data), out=str(out), style=style,
        r=args.r, alpha=args.alpha, dropout=args.dropout,
        target_modules=args.target_modules.split(","), learning_rate=args.lr,
        batch_size=args.batch_size, epochs=1.0, limit_train=None, eval_steps=0,
        save_steps=10_000, seed=0, padding_free=padding_free,
    )  # fmt: skip
    # The benchmark trains on exactly the first n_train tickets, like the TRL arm.
    split = Path(tempfile.mkdtemp(prefix="bizztune-bench-data-"))
    for name, exs in (("train", train), ("val", val)):
        (split / f"{name}.jsonl").write_text(
            "".join(json.dumps(ex.to_record(), ensure_ascii=False) + "\n" for ex in exs),
            encoding="utf-8",
        )
    cfg.data = str(split)
    trainer = load_trainer("qlora" if quant else "lora")
    trainer.train(task, cfg)
    summary = json.loads((out / "train_summary.json").read_text())
    path = resolve_model(args.model)
    tok = load_tokenizer(out)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(path)), str(out))
    val_loss = _answer_loss(model, tok, task, val, style)
    return {
        "arm": f"bizztune{'-long' if style == 'long' else ''}{'-qlora' if quant else ''}",
        "style": style, "train_s": summary["train_time_s"], "tokens": summary["tokens_trained"],
        "examples": summary["train_examples"], "val_answer_loss": val_loss,
        "base_weight_mb": summary["base_weight_memory_mb"],
        "padding_free": summary.get("padding_free"),
        "mfu": summary.get("mfu"), "matmul_peak_tflops": summary.get("matmul_peak_tflops"),
    }  # fmt: skip


def run_arm(args: argparse.Namespace) -> None:
    arm = args.arm
    if arm in ("trl", "trl-careful"):
        res = arm_trl(args, careful=arm == "trl-careful")
    elif arm in ("lora", "qlora"):
        res = arm_bizztune(args, "compact", "nf4" if arm == "qlora" else None)
    elif arm.startswith("bizztune"):
        # bizztune[-long][-padded|-free]: prompt style, then padding-free forced off/on
        # (without a suffix: as shipped, --padding-free auto).
        parts = arm.split("-")[1:]
        if any(p not in ("long", "padded", "free") for p in parts):
            raise SystemExit(f"unknown arm {arm!r}")
        pf: PaddingFree = False if "padded" in parts else True if "free" in parts else "auto"
        res = arm_bizztune(args, "long" if "long" in parts else "compact", None, padding_free=pf)
    else:
        raise SystemExit(f"unknown arm {arm!r}")
    from bizztune.core.memory import peak_rss_mb

    res["arm"] = arm
    res["peak_rss_mb"] = peak_rss_mb()
    res["tokens_per_s"] = res["tokens"] / res["train_s"]
    res["examples_per_s"] = res["examples"] / res["train_s"]
    Path(args.json).write_text(json.dumps(res, indent=2))


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--data", default=None, help="split directory (default: the embedded one)")
    p.add_argument("--n-train", type=int, default=64)
    p.add_argument("--n-val", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--r", type=int, default=8)
    p.add_argument("--alpha", type=int, default=8)
    p.add_argument("--dropout", type=float, default=0.05)
    p.add_argument("--target-modules", default="q_proj,k_proj,v_proj,o_proj,gate_proj")
    p.add_argument(
        "--arms",
        default="trl,trl-careful,bizztune,bizztune-free,bizztune-long,bizztune-long-padded",
    )
    p.add_argument("--out", default="runs/bench/train_throughput.json")
    p.add_argument("--arm", help=argparse.SUPPRESS)
    p.add_argument("--json", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.arm:
        run_arm(args)
        return
    results = []
    for arm in args.arms.split(","):
        fd, tmp = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        cmd = [sys.executable, __file__, *sys.argv[1:], "--arm", arm, "--json", tmp]
        print(f"== {arm}", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True)
        results.append(json.loads(Path(tmp).read_text()))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ref = results[0]
    for r in results:
        r["throughput_vs_first"] = r["tokens_per_s"] / ref["tokens_per_s"]
        r["examples_per_s_vs_first"] = r["examples_per_s"] / ref["examples_per_s"]
    out.write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    from bizztune.core.machine import cpu_line

    print(f"CPU: {cpu_line()}; model {args.model}")
    head = f"{'arm':20} {'style':8} {'pf':>5} {'tokens/s':>9} {'ex/s':>7} {'x tok/s':>8} {'x ex/s':>7} {'wall s':>8} {'MFU %':>6} {'peak RSS MB':>12} {'base MB':>8} {'val loss':>9}"
    print(head)
    for r in results:
        print(
            f"{r['arm']:20} {r['style']:8} {r.get('padding_free', '-')!s:>5} {r['tokens_per_s']:9.1f} {r['examples_per_s']:7.3f} "
            f"{r['throughput_vs_first']:8.2f} {r['examples_per_s_vs_first']:7.2f} {r['train_s']:8.1f} "
            f"{100 * r['mfu'] if r.get('mfu') is not None else float('nan'):6.1f} "
            f"{r['peak_rss_mb']:12.0f} {r['base_weight_mb']:8.1f} {r['val_answer_loss']:9.4f}"
        )
    print(f"results: {out}")


if __name__ == "__main__":
    main()
