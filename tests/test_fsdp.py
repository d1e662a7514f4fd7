"""qlora-fsdp with 2 gloo processes on CPU trains like one process: the loss curves match; and
SIGTERM to the launcher stops it and both workers with one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("accelerate")

from conftest import run_cli

# Same global batch (1 x 4 = 2 processes x 2), same data order, no dropout, fp32: the only
# differences left are FSDP's sharded all-gather/reduce-scatter arithmetic.
COMMON = [
    "--max-steps", "6", "--lr", "1e-2", "--dropout", "0", "--set", "bf16=false",
    "--set", "group_by_length=false", "--eval-steps", "3", "--save-steps", "100", "--set", "limit_val=8",
    "--set", "logging_steps=1", "--seed", "3",
]  # fmt: skip


def _losses(out: Path) -> tuple[list[float], list[float]]:
    curve = json.loads((out / "loss_curve.json").read_text())
    return [p["loss"] for p in curve["train"]], [p["loss"] for p in curve["val"]]


def test_fsdp_two_cpu_processes_match_single_process(split_dir: Path, tmp_path: Path) -> None:
    from bizztune.testing import make_tiny_model

    tiny = make_tiny_model(tmp_path / "tiny")
    base = ["--model", str(tiny), "--data", str(split_dir), *COMMON]
    single = run_cli(
        "train", "--recipe", "none", "--trainer", "lora", "--out", str(tmp_path / "one"), "--batch-size", "4",
        "--threads", "2", *base,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr
    fsdp = run_cli(
        "train", "--recipe", "none", "--trainer", "qlora-fsdp", "--nproc", "2", "--out", str(tmp_path / "two"),
        "--batch-size", "2", "--threads", "1", *base,
    )  # fmt: skip
    assert fsdp.returncode == 0, fsdp.stderr[-3000:]
    # On CPU the 4-bit base cannot be sharded: LoRA under FSDP, and it says so.
    assert "4-bit weights cannot be sharded on CPU" in fsdp.stderr

    resolved = json.loads((tmp_path / "two" / "train_config.json").read_text())["resolved"]
    assert resolved["world_size"] == 2
    assert resolved["fsdp"]["version"] == 2
    summary = json.loads((tmp_path / "two" / "train_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 6
    assert (tmp_path / "two" / "adapter_model.safetensors").is_file()

    one_train, one_val = _losses(tmp_path / "one")
    two_train, two_val = _losses(tmp_path / "two")
    assert len(one_train) == len(two_train) == 6 and len(one_val) == len(two_val) == 2
    assert one_train[-1] < one_train[0] - 0.05  # it learned something, so the match means more
    for a, b in zip(one_train + one_val, two_train + two_val, strict=True):
        assert b == pytest.approx(a, rel=2e-3, abs=2e-3)

    # The adapter saved from the shards (full state dict) is the single-process adapter.
    from safetensors.torch import load_file

    one = load_file(tmp_path / "one" / "adapter_model.safetensors")
    two = load_file(tmp_path / "two" / "adapter_model.safetensors")
    assert one.keys() == two.keys() and len(one) > 0
    for k in one:
        assert one[k].shape == two[k].shape
        assert (one[k] - two[k]).abs().max().item() < 1e-3, k


def _tree(root: int) -> set[int]:
    """The pids of ``root``'s descendants, from /proc (Linux)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        kids = [c for c, p in parents.items() if p == pid]
        found.update(kids)
        todo.extend(kids)
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="process groups and /proc: Linux only")
def test_sigterm_stops_the_launcher_and_both_workers_with_one_line(
    split_dir: Path, tmp_path: Path
) -> None:
    from bizztune.testing import make_tiny_model

    tiny, out = make_tiny_model(tmp_path / "tiny"), tmp_path / "run"
    exe = Path(sys.executable).with_name("bizztune")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "bizztune.cli"]
    proc = subprocess.Popen(
        [*cmd, "train", "--trainer", "qlora-fsdp", "--nproc", "2", "--model", str(tiny),
         "--data", str(split_dir), "--out", str(out), "--max-steps", "100000",
         "--save-steps", "100000", "--eval-steps", "0", "--batch-size", "2", "--threads", "1",
         "--set", "bf16=false"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    tree: set[int] = set()
    try:
        deadline = time.monotonic() + 300
        # rank 0 writes train_config.json once both workers have loaded the model
        while not (out / "train_config.json").exists():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the workers never started training"
            time.sleep(0.2)
        time.sleep(2)
        tree = _tree(proc.pid)
        assert len(tree) >= 3  # torch.distributed.run and its two workers
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        lines = [x for x in err.splitlines() if x.strip()]
        assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
        assert "Traceback" not in err and "SignalException" not in err, err[-3000:]
        assert lines[-1].startswith("interrupted by SIGTERM: stopped the launcher and its 2 ")
        time.sleep(1)
        assert not [pid for pid in tree if _running(pid)], "a training process survived"
    finally:
        for pid in [*tree, proc.pid]:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.communicate()
