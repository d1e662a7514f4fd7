"""Hold a float32 body's input embedding in bf16 when that loses nothing.

    from bizztune.models.embedding import compact_input_embedding
    compact_input_embedding(body)   # after loading in float32; returns the bytes it saved

On a CPU without bf16 a body is loaded in float32, and the input embedding is most of it:
Gemma 3 270M's 262,144 x 640 matrix is 640 MiB of its 1.0 GiB. The packaged model's weights are
stored in bf16 (``models.gguf_convert``), so every float32 value of that matrix is a bf16
value widened: kept in bf16 and widened row by row as tokens are looked up, the body computes
bit for bit what it computed before, in 320 MiB less. A body without an LM head (the head
classifier's ``AutoModel``) uses the matrix only for lookups, so nothing else changes.

Only a matrix whose every value survives the round trip is compacted (checked in chunks), and
only a plain ``nn.Embedding`` or an embedding whose forward is known to be "look up, then times
``embed_scale``" (Gemma 3's); anything else is left as loaded.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

_SCALED = ("Gemma3TextScaledWordEmbedding",)
"""Embedding classes whose forward is ``F.embedding(ids, weight) * embed_scale``."""

_CHECK_ROWS = 8192


class CompactEmbedding(nn.Module):
    """An embedding kept in bf16 that returns what its float32 original returned."""

    def __init__(self, weight: torch.Tensor, padding_idx: int | None, scale: torch.Tensor | None):
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.padding_idx = padding_idx
        self.embed_scale: torch.Tensor | None
        self.register_buffer("embed_scale", scale, persistent=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        out = F.embedding(input_ids, self.weight, self.padding_idx).float()
        return out if self.embed_scale is None else out * self.embed_scale  # float32 already


def _known(emb: nn.Module) -> bool:
    if not isinstance(emb, nn.Embedding) or emb.max_norm is not None or emb.sparse:
        return False
    return type(emb) is nn.Embedding or (
        type(emb).__name__ in _SCALED
        and isinstance(getattr(emb, "embed_scale", None), torch.Tensor)
    )


def _lossless(weight: torch.Tensor) -> bool:
    for start in range(0, weight.size(0), _CHECK_ROWS):
        rows = weight[start : start + _CHECK_ROWS]
        if not torch.equal(rows.to(torch.bfloat16).float(), rows):
            return False
    return True


def compact_input_embedding(body: Any) -> int:
    """Swap ``body``'s float32 input embedding for a frozen bf16 one when it is known and
    lossless; the bytes saved (0: left as loaded). For a body whose embedding is not trained
    (every caller's: the head trainer trains LoRA weights and heads, the classifier only
    answers)."""
    emb = body.get_input_embeddings()
    weight = getattr(emb, "weight", None)
    if (
        not _known(emb)
        or weight is None
        or weight.dtype != torch.float32
        or not _lossless(weight.detach())
    ):
        return 0
    scale = getattr(emb, "embed_scale", None)
    compact = CompactEmbedding(
        weight.detach().to(torch.bfloat16),
        emb.padding_idx,
        None if scale is None else scale.detach().clone().float(),
    )
    body.set_input_embeddings(compact)
    return weight.numel() * (weight.element_size() - 2)
