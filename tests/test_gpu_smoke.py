"""scripts/gpu-smoke.sh and its helper, on a machine without a GPU: the clean refusal, the
stages' bookkeeping and checks, the report's figures, shellcheck. (The smoke itself needs a
GPU; these run in a second.)"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "scripts" / "gpu-smoke.sh"


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def smoke() -> ModuleType:
    return _module(ROOT / "scripts" / "gpu_smoke.py")


def _fake_nvidia_smi(bin_dir: Path, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "nvidia-smi"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)


@pytest.mark.parametrize(
    "nvidia_smi",
    [
        None,  # no driver tools at all
        "echo 'NVIDIA-SMI has failed because it could not communicate with the driver'; exit 9",
        "echo 'No devices were found'; exit 6",
    ],
)
def test_without_a_gpu_the_smoke_refuses_in_one_line_and_runs_nothing(
    tmp_path: Path, nvidia_smi: str | None
) -> None:
    bin_dir = tmp_path / "bin"
    path = "/usr/bin:/bin"
    if nvidia_smi is None and shutil.which("nvidia-smi", path=path):
        pytest.skip("this machine has nvidia-smi in /usr/bin")
    if nvidia_smi is not None:
        _fake_nvidia_smi(bin_dir, nvidia_smi)
        path = f"{bin_dir}:{path}"
    work = tmp_path / "work"
    env = {**os.environ, "PATH": path, "SMOKE_DIR": str(work)}
    r = subprocess.run([str(SMOKE)], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 3
    assert r.stdout == ""
    assert r.stderr == "gpu-smoke: no NVIDIA GPU here (nvidia-smi finds none); nothing was run\n"
    assert not work.exists()  # not a single stage started


def test_the_smoke_refuses_an_unknown_flag_before_running_anything(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _fake_nvidia_smi(bin_dir, "echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-x)'")
    work = tmp_path / "work"
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "SMOKE_DIR": str(work)}
    r = subprocess.run([str(SMOKE), "--fast"], env=env, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr.count("\n")) == (2, 1)
    assert "unknown argument '--fast'" in r.stderr and not work.exists()


def test_a_stage_is_recorded_and_one_that_left_the_gpu_idle_fails(
    smoke: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no nvidia-smi: memory unknown
    ok = [sys.executable, "-c", "print('hello')"]
    assert smoke.main(["stage", "--work", str(tmp_path), "--name", "cpu", "--", *ok]) == 0
    assert (tmp_path / "cpu.log").read_text() == "hello\n"
    assert smoke.main(["stage", "--work", str(tmp_path), "--name", "g", "--gpu", "--", *ok]) == 1
    assert "stage g did not use the GPU" in capsys.readouterr().err
    bad = [sys.executable, "-c", "import sys; print('boom'); sys.exit(5)"]
    assert smoke.main(["stage", "--work", str(tmp_path), "--name", "bad", "--", *bad]) == 5
    assert "stage bad failed (exit 5): boom" in capsys.readouterr().err
    rows = [json.loads(x) for x in (tmp_path / "stages.jsonl").read_text().splitlines()]
    assert [(r["stage"], r["rc"], r["gpu"]) for r in rows] == [
        ("cpu", 0, False),
        ("g", 0, True),
        ("bad", 5, False),
    ]


def test_the_helpers_flags(smoke: ModuleType, tmp_path: Path) -> None:
    args = smoke.parse_args(["stage", "--work", str(tmp_path), "--name", "x", "--", "ls", "-l"])
    assert (args.command, args.gpu, args.timeout) == (["ls", "-l"], False, 300.0)
    for bad in (
        ["stage", "--work", str(tmp_path), "--name", "x"],  # no command
        ["stage", "--work", str(tmp_path), "--name", "x", "--timeout", "0", "--", "ls"],
        ["report"],  # no --work
        ["reprot", "--work", str(tmp_path)],
    ):
        with pytest.raises(SystemExit) as e:
            smoke.parse_args(bad)
        assert e.value.code == 2
    assert smoke.main(["report", "--work", str(tmp_path / "nowhere")]) == 2


def test_card_peaks(smoke: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BF16_PEAK_TFLOPS", raising=False)
    assert smoke.bf16_peak("NVIDIA H100 80GB HBM3") == 989.4
    assert smoke.bf16_peak("NVIDIA H100 PCIe") == 756.5
    assert smoke.bf16_peak("NVIDIA H200") == 989.4
    assert smoke.bf16_peak("NVIDIA GeForce RTX 3060") is None
    monkeypatch.setenv("BF16_PEAK_TFLOPS", "100")
    assert smoke.bf16_peak("NVIDIA GeForce RTX 3060") == 100.0


def _artifacts(work: Path, head_device: str = "cuda:0") -> None:
    def put(rel: str, obj: Any) -> None:
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(json.dumps(obj))

    stages = ["qlora", "head", "eval-qlora", "eval-head", "serve"]
    (work / "stages.jsonl").write_text(
        "".join(
            json.dumps({"stage": s, "gpu_mem_peak_mib": 1000 + i}) + "\n"
            for i, s in enumerate(stages)
        )
    )
    put("qlora/train_summary.json", {"device": "cuda:0", "quantization": "nf4", "steps": 40,
                                     "tokens_per_s": 20000.0, "model_tflops_per_s": 98.94})  # fmt: skip
    put("head/train_summary.json", {"device": head_device, "quantization": None, "steps": 40,
                                    "tokens_per_s": 30000.0, "model_tflops_per_s": 49.47})  # fmt: skip
    for ev in ("eval-qlora", "eval-head"):
        put(f"{ev}/config.json", {"provider_info": {"device": "cuda:0"}})
        put(f"{ev}/metrics.json", {"usage": {"items_per_s": 50.0}, "joint": {"accuracy": 0.5}})
    served = {"1": {"clients": 1, "throughput_rps": 10.0, "p99_ms": 150.0, "errors": 0,
                    "items_per_batch": 1.0},
              "16": {"clients": 16, "throughput_rps": 40.0, "p99_ms": 600.0, "errors": 0,
                     "items_per_batch": 9.5}}  # fmt: skip
    put("serve.json", {"served": served, "batching_gain": 4.0, "served_vs_offline": 0.8})


def test_the_report_gives_mfu_against_the_card_and_the_batching_gain(
    smoke: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("BF16_PEAK_TFLOPS", "989.4")
    _artifacts(tmp_path)
    lines = smoke.report(tmp_path)
    assert lines[0] == "GPU: unknown GPU; bf16 peak 989.4 TFLOP/s (dense, data sheet)"
    assert "train qlora: 40 steps, 20000.0 tokens/s" in lines[1] and "MFU 10.0%" in lines[1]
    assert "MFU 5.0%" in lines[2] and "peak GPU memory 1001 MiB" in lines[2]
    assert lines[3].startswith("eval-qlora: 50.0 tickets/s, joint accuracy 0.5")
    assert "16 clients 40.0 req/s" in lines[5] and "batching gain 4.0x" in lines[5]


def test_the_report_fails_when_a_stage_ran_off_cuda(smoke: ModuleType, tmp_path: Path) -> None:
    _artifacts(tmp_path, head_device="cpu")
    with pytest.raises(SystemExit, match="training head ran on 'cpu', not on CUDA"):
        smoke.report(tmp_path)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_the_shell_scripts_pass_shellcheck() -> None:
    scripts = sorted(str(p) for p in (ROOT / "scripts").glob("*.sh"))
    r = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout
