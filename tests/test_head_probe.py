"""LP-FT for the head trainer (``--head-init probe``): the heads start as a logistic regression
on the frozen body's states, folded exactly into the module, and the CLI records it.

    pytest tests/test_head_probe.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from conftest import run_cli


def test_probe_heads_are_the_standardized_regression_folded_into_the_heads(
    tiny_model: Path, split_dir: Path
) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from bizztune.data.io import load_examples
    from bizztune.models.heads import HeadClassifier, HeadSpec, collate, load_body
    from bizztune.models.tokenizer import load_tokenizer
    from bizztune.plugins import load_task
    from bizztune.trainers.config import TrainConfig
    from bizztune.trainers.head.adapters import add_lora
    from bizztune.trainers.head.loop import encode, targets
    from bizztune.trainers.head.probe import fit_probe_heads, probe_features

    task = load_task("tickets")
    examples = load_examples(split_dir / "train.jsonl", task)
    tok = load_tokenizer(tiny_model)
    seqs, _ = encode(task, tok, examples, "compact", 512)
    y = targets(task, examples)
    torch.manual_seed(0)
    cfg = TrainConfig(trainer="head", model=str(tiny_model), dropout=0.0)
    body = add_lora(load_body(tiny_model, torch.float32), cfg)
    hidden = int(body.config.get_text_config().hidden_size)
    spec = HeadSpec.for_schema(task.schema, hidden, pooling="mean")
    clf = HeadClassifier(body, spec)
    pad = int(tok.pad_token_id or 0)

    x = probe_features(clf, seqs, pad, autocast=False).numpy()
    info = fit_probe_heads(clf, seqs, y, pad, autocast=False)
    assert set(info["train_accuracy"]) == {"category", "subcategory", "urgency"}
    with torch.no_grad():
        ids, mask = collate(seqs, pad)
        logits = clf(ids, mask)
    for f in spec.fields:
        target = y[f.name].numpy()
        ref = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
        ref.fit(x, target)
        want = ref.predict_proba(x)
        got = torch.softmax(logits[f.name], -1)[:, ref.classes_].numpy()
        assert abs(got - want).max() < 1e-3, f.name
        absent = [i for i in range(len(f.labels)) if i not in set(ref.classes_)]
        assert all(float(logits[f.name][:, i].max()) < -10 for i in absent), f.name
        assert info["train_accuracy"][f.name] == pytest.approx(ref.score(x, target), abs=1e-4)


def test_head_init_probe_trains_records_and_is_refused_by_the_generative_trainer(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "lpft"
    r = run_cli("train", "--trainer", "head", "--model", str(tiny_model), "--data",
                str(split_dir), "--out", str(out), "--batch-size", "4", "--max-steps", "2",
                "--eval-steps", "0", "--head-init", "probe")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["head_init"]["how"] == "probe" and summary["head_init"]["c"] == 0.1
    config = json.loads((out / "train_config.json").read_text())
    assert config["train"]["head_init"] == "probe"
    r = run_cli("train", "--trainer", "lora", "--model", str(tiny_model), "--data",
                str(split_dir), "--out", str(tmp_path / "x"), "--head-init", "probe")  # fmt: skip
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "--head-init" in r.stderr and "are for --trainer head" in r.stderr
    r = run_cli("train", "--trainer", "head", "--model", str(tiny_model), "--data",
                str(split_dir), "--out", str(tmp_path / "y"), "--head-init", "random")  # fmt: skip
    assert r.returncode == 2 and "--head-init" in r.stderr


def test_head_refit_is_the_regression_on_the_served_models_own_states(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    """``--head-refit C``: after training, the saved heads are a logistic regression on the
    states the served model (base + merged LoRA) computes for the training tickets."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from bizztune.data.io import load_examples
    from bizztune.models.heads import load_head_classifier, predict_logits
    from bizztune.plugins import load_task
    from bizztune.trainers.head.loop import encode, targets
    from bizztune.trainers.head.probe import probe_features

    out = tmp_path / "refit"
    r = run_cli("train", "--trainer", "head", "--model", str(tiny_model), "--data",
                str(split_dir), "--out", str(out), "--batch-size", "4", "--lr", "3e-3",
                "--max-steps", "3", "--eval-steps", "0", "--bf16", "false",
                "--head-pooling", "mean", "--head-refit", "0.5")  # fmt: skip
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

    for bad, msg in ((["--head-refit", "0"], "positive C"),):  # fmt: skip
        r = run_cli("train", "--trainer", "head", "--model", str(tiny_model), "--data",
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
    """``--head-refit-mix a --head-refit-tickets N``: the served heads are ``(1 - a)`` of the
    heads as trained plus ``a`` of a regression on a seeded sample of N training tickets."""
    from bizztune.data.io import load_examples
    from bizztune.models.heads import load_head_classifier
    from bizztune.plugins import load_task
    from bizztune.trainers.head.finish import refit_heads
    from bizztune.trainers.head.loop import encode, targets

    base = ("train", "--trainer", "head", "--model", str(tiny_model), "--data", str(split_dir),
            "--batch-size", "4", "--lr", "3e-3", "--max-steps", "2", "--eval-steps", "0",
            "--bf16", "false", "--head-pooling", "mean")  # fmt: skip
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

    # through the CLI: recorded, and refused without --head-refit or out of range
    out = tmp_path / "mixed"
    r = run_cli(*base, "--out", str(out), "--head-refit", "0.5", "--head-refit-mix", "0.5",
                "--head-refit-tickets", "6")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert (summary["head_refit"]["tickets"], summary["head_refit"]["mix"]) == (6, 0.5)
    for bad, msg in ((["--head-refit-mix", "0.5"], "need --head-refit"),
                     (["--head-refit", "1", "--head-refit-mix", "0"], "(0, 1]"),
                     (["--head-refit", "1", "--head-refit-tickets", "1"], "at least 2")):  # fmt: skip
        r = run_cli(*base, "--out", str(tmp_path / "bad"), *bad)
        assert r.returncode != 0 and "Traceback" not in r.stderr and msg in r.stderr, r.stderr


def test_refit_with_attn_pooling_fits_each_field_on_its_own_state() -> None:
    """With ``attn`` pooling every field reads its own pooled state: its head is refitted on
    that state, not on another field's."""
    from types import SimpleNamespace

    from sklearn.linear_model import LogisticRegression

    from bizztune.models.heads import FieldHeads, HeadSpec
    from bizztune.plugins import load_task
    from bizztune.trainers.head.probe import fit_heads

    spec = HeadSpec.for_schema(load_task("tickets").schema, hidden_size=6, pooling="attn")
    clf = SimpleNamespace(spec=spec, heads=FieldHeads(spec))
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(90, len(spec.fields), 6, generator=g)
    y = {f.name: torch.arange(90) % len(f.labels) for f in spec.fields}
    fit_heads(clf, feats, y, c=0.5)
    for i, f in enumerate(spec.fields):
        x = feats[:, i].double().numpy()
        z = (x - x.mean(0)) / (x.std(0) + 1e-6)
        ref = LogisticRegression(C=0.5, max_iter=3000).fit(z, y[f.name].numpy())
        logits = clf.heads.out[f.name](feats[:, i]).detach()
        got = torch.softmax(logits.double(), -1).numpy()
        assert abs(got - ref.predict_proba(z)).max() < 1e-4, f.name
