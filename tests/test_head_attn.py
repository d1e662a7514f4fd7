"""Attention pooling of the head trainer (``--head-pooling attn``): one learned query per field
over the prompt's token states, starting as the mean; trained, saved, loaded and served.

    pytest tests/test_head_attn.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bizztune.models.heads import FieldHeads, HeadSpec, pool
from bizztune.plugins import load_task

from conftest import eval_adapter_answers, train_head


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(2, 5, 8, generator=g)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    return hidden, mask


def test_a_zero_query_is_the_mean_and_padding_gets_no_weight() -> None:
    hidden, mask = _batch()
    query = torch.zeros(3, 8)
    out = pool(hidden, mask, "attn", query)
    assert out.shape == (2, 3, 8)
    mean = pool(hidden, mask, "mean")
    for f in range(3):
        assert torch.allclose(out[:, f], mean, atol=1e-6)
    # a query can look anywhere, but never at padding: the padded states do not matter
    query = torch.randn(3, 8, generator=torch.Generator().manual_seed(1)) * 5
    moved = hidden.clone()
    moved[1, 3:] = 1e4
    assert torch.allclose(pool(hidden, mask, "attn", query), pool(moved, mask, "attn", query))
    with pytest.raises(ValueError, match="query"):
        pool(hidden, mask, "attn")


def test_each_field_reads_its_own_token() -> None:
    """A query aligned with one token's normalized state puts (almost) all weight on it, so
    the urgency head can read another part of the ticket than the category head."""
    hidden, mask = _batch()
    keys = torch.nn.functional.layer_norm(hidden, (8,))
    query = torch.stack([keys[0, 1], keys[0, 4], torch.zeros(8)]) * 40
    out = pool(hidden[:1], mask[:1], "attn", query)
    assert torch.allclose(out[0, 0], hidden[0, 1], atol=1e-2)
    assert torch.allclose(out[0, 1], hidden[0, 4], atol=1e-2)
    assert torch.allclose(out[0, 2], hidden[0].mean(0), atol=1e-6)


def test_field_heads_read_one_state_per_field() -> None:
    spec = HeadSpec.for_schema(load_task("tickets").schema, hidden_size=8, pooling="attn")
    heads = FieldHeads(spec)
    assert heads.query is not None and heads.query.shape == (len(spec.fields), 8)
    assert FieldHeads(HeadSpec.for_schema(load_task("tickets").schema, 8)).query is None
    g = torch.Generator().manual_seed(2)
    for lin in heads.out.values():
        torch.nn.init.normal_(lin.weight, generator=g)
    x = torch.randn(4, len(spec.fields), 8, generator=g)
    logits = heads(x)
    for i, f in enumerate(spec.fields):
        assert torch.allclose(logits[f.name], heads.out[f.name](heads.norm(x[:, i])))
        assert logits[f.name].shape == (4, len(f.labels))


def test_attn_pooling_trains_saves_and_serves(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    from bizztune.models.heads import load_head_classifier

    out = tmp_path / "attn"
    r = train_head(tiny_model, split_dir, out, "--max-steps", "6", "--eval-steps", "0",
                   "--head-pooling", "attn")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((out / "heads.json").read_text())["pooling"] == "attn"
    saved = load_file(str(out / "heads.safetensors"))["query"]
    assert saved.abs().max() > 0  # the queries learned: no longer the mean
    clf, _ = load_head_classifier(str(tiny_model), out, device="cpu", dtype="float32")
    assert clf.heads.query is not None and torch.equal(clf.heads.query.detach(), saved)
    eval_adapter_answers(tiny_model, out, split_dir, tmp_path / "ev")

    r = train_head(tiny_model, split_dir, tmp_path / "x", "--head-pooling", "max")
    assert r.returncode != 0 and "Traceback" not in r.stderr and "--head-pooling" in r.stderr
