"""qlora-fsdp with 2 gloo processes on CPU trains like one process: the loss curves match."""

from __future__ import annotations

import json
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
