"""The head trainer and its provider: hierarchy-consistent probabilities, prompt truncation,
training on a tiny model through the CLI, resuming, and answers through ``bizztune eval``.

    pytest tests/test_head.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from bizztune.core.errors import ConfigError
from bizztune.models.heads import (
    HeadSpec,
    answer_labels,
    encode_prompt,
    joint_log_probs,
    label_probs,
    length_batches,
)
from bizztune.plugins import load_task
from bizztune.trainers.head.batches import batch_stream, epoch_batches

from conftest import run_cli, train_head


@pytest.fixture(scope="module")
def spec() -> HeadSpec:
    return HeadSpec.for_schema(load_task("tickets").schema, hidden_size=8)


def test_joint_probabilities_are_consistent_with_the_hierarchy(spec: HeadSpec) -> None:
    g = torch.Generator().manual_seed(0)
    logits = {f.name: torch.randn(5, len(f.labels), generator=g) * 3 for f in spec.fields}
    logp = joint_log_probs(spec, logits)
    by = {f.name: f for f in spec.fields}
    sub, cat = by["subcategory"], by["category"]
    for name in ("category", "subcategory", "urgency"):
        assert torch.allclose(logp[name].exp().sum(-1), torch.ones(5), atol=1e-5)
    # the category distribution is the subcategory joint's marginal
    for j, c in enumerate(cat.labels):
        kids = [i for i, s in enumerate(sub.labels) if sub.parent_of and sub.parent_of[s] == c]
        assert torch.allclose(
            logp["category"][:, j].exp(), logp["subcategory"][:, kids].exp().sum(-1), atol=1e-5
        )
    # the answer is one consistent pair, the best child's; urgency is untouched
    names = ["category", "subcategory", "urgency"]
    for p in label_probs(spec, logits, names):
        a = answer_labels(spec, p, names)
        assert a["subcategory"] == max(p["subcategory"], key=p["subcategory"].__getitem__)
        assert sub.parent_of and sub.parent_of[a["subcategory"]] == a["category"]
    assert torch.allclose(logp["urgency"], torch.log_softmax(logits["urgency"], -1))
    # a category with two middling children outweighs one with a single best child in the
    # marginal, but the answer stays the best child's pair
    crafted = {name: torch.zeros(1, len(by[name].labels)) for name in names}
    crafted["subcategory"][0, sub.labels.index("Kein Zusammenhang")] = 2.0
    crafted["subcategory"][0, sub.labels.index("Zahlungsprobleme")] = 1.6
    crafted["subcategory"][0, sub.labels.index("Rückerstattungsanfragen")] = 1.6
    p = label_probs(spec, crafted, names)[0]
    assert max(p["category"], key=p["category"].__getitem__) == "Abrechnung und Zahlungen"
    assert answer_labels(spec, p, names)["category"] == "Ungewiss"
    # the pair score is p(parent) * p(child), renormalized: a confident parent head moves it
    logits["category"] = torch.full((5, len(cat.labels)), -20.0)
    logits["category"][:, cat.labels.index("Ungewiss")] = 20.0
    probs = label_probs(spec, logits, ["category", "subcategory"])
    assert all(p["subcategory"]["Kein Zusammenhang"] > 0.99 for p in probs)
    assert all(abs(sum(p["subcategory"].values()) - 1) < 1e-5 for p in probs)


class _Tok:
    def apply_chat_template(
        self, messages: Any, add_generation_prompt: bool, tokenize: bool
    ) -> list[int]:
        return [*range(100), 900, 901]  # a prompt, then the turn markers


def test_long_prompts_are_cut_in_the_middle_keeping_the_end() -> None:
    ids, cut = encode_prompt(_Tok(), [], max_length=50)
    assert cut and len(ids) == 50 and ids[-2:] == [900, 901] and ids[:26] == list(range(26))
    ids, cut = encode_prompt(_Tok(), [], max_length=500)
    assert not cut and len(ids) == 102


def test_batches_group_lengths_and_cover_every_item_once_per_epoch() -> None:
    lengths = [5, 50, 7, 48, 6, 49, 8, 47] * 10
    b = length_batches(lengths, 8)
    assert sorted(i for x in b for i in x) == list(range(80))
    bounded = length_batches([*lengths, 300], 8, max_tokens=100)
    assert sorted(i for x in bounded for i in x) == list(range(81))
    assert bounded[0] == [80]  # longer than the bound alone: a batch of its own
    widths = [len(x) * max([*lengths, 300][i] for i in x) for x in bounded[1:]]
    assert max(widths) <= 100 and max(len(x) for x in bounded) == 8  # short ones still 8
    epoch = epoch_batches(lengths, 4, seed=0, epoch=0)
    assert sorted(i for x in epoch for i in x) == list(range(80))
    spread = [max(lengths[i] for i in x) - min(lengths[i] for i in x) for x in epoch]
    assert max(spread) <= 3  # each batch holds tickets of (nearly) one length
    assert epoch != epoch_batches(lengths, 4, seed=0, epoch=1)
    assert epoch == epoch_batches(lengths, 4, seed=0, epoch=0)  # resumable: a function of both
    assert len(list(batch_stream(lengths, 4, 0, 45))) == 45  # crosses into the third epoch


def test_head_trains_answers_and_resumes(tiny_model: Path, split_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "head"
    r = train_head(tiny_model, split_dir, out, "--max-steps", "24", "--eval-steps", "12")
    assert r.returncode == 0, r.stderr[-3000:]
    for name in (
        "adapter_model.safetensors",
        "adapter_config.json",
        "heads.json",
        "heads.safetensors",
    ):
        assert (out / name).is_file(), name
    assert not list(out.glob("checkpoint-*"))  # removed once the adapter is written
    heads = json.loads((out / "heads.json").read_text())
    assert [f["name"] for f in heads["fields"]] == ["category", "subcategory", "urgency"]
    assert heads["style"] == "compact" and heads["pooling"] == "last"
    summary = json.loads((out / "train_summary.json").read_text())
    curve = json.loads((out / "loss_curve.json").read_text())
    assert summary["steps"] == 24 and summary["trainer"] == "head"
    first, last = curve["train"][0]["loss"], curve["train"][-1]["loss"]
    assert first == pytest.approx(math.log(6) + math.log(11) + math.log(3), rel=0.05)
    assert last < first  # zero-initialized heads start at the uniform loss and learn

    # the local provider answers from the heads: always valid, consistent, with probabilities
    ev = tmp_path / "ev"
    r = run_cli(
        "eval", "--provider", "hf", "--model", str(tiny_model), "--adapter", str(out),
        "--data", str(split_dir), "--out", str(ev),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((ev / "metrics.json").read_text())
    assert m["invalid_rate"] == 0.0 and m["hierarchy_consistency"] == 1.0
    assert m["usage"]["truncated_items"] == 0

    # a ticket longer than the heads read (max_length) is cut, and counted as every local
    # provider counts it: in the item's record and in truncated_items
    rows = [json.loads(x) for x in (split_dir / "test.jsonl").read_text().splitlines()][:3]
    rows[1]["description"] = "Der Router startet immer wieder neu. " * 200
    long = tmp_path / "long.jsonl"
    long.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    r = run_cli("eval", "--provider", "hf", "--model", str(tiny_model), "--adapter", str(out),
                "--data", str(long), "--out", str(tmp_path / "ev-long"))  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path / "ev-long" / "metrics.json").read_text())
    assert m["usage"]["truncated_items"] == 1
    preds = [json.loads(x) for x in (tmp_path / "ev-long" / "predictions.jsonl").open()]
    cut = {p["id"]: p.get("input_truncated_tokens", 0) for p in preds}
    assert cut[rows[1]["id"]] > 100 and cut[rows[0]["id"]] == cut[rows[2]["id"]] == 0

    # an interrupted run resumes from its newest checkpoint and ends where an uninterrupted
    # one does: same batches, optimizer state and RNG


def test_an_interrupted_head_run_resumes_to_the_same_weights(
    tiny_model: Path, split_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from safetensors.torch import load_file

    from bizztune.trainers.config import HeadConfig
    from bizztune.trainers.head import loop

    task = load_task("tickets")
    cfg = HeadConfig(
        model=str(tiny_model), data=str(split_dir), out=str(tmp_path / "ref"),
        batch_size=4, learning_rate=3e-3, dropout=0.1, max_steps=6, save_steps=2, limit_val=8,
    )  # fmt: skip
    loop.train_heads(task, cfg, show_progress=False)

    cut = tmp_path / "cut"
    update = loop.Progress.update

    def crash_at_step_5(self: Any, step: int, loss: float, tps: float) -> None:
        if step == 5:
            raise KeyboardInterrupt  # as a Ctrl-C or a killed process would stop it
        update(self, step, loss, tps)

    monkeypatch.setattr(loop.Progress, "update", crash_at_step_5)
    with pytest.raises(KeyboardInterrupt):
        loop.train_heads(task, replace(cfg, out=str(cut)), show_progress=False)
    monkeypatch.undo()
    assert sorted(p.name for p in cut.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert not (cut / "heads.safetensors").exists()
    with pytest.raises(Exception, match="pass --resume"):
        loop.train_heads(task, replace(cfg, out=str(cut)), show_progress=False)
    loop.train_heads(task, replace(cfg, out=str(cut), resume=True), show_progress=False)
    for name in ("heads.safetensors", "adapter_model.safetensors"):
        a, b = load_file(str(tmp_path / "ref" / name)), load_file(str(cut / name))
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    ref_curve = json.loads((tmp_path / "ref" / "loss_curve.json").read_text())["train"]
    cut_curve = json.loads((cut / "loss_curve.json").read_text())["train"]
    assert [p["loss"] for p in cut_curve] == [p["loss"] for p in ref_curve]


def test_head_lr_ratio_gives_the_heads_a_higher_learning_rate(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ratio"
    r = train_head(
        tiny_model, split_dir, out, "--max-steps", "2", "--eval-steps", "0",
        "--lr", "5e-3", "--set", "head_lr_ratio=10", "--set", "lr_scheduler=constant", "--set", "warmup_ratio=0",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    curve = json.loads((out / "loss_curve.json").read_text())["train"]
    assert [p["lr"] for p in curve] == pytest.approx([5e-3, 5e-3])
    assert [p["head_lr"] for p in curve] == pytest.approx([5e-2, 5e-2])


def test_time_budget_fits_the_steps_and_the_schedule(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "budget"
    # A budget far below the 60 planned steps' time: the run stops early, and its cosine
    # schedule ends where the run ends instead of being cut off half-way.
    r = train_head(tiny_model, split_dir, out, "--max-steps", "60", "--eval-steps", "0",
               "--set", "time_budget=0.002")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    fit = summary["time_budget"]
    assert fit["planned_steps"] == 60 and fit["calibration_steps"] == 3
    assert 3 <= fit["steps"] == summary["steps"] < 60
    assert fit["seconds_per_padded_token"] > 0
    lrs = [h["lr"] for h in json.loads((out / "loss_curve.json").read_text())["train"]]
    assert len(lrs) == fit["steps"]
    if fit["steps"] >= 5:
        assert lrs[-1] < 0.25 * max(lrs)  # the schedule was laid over the fitted steps
    # --resume finds the run finished (fitted steps, not the planned 60) and trains nothing
    again = train_head(tiny_model, split_dir, out, "--max-steps", "60", "--eval-steps", "0",
                   "--set", "time_budget=0.002", "--resume")  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((out / "train_summary.json").read_text()) == summary

    roomy = tmp_path / "roomy"  # a budget the run fits in changes nothing
    r = train_head(tiny_model, split_dir, roomy, "--max-steps", "6", "--eval-steps", "0",
               "--set", "time_budget=600")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    s2 = json.loads((roomy / "train_summary.json").read_text())
    assert s2["steps"] == 6 and s2["time_budget"]["steps"] == 6


def test_time_budget_is_refused_by_the_generative_trainer(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    r = run_cli("train", "--recipe", "none", "--trainer", "lora", "--model", str(tiny_model), "--data",
                str(split_dir), "--out", str(tmp_path / "x"), "--set", "time_budget=5")  # fmt: skip
    assert r.returncode != 0
    assert "'time_budget' is not a parameter of the lora trainer (LoraConfig)" in r.stderr
    assert "Traceback" not in r.stderr


def test_head_layers_keep_the_first_layers_and_mean_pooling_is_recorded_and_served(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    import torch

    from bizztune.models.heads import load_body, load_head_classifier

    full = load_body(tiny_model, torch.float32)
    cut = load_body(tiny_model, torch.float32, layers=1)
    assert len(full.layers) == 2 and len(cut.layers) == 1 and cut.config.num_hidden_layers == 1
    ids = torch.tensor([[5, 9, 14, 3, 7]])
    with torch.no_grad():
        after_one = full(input_ids=ids, output_hidden_states=True).hidden_states[1]
        # the cut body is the first layer followed by the model's final norm
        assert torch.allclose(cut(input_ids=ids).last_hidden_state, full.norm(after_one), atol=1e-5)
    with pytest.raises(ConfigError, match="head_layers 3: the model has 2 layers"):
        load_body(tiny_model, torch.float32, layers=3)
    assert len(load_body(tiny_model, torch.float32, layers=0.5).layers) == 1  # half the depth

    out = tmp_path / "mean1"
    r = train_head(tiny_model, split_dir, out, "--max-steps", "4", "--eval-steps", "0",
               "--set", "head_pooling=mean", "--set", "head_layers=0.5")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    heads = json.loads((out / "heads.json").read_text())
    assert (heads["pooling"], heads["layers"]) == ("mean", 1)  # the fraction, resolved
    clf, _ = load_head_classifier(str(tiny_model), out, device="cpu", dtype="float32")
    assert len(clf.body.layers) == 1 and clf.spec.pooling == "mean"
    ev = tmp_path / "ev"
    r = run_cli("eval", "--provider", "hf", "--model", str(tiny_model), "--adapter", str(out),
                "--data", str(split_dir), "--out", str(ev), "--limit", "8")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((ev / "metrics.json").read_text())["invalid_rate"] == 0.0

    r = run_cli("train", "--recipe", "none", "--trainer", "lora", "--model", str(tiny_model), "--data",
                str(split_dir), "--out", str(tmp_path / "x"), "--set", "head_layers=1")  # fmt: skip
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "'head_layers' is not a parameter of the lora trainer" in r.stderr
    r = train_head(tiny_model, split_dir, tmp_path / "y", "--set", "head_layers=1.5")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "head_layers must be a number of layers" in r.stderr
