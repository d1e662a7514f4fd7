"""The parts of scripts/gpu-smoke.sh that are not shell: run a stage while sampling the GPU's
memory, and read the stages' files into the smoke's figures.

    python scripts/gpu_smoke.py stage --work DIR --name qlora --gpu -- bizztune train ...
    python scripts/gpu_smoke.py report --work DIR

Standard library only: it runs before the virtual environment exists. ``stage`` appends one
line to DIR/stages.jsonl (wall time, GPU memory in use before and at its peak, sampled from
``nvidia-smi`` every 0.2 s) and writes the command's output to DIR/NAME.log; with ``--gpu`` a
stage that did not raise the GPU's memory by ``MIN_GPU_MIB`` fails, so a run that fell back to
the CPU cannot pass. ``report`` prints peak GPU memory, tokens/s and MFU against the card's
bf16 peak for each training, tickets/s for each evaluation, the served figures and the batching
gain, and fails when an artifact says it ran anywhere but on CUDA.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

MIN_GPU_MIB = 64
"""A stage on the GPU raises the memory in use by at least this much (a CUDA context alone
takes several hundred MiB)."""

BF16_PEAK_TFLOPS = [  # dense bf16 tensor-core peaks from NVIDIA's data sheets; first match wins
    ("H200 NVL", 835.0),
    ("H200", 989.4),
    ("H100 NVL", 835.0),
    ("H100 PCIe", 756.5),
    ("H100", 989.4),  # SXM5 (nvidia-smi: "NVIDIA H100 80GB HBM3")
    ("A100", 312.0),
    ("L40S", 362.1),
]


def bf16_peak(name: str) -> float | None:
    """The card's dense bf16 peak in TFLOP/s; ``BF16_PEAK_TFLOPS`` in the environment wins."""
    if os.environ.get("BF16_PEAK_TFLOPS"):
        return float(os.environ["BF16_PEAK_TFLOPS"])
    return next((peak for key, peak in BF16_PEAK_TFLOPS if key in name), None)


def nvidia_smi(query: str) -> list[str]:
    """One line per GPU of ``nvidia-smi --query-gpu=QUERY``; empty when there is none."""
    try:
        done = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return (
        [x.strip() for x in done.stdout.splitlines() if x.strip()] if done.returncode == 0 else []
    )


def memory_used_mib() -> int | None:
    lines = nvidia_smi("memory.used")
    return int(float(lines[0])) if lines else None


def run_stage(work: Path, name: str, cmd: list[str], gpu: bool, timeout: float) -> int:
    idle = memory_used_mib()
    peak = idle or 0
    log = work / f"{name}.log"
    t0 = time.perf_counter()
    with log.open("w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.2):
                peak = max(peak, memory_used_mib() or 0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
            print(f"gpu-smoke: stage {name} ran past its {timeout:.0f} s", file=sys.stderr)
        done.set()
        sampler.join()
    wall = time.perf_counter() - t0
    rec = {"stage": name, "rc": rc, "wall_s": round(wall, 1), "gpu": gpu}
    rec |= {"gpu_mem_idle_mib": idle, "gpu_mem_peak_mib": peak}
    with (work / "stages.jsonl").open("a") as f:
        f.write(json.dumps(rec) + "\n")
    if rc != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        print(
            f"gpu-smoke: stage {name} failed (exit {rc}): {tail[0]} (log: {log})", file=sys.stderr
        )
        return rc or 1
    if gpu and (idle is None or peak - idle < MIN_GPU_MIB):
        print(
            f"gpu-smoke: stage {name} did not use the GPU (memory in use {idle} -> {peak} MiB); "
            f"log: {log}",
            file=sys.stderr,
        )
        return 1
    print(f"gpu-smoke: {name} done in {wall:.0f} s, GPU memory peak {peak} MiB", flush=True)
    return 0


def _json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError) as e:
        raise SystemExit(f"gpu-smoke: {path} is missing or unreadable ({e})") from None


def _on_cuda(what: str, device: Any) -> None:
    if not str(device or "").startswith("cuda"):
        raise SystemExit(f"gpu-smoke: {what} ran on {device!r}, not on CUDA")


def report(work: Path) -> list[str]:
    """The smoke's figures, one line each; SystemExit naming the artifact that was not on CUDA."""
    name = (nvidia_smi("name") or ["unknown GPU"])[0]
    peak = bf16_peak(name)
    stages = {r["stage"]: r for r in map(json.loads, (work / "stages.jsonl").open())}
    lines = [f"GPU: {name}; bf16 peak {peak or '?'} TFLOP/s (dense, data sheet)"]
    for tr in ("qlora", "head"):
        s = _json(work / tr / "train_summary.json")
        _on_cuda(f"training {tr}", s.get("device"))
        if tr == "qlora" and s.get("quantization") != "nf4":
            raise SystemExit(f"gpu-smoke: qlora trained a {s.get('quantization')} base, not NF4")
        achieved = s.get("model_tflops_per_s")
        mfu = f"{achieved / peak:.1%}" if achieved and peak else "?"
        lines.append(
            f"train {tr}: {s.get('steps')} steps, {s.get('tokens_per_s')} tokens/s, "
            f"{achieved} model TFLOP/s = MFU {mfu} of the card's bf16 peak, "
            f"peak GPU memory {stages[tr]['gpu_mem_peak_mib']} MiB"
        )
    for ev in ("eval-qlora", "eval-head"):
        cfg, m = _json(work / ev / "config.json"), _json(work / ev / "metrics.json")
        _on_cuda(ev, cfg.get("provider_info", {}).get("device"))
        lines.append(
            f"{ev}: {m['usage'].get('items_per_s', 0):.1f} tickets/s, joint accuracy "
            f"{m.get('joint', {}).get('accuracy', '?')}, peak GPU memory {stages[ev]['gpu_mem_peak_mib']} MiB"
        )
    sv = _json(work / "serve.json")
    one, many = sv["served"]["1"], sv["served"][max(sv["served"], key=int)]
    lines.append(
        f"serve: 1 client {one['throughput_rps']} req/s (p99 {one['p99_ms']} ms), "
        f"{many['clients']} clients {many['throughput_rps']} req/s (p99 {many['p99_ms']} ms, "
        f"{many['items_per_batch']} items a micro-batch), errors {one['errors'] + many['errors']}; "
        f"batching gain {sv['batching_gain']}x; served/offline {sv['served_vs_offline']}x; "
        f"peak GPU memory {stages['serve']['gpu_mem_peak_mib']} MiB"
    )
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("stage", help="run one stage while sampling GPU memory")
    st.add_argument("--work", type=Path, required=True, help="the smoke's folder")
    st.add_argument("--name", required=True, help="the stage's name (its log: WORK/NAME.log)")
    st.add_argument("--gpu", action="store_true", help="fail unless it used the GPU")
    st.add_argument("--timeout", type=float, default=300.0, help="seconds, at most")
    st.add_argument("command", nargs="+", help="the stage's command, after --")
    rp = sub.add_parser("report", help="print the figures; fail if anything ran off CUDA")
    rp.add_argument("--work", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.cmd == "stage" and args.timeout <= 0:
        ap.error("--timeout must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.work.is_dir():
        print(f"gpu-smoke: --work {args.work}: no such folder", file=sys.stderr)
        return 2
    if args.cmd == "stage":
        return run_stage(args.work, args.name, args.command, args.gpu, args.timeout)
    for line in report(args.work):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
