"""Kill the real CLI mid-write (SIGKILL), rerun it, and check that nothing was lost or written
twice: the outputs equal those of an uninterrupted run. And two writers on one output: the
second fails at once with one line.

    pytest tests/test_fault_injection.py

The child processes run ``tests/faultinject.py``, which kills itself at a chosen point: after
N lines of an append-only file (optionally leaving the next line torn inside a UTF-8
character), or half-way through a checkpoint file. Tiny models and few items keep each run to
seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).parent
KILLED = -signal.SIGKILL

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="signals and /proc: Linux only"),
    # killed runs in child processes must equal a reference run made here, bit for bit; and
    # faultinject.py patches torch and safetensors before they are imported, so its runs are
    # real subprocesses, not clifork's forks
    pytest.mark.usefixtures("same_threads_everywhere"),
]


def cli(fault: str, *args: str, cwd: Path, wait: bool = True) -> Any:
    """The CLI in a child process with ``fault`` armed (``none``: a plain run)."""
    cmd = [sys.executable, str(HERE / "faultinject.py"), fault, "--", *args]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    if not wait:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          check=False)  # fmt: skip


def ok(r: Any) -> Any:
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def killed(r: Any) -> None:
    assert r.returncode == KILLED, f"not killed (rc {r.returncode}): {r.stderr[-2000:]}"


def wait_stopped(p: subprocess.Popen[str], timeout: float = 120) -> None:
    """Until the child has stopped itself (SIGSTOP), holding what it holds."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        state = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            return
        assert p.poll() is None, p.communicate()[1][-2000:]
        time.sleep(0.05)
    raise AssertionError("the first writer never stopped")


def finish(p: subprocess.Popen[str]) -> None:
    p.send_signal(signal.SIGKILL)
    p.communicate()


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def predictions(run: Path) -> dict[str, dict[str, Any]]:
    """Records by id, without the timings that differ between runs."""
    out = {}
    for r in jsonl(run / "predictions.jsonl"):
        r.pop("latency_s")
        out[r["id"]] = r
    return out


def metrics(run: Path) -> dict[str, Any]:
    m = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    m.pop("usage")
    return m  # type: ignore[no-any-return]


def adapter(path: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(path / "adapter_model.safetensors"))


def same_weights(a: dict[str, Any], b: dict[str, Any]) -> bool:
    import torch

    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bizztune.testing import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


# -- generate -------------------------------------------------------------------------------------
def test_generate_killed_three_times_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    args = ["generate", "-n", "300", "--seed", "3", "--out"]
    ok(cli("none", *args, "ref.jsonl", cwd=tmp_path))
    out = tmp_path / "t.jsonl"
    for fault in ("lines:1:torn", "lines:150", "lines:120:torn"):
        killed(cli(fault, *args, str(out), cwd=tmp_path))
    raw = out.read_bytes()
    assert not raw.endswith(b"\n")  # the last kill left a torn line behind
    r = ok(cli("none", *args, str(out), cwd=tmp_path))
    assert "300 rows (" in r.stdout
    assert out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes()
    ids = [row["id"] for row in jsonl(out)]
    assert len(ids) == len(set(ids)) == 300


# -- eval on a tiny model -------------------------------------------------------------------------
def test_eval_killed_mid_line_resumes_to_the_same_predictions(
    tiny: Path, split_dir: Path, tmp_path: Path
) -> None:
    from bizztune.core.interfaces import ProviderConfig
    from bizztune.eval.evaluate import EvalConfig

    from conftest import run_eval

    pcfg = ProviderConfig(name="hf", model=str(tiny), decoding="constrained", batch_size=1,
                          device="cpu")  # fmt: skip
    ref = run_eval(
        EvalConfig(provider=pcfg, data=str(split_dir), limit=12, out=str(tmp_path / "ref"))
    )
    args = ["eval", "--provider", "hf", "--model", str(tiny), "--decoding", "constrained",
            "--data", str(split_dir), "--limit", "12", "--batch-size", "1", "--device", "cpu",
            "--out", "run"]  # fmt: skip
    run = tmp_path / "run"
    killed(cli("lines:3:torn", *args, cwd=tmp_path))
    assert len((run / "predictions.jsonl").read_bytes().split(b"\n")) == 4  # 3 lines + a torn one
    r = ok(cli("none", *args, cwd=tmp_path))
    assert "dropped 1 torn or foreign line (line 4: cut short or not JSON)" in r.stderr
    assert len(jsonl(run / "predictions.jsonl")) == 12  # nothing lost, nothing twice
    assert predictions(run) == predictions(ref)
    assert metrics(run) == metrics(ref)


