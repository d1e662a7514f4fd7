"""A float32 body keeps a bf16-valued input embedding in bf16 and computes the same numbers."""

from __future__ import annotations

from pathlib import Path

import torch

from bizztune.models.heads import load_body


def _tiny_gemma3(out: Path, dtype: torch.dtype) -> Path:
    from transformers import Gemma3TextConfig, Gemma3TextModel

    torch.manual_seed(0)
    cfg = Gemma3TextConfig(
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=256,
        sliding_window=64,
    )
    Gemma3TextModel(cfg).to(dtype).save_pretrained(out)  # bf16: as the packaged model is stored
    return out


def _states(body: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return body(input_ids=ids).last_hidden_state  # type: ignore[no-any-return]


def test_a_bf16_stored_embedding_is_held_in_bf16_and_gives_the_same_states(
    tmp_path: Path,
) -> None:
    from transformers import AutoModel

    path = _tiny_gemma3(tmp_path / "gemma", torch.bfloat16)
    plain = AutoModel.from_pretrained(path, dtype=torch.float32)
    body = load_body(path, torch.float32)
    emb = body.get_input_embeddings()
    assert emb.weight.dtype == torch.bfloat16  # half the bytes of the float32 matrix
    assert plain.get_input_embeddings().weight.dtype == torch.float32
    assert next(body.layers.parameters()).dtype == torch.float32  # the rest as loaded
    ids = torch.randint(0, 512, (3, 17))
    assert torch.equal(_states(body, ids), _states(plain, ids))  # bit for bit
    assert _states(body, ids).dtype == torch.float32


def test_an_embedding_with_float32_values_is_left_as_loaded(tmp_path: Path) -> None:
    path = _tiny_gemma3(tmp_path / "gemma32", torch.float32)  # random float32 values: not bf16 ones
    body = load_body(path, torch.float32)
    assert body.get_input_embeddings().weight.dtype == torch.float32
