"""Every trainer resumes from the step of its newest intact checkpoint after a real SIGKILL,
refuses a second writer, and never runs code from a checkpoint or adapter it loads.

    pytest tests/test_resume.py

A kill -9 test checks the step a resumed run started at (``resumed_from`` in
train_summary.json), not only the final weights: a run that restarts at step 0 ends with the
same weights as one that resumed, so weights alone cannot tell the two apart.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import clifork

from conftest import run_cli

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="signals: Linux only")


def cli_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("bizztune")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "bizztune.cli"]


def step_of(ckpt: Path) -> int:
    return int(ckpt.name.rsplit("-", 1)[1])


def kill_after_checkpoint(args: list[str], out: Path, step: int, last_file: str) -> int:
    """Start ``bizztune train ARGS``, SIGSTOP it once ``checkpoint-STEP/LAST_FILE`` exists (the
    file a trainer writes last), note the newest complete checkpoint, SIGKILL it; returns
    that checkpoint's step."""
    proc = clifork.popen([*cli_cmd(), "train", "--recipe", "none", *args], None, dict(os.environ))
    try:
        deadline = time.monotonic() + 300
        while not (out / f"checkpoint-{step}" / last_file).exists():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "no checkpoint came"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGSTOP)  # frozen: what is on disk now is what the kill leaves
        done = [c for c in out.glob("checkpoint-*") if (c / last_file).is_file()]
        newest = max(step_of(c) for c in done)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "train_summary.json").exists()  # it was killed mid-run
    return newest


@pytest.mark.parametrize(
    ("trainer", "last_file", "extra"),
    [
        ("head", "state.json", ["--dropout", "0"]),  # written to a temp folder, renamed whole
        ("lora", "trainer_state.json", ["--set", "bf16=false"]),  # transformers writes it last
    ],
)
def test_a_killed_run_resumes_from_the_step_of_its_newest_checkpoint(
    tiny_model: Path, split_dir: Path, tmp_path: Path, trainer: str, last_file: str,
    extra: list[str],
) -> None:  # fmt: skip
    out = tmp_path / trainer
    args = ["--trainer", trainer, "--model", str(tiny_model), "--data", str(split_dir),
            "--out", str(out), "--max-steps", "40", "--save-steps", "3", "--eval-steps", "0",
            "--batch-size", "4", "--lr", "3e-3", "--threads", "1", *extra]  # fmt: skip
    newest = kill_after_checkpoint(args, out, 9, last_file)
    assert 9 <= newest < 40
    r = run_cli("train", "--recipe", "none", *args, "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "damaged" not in r.stderr, r.stderr[-3000:]
    assert f"resuming from {out / f'checkpoint-{newest}'}" in r.stderr
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from"] == newest  # not 0: the checkpoint's progress was kept
    assert summary["steps"] == 40


def test_every_trainer_refuses_a_second_writer(split_dir: Path, tmp_path: Path) -> None:
    """The class: every registered trainer takes the output lock before anything else."""
    from bizztune.core.errors import ConfigError
    from bizztune.data.locks import output_lock
    from bizztune.plugins import load_task, registry

    task = load_task("tickets")
    names = registry().names("trainer")
    assert {"head", "lora", "qlora", "qlora-fsdp", "qlora-head"} <= set(names)
    for name in names:
        out = tmp_path / name
        trainer = registry().trainer(name)
        cfg = trainer.config_type(model="no-such-model", data=str(split_dir), out=str(out))
        refused = pytest.raises(ConfigError, match="another bizztune process is writing it")
        with output_lock(out, folder=True), refused:
            trainer.train(task, cfg)
        assert not (out / "train_config.json").exists(), name


# -- untrusted files ------------------------------------------------------------------------------
class _Evil:
    """Pickled as a call of os.system: loading it with weights_only=False would run it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _evil_torch_file(path: Path, marker: Path) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"optimizer": _Evil(marker), "state": torch.zeros(2)}, path)


def _safetensors(path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(path))


def _head_checkpoint(out: Path, marker: Path) -> None:
    ckpt = out / "checkpoint-3"
    _evil_torch_file(ckpt / "optimizer.pt", marker)
    _safetensors(ckpt / "trainable.safetensors")
    (ckpt / "state.json").write_text(json.dumps({"step": 3, "history": [], "total": None}))


def _lora_checkpoint(out: Path, marker: Path) -> None:
    import torch

    ckpt = out / "checkpoint-3"
    _evil_torch_file(ckpt / "rng_state.pth", marker)
    for name in ("optimizer.pt", "scheduler.pt"):  # whole, so that only the pickle is wrong
        torch.save({}, ckpt / name)
    _safetensors(ckpt / "adapter_model.safetensors")
    (ckpt / "adapter_config.json").write_text("{}")
    (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": 3}))


@pytest.mark.parametrize("trainer", ["head", "lora"])
def test_a_checkpoint_that_would_run_code_is_refused_not_run(
    tiny_model: Path, split_dir: Path, tmp_path: Path, trainer: str
) -> None:
    out, marker = tmp_path / "run", tmp_path / "pwned"
    (_head_checkpoint if trainer == "head" else _lora_checkpoint)(out, marker)
    r = run_cli("train", "--recipe", "none", "--trainer", trainer, "--model", str(tiny_model), "--data",
                str(split_dir), "--out", str(out), "--max-steps", "6", "--resume")  # fmt: skip
    assert not marker.exists(), "the pickle's code ran"
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr[-3000:]
    assert "holds objects other than tensors" in lines[0] and "checkpoint-3" in lines[0]


def test_an_adapter_whose_weights_would_run_code_is_refused_not_run(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    adapter, marker = tmp_path / "adapter", tmp_path / "pwned"
    _evil_torch_file(adapter / "adapter_model.bin", marker)
    lora = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 2, "lora_alpha": 4,
            "target_modules": ["q_proj"], "base_model_name_or_path": str(tiny_model)}  # fmt: skip
    (adapter / "adapter_config.json").write_text(json.dumps(lora))
    r = run_cli("eval", "--provider", "hf", "--model", str(tiny_model), "--adapter",
                str(adapter), "--data", str(split_dir), "--limit", "2",
                "--out", str(tmp_path / "ev"))  # fmt: skip
    assert not marker.exists(), "the pickle's code ran"
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr[-3000:]
    assert "adapter_model.bin" in lines[0] and "holds objects other than tensors" in lines[0]