# -- train on a tiny model ------------------------------------------------------------------------
def test_train_killed_inside_checkpoint_writes_resumes_to_the_same_adapter(
    tiny: Path, split_dir: Path, tmp_path: Path
) -> None:
    args = ["train", "--recipe", "none", "--model", str(tiny), "--data", str(split_dir), "--max-steps", "6",
            "--save-steps", "2", "--eval-steps", "0", "--set", "bf16=false", "--batch-size", "4",
            "--lr", "5e-3", "--threads", "2", "--limit-train", "32"]  # fmt: skip
    from bizztune.plugins import load_task, load_trainer
    from bizztune.trainers.config import LoraConfig

    ref = load_trainer("lora").train(
        load_task("tickets"),
        LoraConfig(model=str(tiny), data=str(split_dir), max_steps=6, save_steps=2,
                    eval_steps=0, bf16="false", batch_size=4, learning_rate=5e-3,
                    num_threads=2, limit_train=32, out=str(tmp_path / "ref")),
    )  # fmt: skip
    out = tmp_path / "run"
    # inside checkpoint-4's optimizer.pt: checkpoint-4 has no trainer_state.json
    killed(cli("save:optimizer.pt:2", *args, "--out", str(out), cwd=tmp_path))
    # resumed from checkpoint-2, killed inside checkpoint-6's adapter weights
    r = cli("safetensors:2", *args, "--out", str(out), "--resume", cwd=tmp_path)
    killed(r)
    assert "checkpoint-4 is damaged (trainer_state.json is missing or damaged)" in r.stderr
    r = ok(cli("none", *args, "--out", str(out), "--resume", cwd=tmp_path))
    assert "checkpoint-6 is damaged" in r.stderr and "resuming from checkpoint-4" in r.stderr
    assert same_weights(adapter(out), adapter(ref))
    loss = json.loads((out / "loss_curve.json").read_text())["train"]
    assert loss == json.loads((ref / "loss_curve.json").read_text())["train"]
    assert json.loads((out / "train_summary.json").read_text())["steps"] == 6


