"""QLoRA (or LoRA) under PyTorch FSDP2 in N processes: the launcher and the worker.

    bizztune train --trainer qlora-fsdp --nproc 2 --model smollm2-135m --out runs/train/fsdp

The launcher (``launch``) writes the resolved LoraConfig to ``OUT/fsdp_launch.json`` and starts
``python -m torch.distributed.run --nproc_per_node N -m bizztune.cli.worker
OUT/fsdp_launch.json``. Every process resolves the task there, as a command does, and runs
``worker``: the same single-process recipe
(``recipe.run_training``) with transformers' Trainer, which shards the model through
accelerate's FSDP2 plugin: one process per GPU with NCCL, or CPU processes with gloo.

What 4-bit weights need under FSDP (see docs/training.md for a 70B run on N GPUs):

- ``bnb_4bit_quant_storage`` = the compute dtype (bf16): FSDP shards float tensors only, so the
  packed NF4 weights are stored as bf16 elements; the model is loaded in that same dtype.
- Uniform dtypes: the LoRA weights are cast to that dtype as well (no fp32 upcast), so every
  parameter of a sharded unit has one dtype.
- ``cpu_ram_efficient_loading`` on GPUs: rank 0 loads the checkpoint, the others get the weights
  by broadcast, so host RAM holds one copy, not N.
- FSDP2 keeps the original parameters (the FSDP1 ``use_orig_params`` question does not arise),
  so frozen base weights and trainable LoRA weights may share a sharded unit.

On CPU, accelerate refuses FSDP ("no available devices") and quietly falls back to DDP;
``hf_trainer.with_cpu_fsdp`` switches its state to FSDP so the very same fully_shard path runs over
gloo. bitsandbytes' CPU 4-bit weights cannot be sharded, so on CPU the FSDP run is LoRA on a
16-bit base (the brief's fallback), logged as such.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bizztune.core.config import build
from bizztune.core.errors import BizztuneError, ConfigError
from bizztune.core.interfaces import Task
from bizztune.trainers.config import LoraConfig
from bizztune.trainers.lora.run import pick_device, run_training
from bizztune.trainers.lora.run_folder import LORA_CHECKPOINTS, check_resume, default_out

LAUNCH_FILE = "fsdp_launch.json"


def fsdp_config(cfg: LoraConfig, device: str) -> dict[str, Any]:
    """transformers' ``fsdp_config`` for this run (FSDP2, one unit per decoder layer)."""
    on_gpu = device.startswith("cuda")
    return {
        "version": 2,
        "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
        "reshard_after_forward": True,
        "state_dict_type": "FULL_STATE_DICT",
        "cpu_ram_efficient_loading": on_gpu,
        "activation_checkpointing": cfg.gradient_checkpointing,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(task: Task, cfg: LoraConfig) -> Path:
    """Start ``cfg.nproc`` worker processes and wait for them; returns the output folder."""
    import torch

    out = Path(cfg.out) if cfg.out else default_out(task.name, cfg)
    cfg = dataclasses.replace(cfg, out=str(out))
    device = pick_device(cfg)
    if device.startswith("cuda"):
        gpus = torch.cuda.device_count()
        if cfg.nproc > gpus:
            raise ConfigError(
                f"--nproc {cfg.nproc}: only {gpus} GPU(s) visible; one process per GPU"
            )
    elif cfg.quantization == "nf4":
        # bitsandbytes keeps CPU 4-bit weights in a layout FSDP cannot shard.
        print(
            "qlora-fsdp on CPU: 4-bit weights cannot be sharded on CPU; training LoRA on a 16-bit "
            "base under FSDP instead (on GPUs the base is NF4).",
            file=sys.stderr,
        )
        cfg = dataclasses.replace(cfg, quantization=None)
    check_resume(out, cfg, LORA_CHECKPOINTS)
    out.mkdir(parents=True, exist_ok=True)
    spec = {
        "task": str(getattr(task, "source", None) or task.name),
        "config": cfg.to_dict(),
        "fsdp": fsdp_config(cfg, device),
    }
    (out / LAUNCH_FILE).write_text(json.dumps(spec, indent=2, ensure_ascii=False))
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc_per_node={cfg.nproc}",
        f"--master_port={_free_port()}",
        "--master_addr=127.0.0.1",
        "-m",
        "bizztune.cli.worker",
        str(out / LAUNCH_FILE),
    ]
    env = dict(os.environ)
    env.setdefault(
        "OMP_NUM_THREADS", str(cfg.num_threads or max(1, (os.cpu_count() or 2) // cfg.nproc))
    )
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    if device.startswith("cuda"):
        # transformers loads on rank 0 only and broadcasts (one host copy of a 70B model).
        env["ACCELERATE_USE_FSDP"] = "true"
        env["FSDP_CPU_RAM_EFFICIENT_LOADING"] = "true"
    code = run_group(cmd, env, cfg.nproc)
    if code != 0:
        raise BizztuneError(f"qlora-fsdp: a worker process failed (exit {code}); see the log above")
    return out


STOP_GRACE_S = 10.0
"""After SIGTERM or Ctrl-C, how long the workers get to end before they are killed."""


def run_group(cmd: list[str], env: dict[str, str], nproc: int) -> int:
    """Run ``torch.distributed.run`` and its workers, and its exit code. SIGTERM or SIGINT to
    this process stops them all (the agent at once, so it prints no traceback of its own; the
    workers with SIGTERM, then SIGKILL after ``STOP_GRACE_S``: ``_stop_all``) and ends with one
    line and exit 128 + the signal. The agent also gets SIGTERM should this process die without
    a say (``_die_with_parent``), and then stops its workers itself."""
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, preexec_fn=_die_with_parent)
    got: list[int] = []
    before = {
        sig: signal.signal(sig, lambda signum, frame: got.append(signum))
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        while proc.poll() is None and not got:
            time.sleep(0.2)
        if got:
            _stop_all(proc, STOP_GRACE_S)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    if got:
        print(
            f"interrupted by {signal.Signals(got[0]).name}: stopped the launcher and its {nproc} "
            "worker processes; rerun with --resume to continue from the newest checkpoint",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(128 + got[0])
    return proc.wait()


def _stop_all(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """The agent killed at once, then every process group it and its workers run in asked to
    end (SIGTERM), then killed after ``grace_s``. torch starts each worker in a session of its
    own, so the agent's group alone does not hold them: the groups are read from the process
    tree before the agent dies (its workers are then no longer its children)."""
    groups = {proc.pid}  # start_new_session: the agent leads a group of its own
    for pid in _descendants(proc.pid):
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(pid))
    groups.discard(os.getpgrp())  # never this process's own group
    proc.kill()
    proc.wait()
    _signal_groups(groups, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _groups_alive(groups):
        time.sleep(0.1)
    _signal_groups(groups, signal.SIGKILL)


def _signal_groups(groups: set[int], sig: signal.Signals) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


def _proc_stats() -> list[tuple[int, list[str]]]:
    """Every process's pid and the fields of /proc/PID/stat after its name (Linux)."""
    stats = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            stats.append((int(stat.parent.name), stat.read_text().rsplit(")", 1)[1].split()))
        except (OSError, IndexError, ValueError):
            continue
    return stats


def _descendants(root: int) -> set[int]:
    """The pids of ``root``'s children, their children and so on."""
    children: dict[int, list[int]] = {}
    for pid, fields in _proc_stats():
        children.setdefault(int(fields[1]), []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        kids = children.get(todo.pop(), [])
        found.update(kids)
        todo.extend(kids)
    return found


def _groups_alive(groups: set[int]) -> bool:
    """Whether a process of one of ``groups`` still runs (zombies are done)."""
    return any(int(f[2]) in groups and f[0] != "Z" for _, f in _proc_stats())


def _die_with_parent() -> None:
    """In the agent, before it starts (Linux): SIGTERM to it when the launcher dies, even by
    SIGKILL, so that no training process outlives ``bizztune train``."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def worker(task: Task, spec_file: Path) -> None:
    """One FSDP process: the single-process recipe with transformers' FSDP plugin, on the
    task ``spec_file``'s ``task`` names (resolved by ``bizztune.cli.worker``)."""
    spec = json.loads(spec_file.read_text())
    cfg = build(LoraConfig, spec["config"], str(spec_file))
    run_training(task, cfg, fsdp=spec["fsdp"], show_progress=True)
