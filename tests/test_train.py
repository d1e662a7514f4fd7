"""Training end to end on a tiny local model: files, loss, resume, stopping, QLoRA, sweep, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

from bizztune.plugins import load_task, load_trainer
from bizztune.trainers.config import LoraConfig

from conftest import run_cli

# Fast settings for the tiny model: fp32 (bf16 only pays off at real sizes), no checkpoints
# except where resume is tested, a learning rate that moves a random model in a few steps.
FAST = [
    "--set", "bf16=false", "--batch-size", "4", "--lr", "5e-3", "--threads", "2",
    "--set", "logging_steps=1", "--set", "limit_val=16",
]  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bizztune.testing import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def _curve(out: Path) -> dict[str, list[dict[str, float]]]:
    return json.loads((out / "loss_curve.json").read_text())


def _train(tiny: Path, split_dir: Path, out: Path, *flags: str, trainer: str = "lora") -> Any:
    """`bizztune train` on the tiny model and the test split, with the fast settings."""
    return run_cli(
        "train", "--recipe", "none", "--trainer", trainer, "--model", str(tiny), "--data", str(split_dir),
        "--out", str(out), *flags, *FAST,
    )  # fmt: skip


def test_train_cli_writes_adapter_and_loss_decreases(
    tiny: Path, split_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    r = _train(
        tiny, split_dir, out, "--max-steps", "12", "--eval-steps", "4", "--save-steps", "100"
    )
    assert r.returncode == 0, r.stderr
    # third-party noise a user cannot act on stays out of the output
    assert "kernels-community" not in r.stderr and "Loading weights" not in r.stderr
    for name in (
        "adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "chat_template.jinja",
        "train_config.json", "train_summary.json", "loss_curve.json", "loss_curve.png",
    ):  # fmt: skip
        assert (out / name).is_file(), name
    assert f"adapter: {out}" in r.stdout
    curve = _curve(out)
    train = [p["loss"] for p in curve["train"]]
    val = [p["loss"] for p in curve["val"]]
    assert len(train) == 12 and [p["step"] for p in curve["val"]] == [4, 8, 12]
    assert sum(train[-3:]) / 3 < sum(train[:3]) / 3 - 0.05
    assert val[-1] < val[0]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["steps"] == 12 and summary["tokens_trained"] > 0
    assert summary["tokens_per_s"] > 0 and summary["final_val_loss"] == pytest.approx(val[-1])
    resolved = json.loads((out / "train_config.json").read_text())
    assert resolved["train"]["r"] == 8 and resolved["train"]["target_modules"][-1] == "gate_proj"
    assert resolved["resolved"]["end_of_turn"] == "<|im_end|>"
    assert resolved["resolved"]["train_examples"] == len(
        (split_dir / "train.jsonl").read_text().splitlines()
    )
    adapter_cfg = json.loads((out / "adapter_config.json").read_text())
    assert adapter_cfg["r"] == 8 and adapter_cfg["lora_alpha"] == 8
    assert set(adapter_cfg["target_modules"]) == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
    }


def test_resume_continues_from_the_last_checkpoint(
    tiny: Path, split_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    common = [
        "--model",
        str(tiny),
        "--data",
        str(split_dir),
        "--out",
        str(out),
        "--eval-steps",
        "0",
        *FAST,
    ]
    first = run_cli("train", "--recipe", "none", *common, "--max-steps", "4", "--save-steps", "2")
    assert first.returncode == 0, first.stderr
    assert (out / "checkpoint-4").is_dir()
    again = run_cli("train", "--recipe", "none", *common, "--max-steps", "8", "--save-steps", "2")
    assert again.returncode == 2 and "pass --resume" in again.stderr
    other = run_cli(
        "train", "--recipe", "none", *common, "--max-steps", "8", "--r", "4", "--resume"
    )
    assert other.returncode == 2 and "r=8, not 4" in other.stderr
    # Another micro-batching would skip the wrong number of batches when resuming.
    other = run_cli(
        "train",
        "--recipe",
        "none",
        *common,
        "--max-steps",
        "8",
        "--set",
        "padding_free=true",
        "--resume",
    )
    assert other.returncode == 2 and "padding_free" in other.stderr
    resumed = run_cli(
        "train", "--recipe", "none", *common, "--max-steps", "8", "--save-steps", "2", "--resume"
    )
    assert resumed.returncode == 0, resumed.stderr
    steps = [p["step"] for p in _curve(out)["train"]]
    assert steps == list(range(1, 9))  # the first four come from the checkpoint's history
    assert json.loads((out / "train_summary.json").read_text())["steps"] == 8
    assert (out / "checkpoint-8").is_dir()


def test_training_teaches_the_end_of_turn_token(
    tiny: Path, split_dir: Path, tmp_path: Path
) -> None:
    """The end-of-turn token after the answer carries loss, so the model learns to stop."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from bizztune.data.io import load_examples
    from bizztune.trainers.lora.collate import encode_example

    # make_tiny_model's embeddings (std 0.02, tied to the LM head) cap every logit near 1, so
    # no LoRA update could make any token likely; larger embeddings let the logits move.
    model_dir = tmp_path / "tiny-wide-logits"
    base = AutoModelForCausalLM.from_pretrained(tiny)
    with torch.no_grad():
        base.get_input_embeddings().weight.mul_(30.0)
    base.save_pretrained(model_dir)
    AutoTokenizer.from_pretrained(tiny).save_pretrained(model_dir)

    task = load_task("tickets")
    out = tmp_path / "run"
    cfg = LoraConfig(
        model=str(model_dir), data=str(split_dir), out=str(out), max_steps=30, batch_size=8,
        learning_rate=1e-2, bf16=False, eval_steps=0, save_steps=1000, dropout=0.0,
        num_threads=2,
    )  # fmt: skip
    load_trainer("lora").train(task, cfg)
    tok = AutoTokenizer.from_pretrained(out)
    eot = tok.convert_tokens_to_ids("<|im_end|>")
    base = AutoModelForCausalLM.from_pretrained(model_dir).eval()

    def p_end(model: Any) -> float:
        """Mean probability of the end-of-turn token right after the gold answer."""
        probs = []
        for ex in load_examples(split_dir, task, "val")[:8]:
            ids = torch.tensor([encode_example(task, tok, ex, "compact").input_ids])
            with torch.no_grad():
                logits = model(input_ids=ids[:, :-1]).logits[0, -1]
            probs.append(torch.softmax(logits.float(), -1)[eot].item())
        return sum(probs) / len(probs)

    before = p_end(base)
    after = p_end(PeftModel.from_pretrained(base, out).eval())
    assert before < 1e-6
    assert after > 0.03 and after > 1e4 * before