# -- bizztune run on a tiny config ----------------------------------------------------------------
def run_config(path: Path, model: Path) -> Path:
    cfg = {
        "name": "tiny", "seed": 0, "data": {"n": 60},
        "model": {"name": str(model), "provider": "hf", "style": "compact", "batch_size": 1},
        # the run's own test split only: the task's foreign set would add evals and a data
        # shift that no kill point reaches
        "eval": {"baselines": ["majority"], "limit": 6, "test_sets": ["test"]},
        "train": {"trainer": "lora", "max_steps": 2, "batch_size": 4, "limit_val": 4,
                  "save_steps": 1},
        "report": {"title": "Tiny", "html": False},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_run_killed_at_several_points_equals_an_uninterrupted_run(
    tiny: Path, tmp_path: Path
) -> None:
    from bizztune.pipeline.config import load_run_config
    from bizztune.plugins import registry

    from conftest import run_experiment

    cfg = str(run_config(tmp_path / "tiny.yaml", tiny))
    run_experiment(load_run_config(Path(cfg), registry()), tmp_path / "ref")
    for fault in (
        "lines:30:torn:data/raw",  # generating the rows
        "lines:2:torn:eval-foreign/base",  # scoring the base model
        "save:optimizer.pt:2",  # writing the second checkpoint
    ):
        killed(cli(fault, "run", "--config", cfg, "--out", "run", cwd=tmp_path))
    (tmp_path / "run" / "eval" / "majority" / "stage.done.json").write_bytes(os.urandom(64))
    r = ok(cli("none", "run", "--config", cfg, "--out", "run", cwd=tmp_path))
    assert "Traceback" not in r.stderr
    ref, run = tmp_path / "ref", tmp_path / "run"
    for f in ("data/raw/tickets.jsonl", "data/split/train.jsonl", "data/split/test.jsonl"):
        assert (run / f).read_bytes() == (ref / f).read_bytes(), f
    # every evaluation of the reference, on whichever set the run scores it (the base model is
    # scored on the Decision's sets only, not on the test split)
    scored = sorted(p.parent.relative_to(ref) for p in ref.glob("eval*/*/predictions.jsonl"))
    assert {d.name for d in scored} >= {"majority", "base", "finetuned"}, scored
    for d in scored:
        assert predictions(run / d) == predictions(ref / d), d
        assert metrics(run / d) == metrics(ref / d), d
    for label in ("majority", "finetuned"):
        assert len(jsonl(run / "eval" / label / "predictions.jsonl")) == 6
    assert same_weights(adapter(run / "train"), adapter(ref / "train"))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["ranking"] == json.loads((ref / "summary.json").read_text())["ranking"]


def test_run_redoes_a_stage_whose_outputs_were_cut_or_whose_marker_is_garbage(
    tmp_path: Path,
) -> None:
    cfg = tmp_path / "data.yaml"
    cfg.write_text(yaml.safe_dump({"name": "d", "data": {"n": 80}}), encoding="utf-8")
    run = ["run", "--config", str(cfg), "--out", "r", "--stages", "generate,split"]
    ok(cli("none", *run, cwd=tmp_path))
    r_dir = tmp_path / "r"
    rows = (r_dir / "data" / "raw" / "tickets.jsonl").read_bytes()
    split = (r_dir / "data" / "split" / "train.jsonl").read_bytes()
    (r_dir / "data" / "raw" / "tickets.jsonl").write_bytes(rows[: len(rows) // 2])
    (r_dir / "data" / "split" / "stage.done.json").write_bytes(os.urandom(100))
    r = ok(cli("none", *run, cwd=tmp_path))
    assert "generate redo: its outputs differ from what it recorded: tickets.jsonl" in r.stderr
    assert (r_dir / "data" / "raw" / "tickets.jsonl").read_bytes() == rows
    assert (r_dir / "data" / "split" / "train.jsonl").read_bytes() == split
    r = ok(cli("none", *run, cwd=tmp_path))
    assert "generate cached" in r.stderr and "split cached" in r.stderr


def test_a_damaged_marker_is_redone_even_when_stages_leaves_it_out(tmp_path: Path) -> None:
    """Random bytes in a marker mean "redo this stage", never "this stage is absent": with
    --stages naming only the stage after it, it is redone (with one line) and nothing lost."""
    cfg = tmp_path / "data.yaml"
    cfg.write_text(yaml.safe_dump({"name": "d", "data": {"n": 80}}), encoding="utf-8")
    run = ["run", "--config", str(cfg), "--out", "r", "--stages"]
    ok(cli("none", *run, "generate,split", cwd=tmp_path))
    split = (tmp_path / "r" / "data" / "split" / "train.jsonl").read_bytes()
    (tmp_path / "r" / "data" / "raw" / "stage.done.json").write_bytes(os.urandom(100))
    r = ok(cli("none", *run, "split", cwd=tmp_path))
    assert "generate redo: its stage.done.json is damaged (not JSON)" in r.stderr, r.stderr
    assert (tmp_path / "r" / "data" / "split" / "train.jsonl").read_bytes() == split
    r = ok(cli("none", *run, "generate,split", cwd=tmp_path))
    assert "generate cached" in r.stderr and "split cached" in r.stderr


# -- two writers ----------------------------------------------------------------------------------
def one_line(r: Any, *needles: str) -> None:
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_second_writer_of_generate_and_eval_fails_at_once(split_dir: Path, tmp_path: Path) -> None:
    gen = ["generate", "-n", "400", "--out", "t.jsonl"]
    first = cli("lines:50:stop", *gen, cwd=tmp_path, wait=False)
    try:
        wait_stopped(first)
        t0 = time.time()
        one_line(cli("none", *gen, cwd=tmp_path), "--out t.jsonl", "another bizztune process")
        assert time.time() - t0 < 30  # at once: it did not wait for the first
    finally:
        finish(first)
    ok(cli("none", *gen, cwd=tmp_path))
    ids = [row["id"] for row in jsonl(tmp_path / "t.jsonl")]
    assert len(ids) == len(set(ids)) == 400

    ev = ["eval", "--provider", "tfidf", "--data", str(split_dir), "--out", "e"]
    first = cli("lines:5:stop", *ev, cwd=tmp_path, wait=False)
    try:
        wait_stopped(first)
        one_line(cli("none", *ev, cwd=tmp_path), "--out e", "another bizztune process")
        assert len(jsonl(tmp_path / "e" / "predictions.jsonl")) == 5  # the second wrote nothing
    finally:
        finish(first)


def test_second_writer_through_a_symlink_fails_at_once(tmp_path: Path) -> None:
    """Two names of one file are one output: the lock is taken on the real file."""
    (tmp_path / "l.jsonl").symlink_to("g.jsonl")
    gen = ["generate", "-n", "300", "--out"]
    first = cli("lines:50:stop", *gen, "g.jsonl", cwd=tmp_path, wait=False)
    try:
        wait_stopped(first)
        one_line(cli("none", *gen, "l.jsonl", cwd=tmp_path), "--out l.jsonl", "another bizztune")
    finally:
        finish(first)
    ok(cli("none", *gen, "l.jsonl", cwd=tmp_path))  # resumes the real file through the link
    ids = [row["id"] for row in jsonl(tmp_path / "g.jsonl")]
    assert len(ids) == len(set(ids)) == 300


def test_second_writer_of_train_and_run_fails_at_once(
    tiny: Path, split_dir: Path, tmp_path: Path
) -> None:
    from bizztune.data.locks import output_lock

    # A training process holds its --out for the whole run (held here, so the test does not
    # wait seconds for a first trainer to start): a second one fails before importing torch.
    train = ["train", "--recipe", "none", "--model", str(tiny), "--data", str(split_dir), "--max-steps", "1",
             "--out", "t"]  # fmt: skip
    with output_lock(tmp_path / "t", folder=True):
        t0 = time.time()
        one_line(cli("none", *train, cwd=tmp_path), "--out t", "another bizztune process")
        assert time.time() - t0 < 30
    assert not (tmp_path / "t" / "train_config.json").exists()

    cfg = str(run_config(tmp_path / "tiny.yaml", tiny))
    run = ["run", "--config", cfg, "--out", "r"]
    first = cli("lines:10:stop:data/raw", *run, cwd=tmp_path, wait=False)
    try:
        wait_stopped(first)
        one_line(cli("none", *run, cwd=tmp_path), "--out r", "another bizztune process")
    finally:
        finish(first)
