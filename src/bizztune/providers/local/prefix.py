"""The KV caches of shared prompt prefixes a local model keeps between calls.

    cache = PrefixCache(backbone, "past_key_values", device, stats)
    prefix = cache.choose(common_prefix(prompts), len(prompts))   # or a kept one that starts them
    kv = cache.kv(prefix)                                         # computed once, then kept

Every request of a batch call with the same fields starts with the same tokens (system prompt,
instructions, taxonomy): their keys and values are computed once and expanded to each batch,
so only a ticket's own suffix runs per item. A later call of a few requests (``bizztune
serve``) reuses a kept prefix that starts them all. At most ``MAX_PREFIXES`` are kept, the
oldest dropped first.
"""

from __future__ import annotations

from typing import Any

MAX_PREFIXES = 4
"""Prefix KV caches kept (one per prompt template and field set, e.g. 3 for per-field calls)."""

KV = list[tuple[Any, Any]]
"""Per layer, the keys and values of a prefix (batch 1)."""


class PrefixCache:
    def __init__(self, backbone: Any, cache_kw: str, device: Any, stats: dict[str, int]) -> None:
        self.backbone = backbone
        self.cache_kw = cache_kw
        """The backbone's keyword for a cache: "cache" or "past_key_values"."""
        self.device = device
        self.stats = stats
        """The provider's counters: ``prefix_tokens`` grows by every prefix token run."""
        self.kept: dict[tuple[int, ...], KV] = {}

    def choose(self, prefix: list[int], n_items: int) -> list[int]:
        """``prefix``, or a kept prefix that starts it when running the tokens between the two
        once per item costs less than computing ``prefix``: always for a lone request, whose
        own "prefix" is its whole prompt (``bizztune serve``, where requests arrive a few at a
        time and the prompt template's prefix is kept from the start)."""
        if tuple(prefix) in self.kept:
            return prefix
        best = max(
            (k for k in self.kept if len(k) <= len(prefix) and tuple(prefix[: len(k)]) == k),
            key=len,
            default=None,
        )
        if best is None or n_items * (len(prefix) - len(best)) > len(prefix):
            return prefix
        return list(best)

    def kv(self, prefix: list[int]) -> KV:
        """The keys and values of ``prefix``: kept, or run once and kept."""
        import torch
        from transformers import DynamicCache

        key = tuple(prefix)
        if key not in self.kept:
            if len(self.kept) >= MAX_PREFIXES:
                self.kept.pop(next(iter(self.kept)))
            cache = DynamicCache()
            if prefix:
                ids = torch.tensor([prefix], device=self.device)
                pos = torch.arange(len(prefix), device=self.device)[None]
                self.backbone(
                    input_ids=ids, position_ids=pos, use_cache=True, **{self.cache_kw: cache}
                )
                self.stats["prefix_tokens"] += len(prefix)
            layers: list[Any] = list(cache.layers)
            self.kept[key] = [(layer.keys, layer.values) for layer in layers]
        return self.kept[key]


def common_prefix(seqs: list[list[int]]) -> list[int]:
    """Longest common prefix, leaving every sequence at least one token of its own."""
    first = seqs[0]
    n = min(len(s) for s in seqs) - 1
    for s in seqs[1:]:
        i = 0
        while i < n and s[i] == first[i]:
            i += 1
        n = i
    return first[: max(n, 0)]