def test_qlora_nf4_trains_on_cpu(tiny: Path, split_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("bitsandbytes")
    out = tmp_path / "q"
    r = _train(
        tiny, split_dir, out, "--max-steps", "3", "--eval-steps", "0", "--save-steps", "100",
        trainer="qlora",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["quantization"] == "nf4" and summary["trainer"] == "qlora"
    resolved = json.loads((out / "train_config.json").read_text())
    assert resolved["train"]["quantization"] == "nf4"
    assert (out / "adapter_model.safetensors").is_file()
    assert all(p["loss"] == p["loss"] for p in _curve(out)["train"])  # no NaN
    # The printed next step scores the adapter on the 4-bit base it was trained on.
    hint = next(line for line in r.stdout.splitlines() if line.startswith("evaluate: "))
    assert f"--adapter {out}" in hint and hint.endswith("--load-in-4bit")


def test_padding_free_trains_the_same_as_padded_batches(
    tiny: Path, split_dir: Path, tmp_path: Path
) -> None:
    """Unpadded micro-batches of one, accumulated to the batch size, give the same optimizer
    steps as padded batches: same examples per step, same answer-token loss normalization."""
    curves = {}
    for mode in ("true", "false"):
        out = tmp_path / f"pf-{mode}"
        r = _train(
            tiny, split_dir, out, "--max-steps", "4", "--eval-steps", "0", "--save-steps", "100",
            "--dropout", "0", "--set", "group_by_length=false", "--set", f"padding_free={mode}",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        resolved = json.loads((out / "train_config.json").read_text())["resolved"]
        assert resolved["padding_free"] is (mode == "true")
        assert resolved["micro_batch_size"] == (1 if mode == "true" else 4)
        curves[mode] = [p["loss"] for p in _curve(out)["train"]]
    assert len(curves["true"]) == 4
    # The first step sees the same weights: only float summation order differs.
    assert curves["true"][0] == pytest.approx(curves["false"][0], rel=1e-4)
    # Later steps follow the same updates; a different batch composition would drift by far more.
    assert curves["true"] == pytest.approx(curves["false"], rel=2e-3)


def test_loraplus_gives_b_matrices_a_higher_learning_rate(
    tiny: Path, split_dir: Path, tmp_path: Path
) -> None:
    import torch

    out = tmp_path / "plus"
    r = _train(
        tiny, split_dir, out, "--max-steps", "2", "--eval-steps", "0", "--save-steps", "2",
        "--set", "loraplus_ratio=16", "--set", "lr_scheduler=constant",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "train_config.json").read_text())["train"]["loraplus_ratio"] == 16
    state = torch.load(out / "checkpoint-2" / "optimizer.pt", weights_only=False)
    lrs = sorted({g["lr"] for g in state["param_groups"] if g["params"]})
    assert lrs == pytest.approx([5e-3, 16 * 5e-3])


def test_bad_flags_are_one_clear_line(tmp_path: Path) -> None:
    r = run_cli("train", "--recipe", "none", "--r", "0", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "--r (LoRA rank) must be at least 1" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli("train", "--recipe", "none", "--trainer", "nope", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "unknown trainer 'nope'" in r.stderr
    r = run_cli("sweep", "--out", str(tmp_path / "s"))
    assert r.returncode == 2 and "--grid" in r.stderr


def test_target_modules_not_in_model(tiny: Path, split_dir: Path, tmp_path: Path) -> None:
    r = _train(tiny, split_dir, tmp_path / "x", "--target-modules", "c_attn", "--max-steps", "1")
    assert r.returncode == 2 and "--target-modules c_attn" in r.stderr and "q_proj" in r.stderr


def test_sweep_scores_trials_on_val_and_keeps_the_best(
    tiny: Path, split_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    r = run_cli(
        "sweep", "--recipe", "none", "--model", str(tiny), "--data", str(split_dir), "--out", str(out),
        "--grid", "learning_rate=1e-3,5e-3", "--grid", "r=4", "--max-steps", "2",
        "--eval-steps", "0", "--save-steps", "100", "--eval-limit", "6",
        "--set", "bf16=false", "--batch-size", "4", "--threads", "2",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    board = json.loads((out / "leaderboard.json").read_text())
    assert {row["learning_rate"] for row in board["rows"]} == {1e-3, 5e-3}
    assert all(row["r"] == 4 for row in board["rows"])
    scores = [row["mean_accuracy"] for row in board["rows"]]
    assert scores == sorted(scores, reverse=True)
    for row in board["rows"]:
        metrics = json.loads((out / "eval-val" / row["trial"] / "metrics.json").read_text())
        assert metrics["n"] == 6
        evcfg = json.loads((out / "eval-val" / row["trial"] / "config.json").read_text())
        assert evcfg["eval"]["split"] == "val" and evcfg["eval"]["style"] == "compact"
        assert evcfg["eval"]["provider"]["adapter"] == str(out / row["trial"])
    best = out / "best"
    assert (best / "adapter_model.safetensors").is_file()
    assert board["best"]["trial"] == board["rows"][0]["trial"]
    assert json.loads((best / "adapter_config.json").read_text())["r"] == 4
    assert "| trial |" in (out / "leaderboard.md").read_text()


def test_export_merges_adapter_into_base(tiny: Path, split_dir: Path, tmp_path: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    run = tmp_path / "run"
    r = _train(tiny, split_dir, run, "--max-steps", "3", "--eval-steps", "0", "--save-steps", "100")
    assert r.returncode == 0, r.stderr
    merged = tmp_path / "merged"
    r = run_cli("export", str(run), "--out", str(merged), "--dtype", "float32")
    assert r.returncode == 0, r.stderr
    assert (merged / "model.safetensors").is_file() and (merged / "tokenizer.json").is_file()
    assert not (merged / "adapter_config.json").exists()
    ids = torch.tensor([[5, 17, 42, 99, 7]])
    with torch.no_grad():
        want = (
            PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny), run)
            .eval()(ids)
            .logits
        )
        got = AutoModelForCausalLM.from_pretrained(merged).eval()(ids).logits
        plain = AutoModelForCausalLM.from_pretrained(tiny).eval()(ids).logits
    assert torch.allclose(got, want, atol=1e-4)
    assert not torch.allclose(got, plain, atol=1e-4)  # the adapter changed something


def test_shipped_train_configs_build() -> None:
    """experiments/train-*.yaml are `bizztune train --config` files: every key must be a
    field of their trainer's config, with a valid value."""
    from bizztune.cli.train import build_train_config
    from bizztune.plugins import registry

    root = Path(__file__).resolve().parents[1] / "experiments"
    files = sorted(root.glob("train-*.yaml"))
    assert files
    for f in files:
        cfg = build_train_config(f, {}, registry())
        assert cfg.trainer in ("lora", "qlora", "qlora-fsdp"), f
    qlora = build_train_config(root / "train-qlora-cpu.yaml", {"padding_free": "false"}, registry())
    assert qlora.trainer == "qlora"  # the flag overrides the file, the rest stays
    assert qlora.padding_free is False and qlora.limit_train == 400
