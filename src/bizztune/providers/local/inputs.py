"""What a local model reads: prompts cut to fit its context, so no input is too long.

    ids, cut = fit_context(ids, prompt_limit(context=2048, max_new_tokens=64, cap=4096))

A prompt longer than the limit loses its middle: its start (the instructions and taxonomy
every item shares, so the prefix cache still works) and its last ``KEEP_END`` tokens (the end
of the ticket, the answer format, the assistant turn) stay. The cut is counted per item
(``input_truncated_tokens`` in predictions.jsonl, ``truncated_items`` in metrics.json).
"""

from __future__ import annotations

from typing import Any

from bizztune.core.errors import ConfigError

ANSWER_ROOM = 128
"""Tokens kept free for the answer when a prompt is cut to the model's context (at least
``max_new_tokens``); a constrained answer of the tickets task is about 40."""
MAX_INPUT_TOKENS = 4096
"""Prompts are cut to at most this many tokens even where the context is longer (provider
extra ``max_input_tokens``): the batched tree masks grow with the square of the length, and a
ticket prompt is under 1,000 tokens."""
KEEP_END = 256
"""A cut prompt keeps this many of its last tokens: the end of the ticket, the answer format
and the assistant turn's start."""


def prompt_limit(context: Any, max_new_tokens: int, cap: Any) -> int:
    """The most prompt tokens an item may have: the model's context less room for the answer,
    and at most ``cap``."""
    if not isinstance(cap, int) or cap < 64:
        raise ConfigError(f"provider extra max_input_tokens must be a number >= 64, not {cap!r}")
    if isinstance(context, int) and context > 0:
        return min(cap, context - min(max(max_new_tokens, ANSWER_ROOM), context // 2))
    return cap


def fit_context(ids: list[int], limit: int | None) -> tuple[list[int], int]:
    """``ids`` cut to ``limit`` tokens, and how many were cut. The middle goes: the start (the
    instructions and taxonomy every item shares) and the last tokens (the end of the ticket,
    the answer format, the assistant turn) stay, so the model still knows what to answer."""
    if limit is None or len(ids) <= limit:
        return ids, 0
    tail = min(KEEP_END, limit // 4)
    return ids[: limit - tail] + ids[len(ids) - tail :], len(ids) - limit
