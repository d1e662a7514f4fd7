"""``bizztune train --report-to``: the training and validation loss in a tracker's local store.

    pytest tests/test_tracking.py

TensorBoard's event files are read back with TensorBoard's own reader and compared with the
run's loss_curve.json, which bizztune writes from the same Trainer logs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli

FAST = [
    "--set", "bf16=false", "--batch-size", "4", "--lr", "5e-3", "--threads", "2",
    "--set", "limit_val=8",
]  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bizztune.testing import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.mark.parametrize("trainer", ["lora", "head"])
def test_tensorboard_gets_train_and_eval_loss(
    tiny: Path, split_dir: Path, tmp_path: Path, trainer: str
) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    r = run_cli(
        "train", "--recipe", "none", "--trainer", trainer, "--model", str(tiny), "--data", str(split_dir),
        "--out", str(out), "--max-steps", "4", "--eval-steps", "2", "--save-steps", "100",
        "--report-to", "tensorboard", *FAST,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    events = sorted(out.glob("runs/**/events.out.tfevents.*"))
    assert events, f"no TensorBoard event file under {out / 'runs'}"
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert "train/loss" in tags and "eval/loss" in tags
    train = {e.step: e.value for e in acc.Scalars("train/loss")}
    evals = {e.step: e.value for e in acc.Scalars("eval/loss")}
    curve = json.loads((out / "loss_curve.json").read_text())
    assert sorted(train) == [1, 2, 3, 4] and sorted(evals) == [2, 4]
    assert [p["step"] for p in curve["val"]] == [2, 4]
    for point in curve["val"]:
        assert evals[point["step"]] == pytest.approx(point["loss"], rel=1e-5)
    for point in curve["train"]:
        assert train[point["step"]] == pytest.approx(point["loss"], rel=1e-5)
    record = json.loads((out / "train_config.json").read_text())
    assert record["train"]["report_to"] == "tensorboard"


def test_no_tracker_by_default_and_every_field_is_recorded(tmp_path: Path) -> None:
    from dataclasses import fields

    from bizztune.trainers.config import LoraConfig

    assert LoraConfig().to_dict()["report_to"] == "none"
    assert LoraConfig(report_to="tensorboard").to_dict()["report_to"] == "tensorboard"
    assert set(LoraConfig().to_dict()) == {f.name for f in fields(LoraConfig)}


@pytest.mark.skipif(
    __import__("importlib.util").util.find_spec("mlflow") is not None, reason="mlflow installed"
)
@pytest.mark.parametrize("trainer", ["lora", "head"])
def test_a_tracker_that_is_not_installed_stops_before_training_in_one_line(
    tiny: Path, split_dir: Path, tmp_path: Path, trainer: str
) -> None:
    r = run_cli(
        "train", "--recipe", "none", "--trainer", trainer, "--model", str(tiny), "--data", str(split_dir),
        "--out", str(tmp_path / "m"), "--max-steps", "1", "--report-to", "mlflow", *FAST,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "error: --report-to mlflow needs the 'mlflow' package: pip install mlflow"
    )
    assert not (tmp_path / "m" / "adapter_model.safetensors").exists()
