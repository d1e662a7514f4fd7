"""The answer space of a request and the token trie that constrained decoding walks.

    space = answer_space(schema, ("category", "subcategory", "urgency"))
    trie = AnswerTrie([tokenize(t) for t in space.texts], space.stage_keys)
    plan = trie.plan(trie.ROOT, stage=0)      # which tokens to feed, where to score

Pure Python (no torch), so it is unit-tested on its own; ``bizztune.providers.local.hf`` runs the
model over the plans.

Every valid answer is the JSON text the task's gold answers use, e.g.
``{"category": "Technischer Support", "subcategory": "Softwarefehler", "urgency": "Hoch"}``.
A child field asked together with its parent is only allowed with the parent its hierarchy
implies (11 category/subcategory pairs, not 6 x 11), so every answer is valid and consistent.

Decoding goes in *stages*: by default one per field group, (category, subcategory) together,
then urgency; or one per field (``stages="field"``).
A stage scores every key (the values of its fields) by the log-probability of its tokens under
the model restricted to the trie, i.e. at each branching token the softmax is taken over the
allowed next tokens only; tokens with a single allowed continuation (``", "urgency": "``, the
tail of a label) are forced, contribute log 1 = 0 and cost no decoding step of their own: they
are fed in the same forward pass as the tokens that branch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import product
from typing import Literal

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import Schema

Key = tuple[str, ...]
Stages = Literal["group", "field"]


@dataclass(frozen=True)
class AnswerSpace:
    """All valid answers of a request asking for ``fields``, in a fixed order."""

    fields: tuple[str, ...]
    stages: tuple[tuple[str, ...], ...]
    """Fields decided one stage after the other."""
    options: tuple[dict[str, str], ...]
    texts: tuple[str, ...]

    def stage_keys(self) -> list[list[Key]]:
        """``keys[stage][option]``: the values of the fields decided up to that stage."""
        out: list[list[Key]] = []
        decided: list[str] = []
        for group in self.stages:
            decided.extend(group)
            out.append([tuple(o[f] for f in decided) for o in self.options])
        return out


def answer_text(labels: dict[str, str], fields: Sequence[str]) -> str:
    """The answer JSON, exactly as ``YamlTask.answer`` writes gold answers."""
    return json.dumps({n: labels[n] for n in fields}, ensure_ascii=False)


def answer_space(schema: Schema, fields: Sequence[str], stages: Stages = "group") -> AnswerSpace:
    """Every valid answer for ``fields``; ``stages`` says how decoding splits the fields:
    ``group`` decides a child with its parent (subcategory with its implied category), ``field``
    decides one field after the other (category, then subcategory within it, then urgency)."""
    if stages not in ("group", "field"):
        raise ConfigError(f"constrained stages must be 'group' or 'field', not {stages!r}")
    wanted = tuple(n for n in schema.names if n in fields)
    groups: list[list[str]] = []
    where: dict[str, int] = {}
    for n in wanted:
        parent = schema.field(n).parent
        if parent is not None and parent in where:
            groups[where[parent]].append(n)
            where[n] = where[parent]
        else:
            where[n] = len(groups)
            groups.append([n])

    def group_options(group: list[str]) -> list[dict[str, str]]:
        # The deepest field determines its ancestors in the group through the hierarchy.
        leaf = schema.field(group[-1])
        opts: list[dict[str, str]] = []
        for label in leaf.labels:
            o = {leaf.name: label}
            f = leaf
            while f.parent is not None and f.parent in group:
                label = f.parent_of[label]
                f = schema.field(f.parent)
                o[f.name] = label
            opts.append(o)
        return opts

    options: list[dict[str, str]] = []
    for combo in product(*(group_options(g) for g in groups)):
        merged: dict[str, str] = {}
        for part in combo:
            merged.update(part)
        options.append(merged)
    order = tuple(tuple(g) for g in groups) if stages == "group" else tuple((n,) for n in wanted)
    return AnswerSpace(
        fields=wanted,
        stages=order,
        options=tuple(options),
        texts=tuple(answer_text(o, wanted) for o in options),
    )


def field_probs(
    schema: Schema,
    space: AnswerSpace,
    option: int,
    tables: Mapping[int, Mapping[Key, float]],
) -> tuple[dict[str, dict[str, float]], float]:
    """Per field, label -> probability, and the probability of the chosen answer, from one
    request's stage tables (stage -> key -> constrained log-probability; a stage whose key was
    already decided has no table).

    A stage's keys hold the values of every field decided up to it, so a field's distribution
    is its stage's table summed over the other fields' values. Within one stage (the default
    ``group`` stages decide a subcategory with its category) that marginal is exact; a field
    of a later stage is conditional on the labels chosen before it (urgency given the chosen
    subcategory), because the model was never asked under the others. With ``field`` stages a
    child decided after its parent gets P(parent) * P(child | parent) under the chosen parent,
    and the mass of every other parent shared equally among its children. The answer's
    probability is exact: the product over stages of its key's probability (chain rule).
    """
    chosen = space.options[option]
    out: dict[str, dict[str, float]] = {}
    stage_of: dict[str, int] = {}
    decided: list[str] = []
    log_joint = 0.0
    for s, group in enumerate(space.stages):
        before = len(decided)
        decided.extend(group)
        table = tables.get(s)
        if table:
            key = tuple(chosen[f] for f in decided)
            log_joint += table.get(key, -math.inf)
        for j, name in enumerate(group):
            stage_of[name] = s
            if not table:
                out[name] = {chosen[name]: 1.0}
                continue
            dist: dict[str, float] = {}
            for key, lp in table.items():
                dist[key[before + j]] = dist.get(key[before + j], 0.0) + math.exp(lp)
            out[name] = dist
    for name in space.fields:
        f = schema.field(name)
        if f.parent is None or f.parent not in stage_of or stage_of[f.parent] >= stage_of[name]:
            continue
        parent, cond = out[f.parent], out[name]
        siblings: dict[str, int] = {}
        for lab in f.labels:
            siblings[f.parent_of.get(lab, "")] = siblings.get(f.parent_of.get(lab, ""), 0) + 1
        joint: dict[str, float] = {}
        for lab in f.labels:
            par = f.parent_of.get(lab, "")
            p = parent.get(par, 0.0) * (
                cond.get(lab, 0.0) if par == chosen[f.parent] else 1.0 / siblings[par]
            )
            if p > 0:
                joint[lab] = p
        out[name] = joint
    return out, math.exp(log_joint)


@dataclass(frozen=True)
class Plan:
    """What one stage feeds and scores below the node ``start``."""

    feed: tuple[int, ...]
    """Trie nodes to run through the model, parents before children (``start`` first unless
    it is the root, whose logits come from the last prompt token)."""
    branch: tuple[int, ...]
    """Nodes whose logits are needed: they branch into different keys of this stage."""
    ends: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    """Determination node -> the (branch node, child token) steps from ``start`` to it."""


class AnswerTrie:
    """A trie over the token sequences of every valid answer."""

    ROOT = 0

    def __init__(self, seqs: Sequence[Sequence[int]], keys: Sequence[Sequence[Key]]) -> None:
        if len(set(map(tuple, seqs))) != len(seqs):
            raise ValueError("two valid answers tokenize to the same token sequence")
        self.seqs = [list(s) for s in seqs]
        self.keys = keys
        self.token: list[int] = [-1]
        self.parent: list[int] = [-1]
        self.children: list[dict[int, int]] = [{}]
        self.opts: list[list[int]] = [list(range(len(seqs)))]
        ends: list[int] = []
        for i, seq in enumerate(seqs):
            node = self.ROOT
            for t in seq:
                nxt = self.children[node].get(t)
                if nxt is None:
                    nxt = len(self.token)
                    self.token.append(t)
                    self.parent.append(node)
                    self.children.append({})
                    self.opts.append([])
                    self.children[node][t] = nxt
                self.opts[nxt].append(i)
                node = nxt
            ends.append(node)
        if any(self.children[n] for n in ends):
            raise ValueError("a valid answer is a prefix of another one")

    def __len__(self) -> int:
        return len(self.token)

    def stage_keys(self, node: int, stage: int) -> set[Key]:
        return {self.keys[stage][i] for i in self.opts[node]}

    def path(self, node: int) -> list[int]:
        """Nodes from the root (excluded) down to ``node`` (included)."""
        out: list[int] = []
        while node != self.ROOT:
            out.append(node)
            node = self.parent[node]
        return out[::-1]

    def option(self, node: int) -> int:
        """The single answer below a node whose every field is decided."""
        if len(self.opts[node]) != 1:
            raise ValueError(f"node {node} still has {len(self.opts[node])} answers below it")
        return self.opts[node][0]

    @cache  # noqa: B019 - a trie lives as long as its provider; plans are reused every batch
    def plan(self, start: int, stage: int) -> Plan | None:
        """The feed/score plan of ``stage`` below ``start``; None when its key is decided."""
        if len(self.stage_keys(start, stage)) <= 1:
            return None
        branch: list[int] = []
        ends: dict[int, tuple[tuple[int, int], ...]] = {}
        stack: list[tuple[int, tuple[tuple[int, int], ...]]] = [(start, ())]
        while stack:
            node, steps = stack.pop()
            kids = self.children[node]
            if len(self.stage_keys(node, stage)) == 1:
                ends[node] = steps
                continue
            if len(kids) >= 2:
                branch.append(node)
                for tok, child in kids.items():
                    stack.append((child, (*steps, (node, tok))))
            else:  # a forced token: one continuation, same keys below
                (child,) = kids.values()
                stack.append((child, steps))
        feed: set[int] = set()
        for b in branch:
            node = b
            while node != self.ROOT and node not in feed:
                feed.add(node)
                if node == start:
                    break
                node = self.parent[node]
        return Plan(
            feed=tuple(sorted(feed, key=lambda n: (len(self.path(n)), n))),
            branch=tuple(sorted(branch)),
            ends=ends,
        )
