"""The heads reading the mean input embedding beside the mean state (``--head-pooling
mean+embed``): what they read, trained, refitted, saved, loaded and served.

    pytest tests/test_head_embed.py
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from bizztune.models.heads import FieldHeads, HeadClassifier, HeadSpec, load_body, pool
from bizztune.plugins import load_task

from conftest import eval_adapter_answers, train_head


def test_the_heads_read_two_states_each_under_its_own_norm() -> None:
    spec = HeadSpec.for_schema(load_task("tickets").schema, hidden_size=8, pooling="mean+embed")
    assert spec.feature_size == 16
    assert HeadSpec.for_schema(load_task("tickets").schema, hidden_size=8).feature_size == 8
    heads = FieldHeads(spec)
    assert heads.norm_embed is not None
    g = torch.Generator().manual_seed(0)
    for p in heads.parameters():
        torch.nn.init.normal_(p, generator=g)
    x = torch.randn(4, 16, generator=g)
    want = torch.cat([heads.norm(x[:, :8]), heads.norm_embed(x[:, 8:])], dim=-1)
    assert torch.allclose(heads.features(x), want)
    # the second state moves the logits: the heads do read it
    moved = x.clone()
    moved[:, 8:] = torch.randn(4, 8, generator=g)
    for f in spec.fields:
        assert torch.allclose(heads(x)[f.name], heads.out[f.name](want))
        assert not torch.allclose(heads(x)[f.name], heads(moved)[f.name])


def test_the_embed_state_is_the_mean_input_embedding_of_the_real_tokens(
    tiny_model: Path,
) -> None:
    body = load_body(tiny_model, torch.float32)
    hidden = int(body.config.get_text_config().hidden_size)
    spec = HeadSpec.for_schema(load_task("tickets").schema, hidden, pooling="mean+embed")
    clf = HeadClassifier(body, spec).eval()
    ids = torch.tensor([[5, 9, 14, 3, 7], [8, 2, 6, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    with torch.no_grad():
        pooled = clf.pooled(ids, mask)
        out = body(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    assert pooled.shape == (2, 2 * hidden)
    assert torch.allclose(pooled[:, :hidden], pool(out.last_hidden_state, mask, "mean"))
    # the model's own embedding output (hidden_states[0]), averaged over the real tokens
    assert torch.allclose(pooled[1, hidden:], out.hidden_states[0][1, :3].mean(0), atol=1e-6)
    assert torch.allclose(pooled[:, hidden:], pool(out.hidden_states[0], mask, "mean"), atol=1e-6)


def test_mean_embed_trains_refits_and_serves(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    from bizztune.models.heads import load_head_classifier

    out = tmp_path / "embed"
    r = train_head(tiny_model, split_dir, out, "--max-steps", "4", "--eval-steps", "0",
                   "--head-pooling", "mean+embed", "--head-refit", "0.1",
                   "--head-refit-mix", "0.5")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((out / "heads.json").read_text())["pooling"] == "mean+embed"
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["head_refit"]["mix"] == 0.5
    saved = load_file(str(out / "heads.safetensors"))
    clf, _ = load_head_classifier(str(tiny_model), out, device="cpu", dtype="float32")
    h = clf.spec.hidden_size
    for f in clf.spec.fields:
        w = saved[f"out.{f.name}.weight"]
        assert w.shape == (len(f.labels), 2 * h)
        assert w[:, h:].abs().max() > 0  # the embedding half was fitted, not left at zero
        assert torch.equal(clf.heads.out[f.name].weight.detach(), w)
    eval_adapter_answers(tiny_model, out, split_dir, tmp_path / "ev")

    r = train_head(tiny_model, split_dir, tmp_path / "x", "--head-pooling", "embed")
    assert r.returncode != 0 and "Traceback" not in r.stderr and "--head-pooling" in r.stderr
