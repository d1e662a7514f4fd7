"""The head trainer's refit (``head_refit``, ``head_refit_mix``, ``head_refit_tickets``): after
the last step the heads are a logistic regression on the served model's own states, folded
exactly into the module, mixed with the heads as trained, and recorded.

    pytest tests/test_head_refit.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from conftest import run_cli


def test_head_refit_is_the_regression_on_the_served_models_own_states(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    """``head_refit: C``: after training, the saved heads are a logistic regression on the
    states the served model (base + merged LoRA) computes for the training tickets."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from bizztune.data.io import load_examples
    from bizztune.models.heads import load_head_classifier, predict_logits
    from bizztune.plugins import load_task
    from bizztune.trainers.head.finish import probe_features
    from bizztune.trainers.head.steps import encode, targets

    out = tmp_path / "refit"
    r = run_cli("train", "--recipe", "none", "--trainer", "head", "--model", str(tiny_model), "--data",
                str(split_dir), "--out", str(out), "--batch-size", "4", "--lr", "3e-3",
                "--max-steps", "3", "--eval-steps", "0", "--set", "bf16=false",
                "--set", "head_pooling=mean", "--set", "head_refit=0.5")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["head_refit"]["c"] == 0.5
    n_train = len((split_dir / "train.jsonl").read_text().splitlines())
    assert summary["head_refit"]["tickets"] == n_train  # every training ticket
    assert json.loads((out / "train_config.json").read_text())["train"]["head_refit"] == 0.5

    task = load_task("tickets")
    examples = load_examples(split_dir / "train.jsonl", task)
    clf, tok = load_head_classifier(str(tiny_model), out, device="cpu", dtype="float32")
    seqs, _ = encode(task, tok, examples, "compact", 512)
    pad = int(tok.pad_token_id or 0)
    x = probe_features(clf, seqs, pad, autocast=False).numpy()
    target = targets(task, examples)["urgency"].numpy()
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=3000)).fit(x, target)
    got = torch.softmax(predict_logits(clf, seqs, pad)["urgency"], -1)[:, ref.classes_]
    assert abs(got.numpy() - ref.predict_proba(x)).max() < 1e-3
    assert summary["head_refit"]["train_accuracy"]["urgency"] == pytest.approx(
        ref.score(x, target), abs=1e-4
    )

    for bad, msg in ((["--set", "head_refit=0"], "positive C"),):  # fmt: skip
        r = run_cli("train", "--recipe", "none", "--trainer", "head", "--model", str(tiny_model), "--data",
                    str(split_dir), "--out", str(tmp_path / "bad"), *bad)  # fmt: skip
        assert r.returncode != 0 and "Traceback" not in r.stderr and msg in r.stderr


def test_refit_sample_is_a_seeded_sample_of_at_most_limit_tickets() -> None:
    from bizztune.trainers.head.finish import refit_sample

    assert refit_sample(10, 0, 800) == list(range(10)) == refit_sample(10, 0, None)
    a = refit_sample(1600, 0, 800)
    assert len(a) == len(set(a)) == 800 and a == sorted(a)
    assert a == refit_sample(1600, 0, 800) and a != refit_sample(1600, 1, 800)


def test_refit_mix_averages_the_trained_and_the_refitted_heads(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    """``head_refit_mix: a``, ``head_refit_tickets: N``: the served heads are ``(1 - a)`` of the
    heads as trained plus ``a`` of a regression on a seeded sample of N training tickets."""
    from bizztune.data.io import load_examples
    from bizztune.models.heads import load_head_classifier
    from bizztune.plugins import load_task
    from bizztune.trainers.head.finish import refit_heads
    from bizztune.trainers.head.steps import encode, targets

    base = ("train", "--recipe", "none", "--trainer", "head", "--model", str(tiny_model), "--data", str(split_dir),
            "--batch-size", "4", "--lr", "3e-3", "--max-steps", "2", "--eval-steps", "0",
            "--set", "bf16=false", "--set", "head_pooling=mean")  # fmt: skip
    plain = tmp_path / "plain"
    r = run_cli(*base, "--out", str(plain))
    assert r.returncode == 0, r.stderr[-3000:]
    task = load_task("tickets")
    examples = load_examples(split_dir / "train.jsonl", task)

    def load() -> tuple[Any, list[list[int]], int]:
        clf, tok = load_head_classifier(str(tiny_model), plain, device="cpu", dtype="float32")
        seqs, _ = encode(task, tok, examples, "compact", 512)
        return clf, seqs, int(tok.pad_token_id or 0)

    clf, seqs, pad = load()
    trained = {n: h.weight.detach().clone() for n, h in clf.heads.out.items()}
    alone = refit_heads(clf, seqs, targets(task, examples), pad, False, c=0.5, tickets=6, seed=3)
    refitted = {n: h.weight.detach().clone() for n, h in clf.heads.out.items()}
    clf, seqs, pad = load()
    mixed = refit_heads(clf, seqs, targets(task, examples), pad, False, c=0.5, mix=0.25,
                        tickets=6, seed=3)  # fmt: skip
    assert alone["tickets"] == mixed["tickets"] == 6 and mixed["mix"] == 0.25
    for n, h in clf.heads.out.items():
        assert not torch.allclose(refitted[n], trained[n])
        assert torch.allclose(h.weight, 0.75 * trained[n] + 0.25 * refitted[n], atol=1e-5)

    # through the CLI: recorded, and refused without head_refit or out of range
    out = tmp_path / "mixed"
    r = run_cli(*base, "--out", str(out), "--set", "head_refit=0.5", "--set", "head_refit_mix=0.5",
                "--set", "head_refit_tickets=6")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert (summary["head_refit"]["tickets"], summary["head_refit"]["mix"]) == (6, 0.5)
    for bad, msg in ((["--set", "head_refit_mix=0.5"], "need head_refit"),
                     (["--set", "head_refit=1", "--set", "head_refit_mix=0"], "(0, 1]"),
                     (["--set", "head_refit=1", "--set", "head_refit_tickets=1"], "at least 2")):  # fmt: skip
        r = run_cli(*base, "--out", str(tmp_path / "bad"), *bad)
        assert r.returncode != 0 and "Traceback" not in r.stderr and msg in r.stderr, r.stderr
