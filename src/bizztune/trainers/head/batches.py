"""The head trainer's batches: one epoch's order, the stream of steps, and micro-batches.

    for batch in batch_stream(lengths, batch_size=8, seed=0, total_steps=100):
        for mb in micro_batches(batch, lengths, 8, max_tokens=1024): ...

Batches group tickets of similar length (a shuffled pool of ``POOL_BATCHES`` batches is sorted
by length, then cut), so little compute goes into padding. The order is a function of the seed
and the epoch, so a resumed run sees the same batches.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

POOL_BATCHES = 32
"""Batches shuffled together and sorted by length, for batches of similar length."""


def epoch_batches(
    lengths: Sequence[int], batch_size: int, seed: int, epoch: int
) -> list[list[int]]:
    """One epoch's batches: a seeded shuffle, cut into pools sorted by length, cut into batches,
    and the batches shuffled again so long and short ones alternate."""
    rng = random.Random(seed * 100_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = POOL_BATCHES * batch_size
    batches: list[list[int]] = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda j: -lengths[j])
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def batch_stream(
    lengths: Sequence[int], batch_size: int, seed: int, total_steps: int
) -> Iterator[list[int]]:
    epoch, done = 0, 0
    while done < total_steps:
        for b in epoch_batches(lengths, batch_size, seed, epoch):
            if done == total_steps:
                return
            yield b
            done += 1
        epoch += 1


def micro_batches(
    batch: Sequence[int], lengths: Sequence[int], batch_size: int, max_tokens: int | None
) -> list[list[int]]:
    """A step's batch cut into micro-batches of at most ``batch_size`` tickets and, with
    ``max_tokens``, at most that many padded tokens (tickets x the longest one): activation
    memory follows the tokens of a micro-batch, so a batch of long tickets is run in several
    and its gradient accumulated, which is the same step. A ticket longer than the budget runs
    alone."""
    order = sorted(batch, key=lambda i: -lengths[i]) if max_tokens else list(batch)
    out: list[list[int]] = []
    for i in order:
        cur = out[-1] if out else None
        fits = (
            cur is not None
            and len(cur) < batch_size
            and (not max_tokens or (len(cur) + 1) * lengths[cur[0]] <= max_tokens)
        )
        if fits and cur is not None:
            cur.append(i)
        else:
            out.append([i])
    return out
