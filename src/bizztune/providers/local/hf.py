"""The ``hf`` provider: a local transformers model, fast free or constrained decoding on CPU/GPU.

    bizztune eval --provider hf --model path/to/model --decoding constrained --task tickets
    bizztune eval --provider smollm2-135m --decoding free --calls per-field --limit 20

Speed comes from three things (docs/local-models.md has the measurements):

1. Shared prefix: every request of a batch call with the same fields starts with the same
   tokens (system prompt, instructions, taxonomy). Their KV cache is computed once, kept
   (``prefix.PrefixCache``), and expanded to each batch; only the ticket-specific suffix is
   run per item.
2. Batching: items of different lengths share one forward pass. Each item's new tokens form a
   small tree (a linear prompt suffix, then candidate answer tokens); a 4D attention mask lets
   each token see the committed sequence of its own row and its own ancestors only, and the
   positions follow the tree depth, so no padding ever shifts a position.
3. Forced tokens: in constrained mode, the tokens the schema forces are fed in the same pass as
   the tokens that branch, so one item costs two forward passes (prompt + category/subcategory
   candidates, then urgency) instead of ~40 decoding steps. Logits are computed only where a
   choice is made.

Free mode runs batched greedy decoding (temperature 0; seeded sampling otherwise) over the same
prefix cache, stopping at the end-of-turn token; its text goes through the shared parser.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import Completion, ProviderConfig, Request, Schema
from bizztune.providers.local.constrained import (
    AnswerSpace,
    AnswerTrie,
    Key,
    Stages,
    answer_space,
    field_probs,
)
from bizztune.providers.local.inputs import MAX_INPUT_TOKENS, fit_context, prompt_limit
from bizztune.providers.local.prefix import PrefixCache, common_prefix

log = logging.getLogger(__name__)
_GQA_ENV = "TRANSFORMERS_SDPA_FORCE_GQA"


@dataclass
class Node:
    """One new token in a forward pass: its id, parent (index in the row's list or -1 for the
    end of the committed sequence) and the trie node it stands for (None for prompt tokens)."""

    token: int
    parent: int
    trie: int | None = None


@dataclass
class Rows:
    """The running state of a batch: the KV cache plus, per row, which cached columns belong to
    its committed sequence (``vis``), each column's position, and the next position."""

    cache: Any
    vis: Any
    kpos: Any
    cur_len: list[int]
    col: list[dict[int, int]] = field(default_factory=list)
    """Per row: trie node -> cache column, for the answer tokens fed so far."""


class HFProvider:
    """Answers chat requests with a local causal LM (see the module docstring)."""

    def __init__(self, config: ProviderConfig) -> None:
        import torch

        from bizztune.models.loading import cache_keyword, load_model_and_tokenizer
        from bizztune.models.tokenizer import end_of_turn_ids

        self.config = config
        self.stages: Stages = config.extra.get("constrained_stages", "group")
        if self.stages not in ("group", "field"):
            raise ConfigError(
                f"provider extra constrained_stages must be 'group' or 'field', not {self.stages!r}"
            )
        self.name = config.name
        self.model = config.model or ""
        torch.manual_seed(config.seed)
        self.lm, self.tok = load_model_and_tokenizer(
            self.model, config.adapter, config.load_in_4bit, config.device, config.dtype
        )
        base = self.lm.get_base_model() if hasattr(self.lm, "get_base_model") else self.lm
        self.backbone = base.get_decoder()
        self._cache_kw = cache_keyword(self.backbone)  # "cache" or "past_key_values"
        self.head = base.get_output_embeddings()
        text_cfg = base.config.get_text_config(decoder=True)
        self.softcap: float | None = getattr(text_cfg, "final_logit_softcapping", None)
        types = getattr(text_cfg, "layer_types", None) or []
        self.window: int | None = (
            getattr(text_cfg, "sliding_window", None) if "sliding_attention" in types else None
        )
        self.device = next(self.lm.parameters()).device
        self.stop_ids = set(end_of_turn_ids(self.tok))
        gen_eos = self.lm.generation_config.eos_token_id
        self.stop_ids.update([gen_eos] if isinstance(gen_eos, int) else gen_eos or [])
        self.pad_id = int(self.tok.pad_token_id if self.tok.pad_token_id is not None else 0)
        self.max_prompt_tokens = prompt_limit(
            getattr(text_cfg, "max_position_embeddings", None),
            config.max_new_tokens,
            config.extra.get("max_input_tokens", MAX_INPUT_TOKENS),
        )
        """Longer prompts are cut to this many tokens (``fit_context``)."""
        self._spaces: dict[tuple[str, ...], tuple[AnswerSpace, AnswerTrie]] = {}
        self._gen = torch.Generator().manual_seed(config.seed)
        self.scores: dict[str, list[dict[str, float]]] = {}
        """Request id -> per stage, key ("label|label") -> constrained log-probability."""
        self.stats = {"forward_passes": 0, "prefix_tokens": 0, "tokens": 0, "logit_rows": 0}
        """Work done so far: prefix tokens run once, other tokens run (padding excluded),
        rows of the output head computed; for the compute-bound estimate in the benchmark."""
        self.prefixes = PrefixCache(self.backbone, self._cache_kw, self.device, self.stats)

    # -- public -----------------------------------------------------------------------------
    def complete(self, requests: Sequence[Request], schema: Schema) -> Iterator[Completion]:
        import torch

        groups: dict[tuple[str, ...], list[tuple[Request, list[int]]]] = {}
        cut: dict[str, int] = {}
        for r in requests:
            ids, cut[r.id] = fit_context(self._encode(r), self.max_prompt_tokens)
            groups.setdefault(tuple(r.fields), []).append((r, ids))
        with torch.inference_mode():
            for fields, items in groups.items():
                prefix = self.prefixes.choose(common_prefix([i for _, i in items]), len(items))
                t0 = time.perf_counter()
                kv = self.prefixes.kv(prefix)
                prefix_s = (time.perf_counter() - t0) / len(items)
                items.sort(key=lambda it: len(it[1]))
                bs = self.config.batch_size
                for i in range(0, len(items), bs):
                    batch = items[i : i + bs]
                    suffixes = [ids[len(prefix) :] for _, ids in batch]
                    t0 = time.perf_counter()
                    outs: Sequence[tuple[str, int, Any]]
                    if self.config.decoding == "constrained":
                        outs = self._constrained(batch, suffixes, kv, len(prefix), schema, fields)
                    else:
                        outs = self._free(batch, suffixes, kv, len(prefix))
                    per_item = (time.perf_counter() - t0) / len(batch) + prefix_s
                    for (req, ids), (text, n_out, probs) in zip(batch, outs, strict=True):
                        yield Completion(
                            request_id=req.id,
                            text=text,
                            latency_s=per_item,
                            prompt_tokens=len(ids),
                            completion_tokens=n_out,
                            truncated_tokens=cut[req.id],
                            probs=probs[0] if probs else None,
                            confidence=probs[1] if probs else None,
                        )

    # -- prompts and the batch's rows -----------------------------------------------------------
    def _encode(self, req: Request) -> list[int]:
        text = self.tok.apply_chat_template(
            req.messages, tokenize=False, add_generation_prompt=True
        )
        return list(self.tok(text, add_special_tokens=False)["input_ids"])

    def _start(self, kv: list[tuple[Any, Any]], n_prefix: int, batch: int) -> Rows:
        import torch
        from transformers import DynamicCache

        cache = DynamicCache()
        if n_prefix:
            # Expanded views: the first concatenation in each layer makes the per-row copy.
            cache = DynamicCache(
                ddp_cache_data=[
                    (k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in kv
                ]
            )
        dev = self.device
        return Rows(
            cache=cache,
            vis=torch.ones(batch, n_prefix, dtype=torch.bool, device=dev),
            kpos=torch.arange(n_prefix, device=dev).expand(batch, -1),
            cur_len=[n_prefix] * batch,
            col=[{} for _ in range(batch)],
        )

    # -- one forward pass over a batch of token trees ------------------------------------------
    def _forward(
        self, rows: Rows, nodes: list[list[Node]], want: list[list[int]]
    ) -> tuple[list[list[Any]], list[int]]:
        """Run each row's new nodes; return log-softmax rows at the wanted node indices and
        each row's column offset of its first node (nodes are left-padded)."""
        import numpy as np
        import torch

        B = len(nodes)
        T = max(1, max(len(n) for n in nodes))
        K = rows.vis.shape[1]
        tokens = np.full((B, T), self.pad_id, dtype=np.int64)
        pos = np.zeros((B, T), dtype=np.int64)
        anc = np.zeros((B, T, T), dtype=bool)
        anc[:, np.arange(T), np.arange(T)] = True  # padding sees itself: no empty softmax row
        offsets: list[int] = []
        for b, row in enumerate(nodes):
            off = T - len(row)
            offsets.append(off)
            for i, n in enumerate(row):
                j = off + i
                tokens[b, j] = n.token
                if n.parent >= 0:
                    p = off + n.parent
                    anc[b, j] = anc[b, p]
                    anc[b, j, j] = True
                    pos[b, j] = pos[b, p] + 1
                else:
                    pos[b, j] = rows.cur_len[b]
        valid = np.zeros((B, T), dtype=bool)
        for b, row in enumerate(nodes):
            valid[b, T - len(row) :] = True
        dev = self.device
        t_pos = torch.from_numpy(pos).to(dev)
        past = rows.vis[:, None, :] & torch.from_numpy(valid).to(dev)[:, :, None]
        mask = torch.cat([past, torch.from_numpy(anc).to(dev)], dim=2)[:, None]
        attn: Any = mask
        if self.window is not None:
            kpos = torch.cat([rows.kpos, t_pos], dim=1)
            near = (t_pos[:, :, None] - kpos[:, None, :]) < self.window
            attn = {"full_attention": mask, "sliding_attention": mask & near[:, None]}
        with _sdpa_gqa():
            out = self.backbone(
                input_ids=torch.from_numpy(tokens).to(dev),
                attention_mask=attn,
                position_ids=t_pos,
                use_cache=True,
                **{self._cache_kw: rows.cache},
            )
        self.stats["forward_passes"] += 1
        self.stats["tokens"] += sum(len(n) for n in nodes)
        rows.vis = torch.cat([rows.vis, torch.zeros(B, T, dtype=torch.bool, device=dev)], dim=1)
        rows.kpos = torch.cat([rows.kpos, t_pos], dim=1)
        flat = [(b, offsets[b] + i) for b in range(B) for i in want[b]]
        result: list[list[Any]] = [[] for _ in range(B)]
        self.stats["logit_rows"] += len(flat)
        if flat:
            hidden = out.last_hidden_state[[b for b, _ in flat], [j for _, j in flat]]
            logits = self.head(hidden).float()
            if self.softcap:
                logits = torch.tanh(logits / self.softcap) * self.softcap
            logp = torch.log_softmax(logits, dim=-1)
            k = 0
            for b in range(B):
                for _ in want[b]:
                    result[b].append(logp[k])
                    k += 1
        return result, [K + o for o in offsets]

    @staticmethod
    def _commit(rows: Rows, b: int, cols: list[int]) -> None:
        rows.vis[b, cols] = True
        rows.cur_len[b] += len(cols)

    # -- free generation -----------------------------------------------------------------------
    def _free(
        self,
        batch: list[tuple[Request, list[int]]],
        suffixes: list[list[int]],
        kv: list[tuple[Any, Any]],
        n_prefix: int,
    ) -> list[tuple[str, int, None]]:
        B = len(batch)
        rows = self._start(kv, n_prefix, B)
        limits = [int(r.params.get("max_tokens", self.config.max_new_tokens)) for r, _ in batch]
        out: list[list[int]] = [[] for _ in range(B)]
        done = [False] * B
        nodes = [[Node(t, i - 1) for i, t in enumerate(s)] for s in suffixes]
        want = [[len(s) - 1] for s in suffixes]
        while True:
            logps, starts = self._forward(rows, nodes, want)
            for b in range(B):
                if nodes[b]:
                    self._commit(rows, b, [starts[b] + i for i in range(len(nodes[b]))])
            nodes, want = [[] for _ in range(B)], [[] for _ in range(B)]
            for b in range(B):
                if done[b]:
                    continue
                nxt = self._pick(logps[b][0])
                if nxt in self.stop_ids or len(out[b]) >= limits[b]:
                    done[b] = True
                    continue
                out[b].append(nxt)
                if len(out[b]) >= limits[b]:
                    done[b] = True
                    continue
                nodes[b], want[b] = [Node(nxt, -1)], [0]
            if all(done):
                break
        # Free text has no label probabilities here: the evaluator records 1 for its answer.
        return [(self.tok.decode(o, skip_special_tokens=True), len(o), None) for o in out]

    def _pick(self, logp: Any) -> int:
        import torch

        if self.config.temperature <= 0:
            return int(torch.argmax(logp))
        probs = torch.softmax(logp / self.config.temperature, dim=-1).cpu()
        return int(torch.multinomial(probs, 1, generator=self._gen))

    # -- constrained decoding ------------------------------------------------------------------
    def _space(
        self, schema: Schema, fields: tuple[str, ...], prompt: list[int]
    ) -> tuple[AnswerSpace, AnswerTrie]:
        if fields not in self._spaces:
            space = answer_space(schema, fields, self.stages)
            seqs = [self._answer_ids(prompt, text) for text in space.texts]
            self._spaces[fields] = (space, AnswerTrie(seqs, space.stage_keys()))
        return self._spaces[fields]

    def _answer_ids(self, prompt: list[int], text: str) -> list[int]:
        """The answer's tokens as they follow the prompt (tokenized together, so a tokenizer
        that merges across the boundary or adds a prefix space is handled)."""
        prompt_text = self.tok.decode(prompt, skip_special_tokens=False)
        joint = list(self.tok(prompt_text + text, add_special_tokens=False)["input_ids"])
        if joint[: len(prompt)] == prompt and len(joint) > len(prompt):
            return joint[len(prompt) :]
        return list(self.tok(text, add_special_tokens=False)["input_ids"])

    def _constrained(
        self,
        batch: list[tuple[Request, list[int]]],
        suffixes: list[list[int]],
        kv: list[tuple[Any, Any]],
        n_prefix: int,
        schema: Schema,
        fields: tuple[str, ...],
    ) -> list[tuple[str, int, tuple[dict[str, dict[str, float]], float]]]:
        """Each item's answer text, its token count, and its label probabilities with the
        answer's own probability (``constrained.field_probs`` of the stage tables)."""
        space, trie = self._space(schema, fields, batch[0][1])
        B = len(batch)
        rows = self._start(kv, n_prefix, B)
        at = [trie.ROOT] * B  # the decided node
        fed = [trie.ROOT] * B  # the deepest committed node on the decided path
        pending = [list(s) for s in suffixes]  # prompt tokens not yet run
        root_logp: list[Any] = [None] * B
        tables: list[dict[int, dict[Key, float]]] = [{} for _ in range(B)]
        for req, _ in batch:
            self.scores[req.id] = []
        for stage in range(len(space.stages)):
            plans = [trie.plan(at[b], stage) for b in range(B)]
            if all(p is None for p in plans):
                continue
            nodes: list[list[Node]] = []
            want: list[list[int]] = []
            where: list[dict[int, int]] = []  # trie node -> index in the row's node list
            for b, plan in enumerate(plans):
                row: list[Node] = [Node(t, i - 1) for i, t in enumerate(pending[b])]
                w: list[int] = [len(row) - 1] if pending[b] else []
                idx: dict[int, int] = {}
                if plan is not None:
                    path = trie.path(at[b])
                    done = path.index(fed[b]) + 1 if fed[b] != trie.ROOT else 0
                    for n in path[done:-1]:  # forced tokens decided earlier, not yet run
                        idx[n] = len(row)
                        row.append(Node(trie.token[n], len(row) - 1, n))
                    attach = len(row) - 1  # -1: right after the committed sequence
                    for n in plan.feed:  # the decided node first, then the candidates
                        idx[n] = len(row)
                        row.append(Node(trie.token[n], idx.get(trie.parent[n], attach), n))
                    w += [idx[n] for n in plan.branch if n != trie.ROOT]
                nodes.append(row)
                want.append(w)
                where.append(idx)
            logps, starts = self._forward(rows, nodes, want)
            for b, plan in enumerate(plans):
                got = iter(logps[b])
                if pending[b]:
                    root_logp[b] = next(got)
                    self._commit(rows, b, [starts[b] + i for i in range(len(pending[b]))])
                    pending[b] = []
                for n, i in where[b].items():
                    rows.col[b][n] = starts[b] + i
                if plan is None:
                    continue
                at_logp = {n: (root_logp[b] if n == trie.ROOT else next(got)) for n in plan.branch}
                best, table = self._choose(trie, plan, at_logp, stage)
                tables[b][stage] = table
                self.scores[batch[b][0].id].append({"|".join(k): v for k, v in table.items()})
                done_path = set(trie.path(fed[b]))
                new = [n for n in trie.path(best) if n in rows.col[b] and n not in done_path]
                self._commit(rows, b, [rows.col[b][n] for n in new])
                if new:
                    fed[b] = new[-1]
                at[b] = best
        outs: list[tuple[str, int, tuple[dict[str, dict[str, float]], float]]] = []
        for b in range(B):
            opt = trie.option(at[b])
            probs = field_probs(schema, space, opt, tables[b])
            outs.append((space.texts[opt], len(trie.seqs[opt]), probs))
        return outs

    @staticmethod
    def _choose(
        trie: AnswerTrie, plan: Any, at_logp: dict[int, Any], stage: int
    ) -> tuple[int, dict[Key, float]]:
        """The best determination node of a stage, and every key's log-probability."""
        import torch

        restricted: dict[int, dict[int, float]] = {}
        for n, lp in at_logp.items():
            toks = list(trie.children[n])
            vals = torch.log_softmax(lp[toks], dim=-1).tolist()
            restricted[n] = dict(zip(toks, vals, strict=True))
        by_key: dict[tuple[str, ...], list[tuple[float, int]]] = {}
        for end, steps in plan.ends.items():
            score = sum(restricted[n][t] for n, t in steps)
            (key,) = trie.stage_keys(end, stage)
            by_key.setdefault(key, []).append((score, end))
        table = {k: _logsumexp([s for s, _ in v]) for k, v in by_key.items()}
        # Ties go to the answer listed first in the schema.
        best_key = max(by_key, key=lambda k: (table[k], -min(e for _, e in by_key[k])))
        best_end = max(by_key[best_key], key=lambda se: (se[0], -se[1]))[1]
        return best_end, table


@contextmanager
def _sdpa_gqa() -> Iterator[None]:
    """Let SDPA share each KV head across its query heads (``enable_gqa``) although we pass a
    mask. transformers only does so on CUDA without a mask and otherwise copies K/V per query
    head; on CPU the grouped kernel is ~15% faster for our shapes. Read at call time."""
    old = os.environ.get(_GQA_ENV)
    os.environ[_GQA_ENV] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(_GQA_ENV, None)
        else:
            os.environ[_GQA_ENV] = old


def _logsumexp(xs: list[float]) -> float:
    m = max(xs)
    return m + math.log(sum(math.exp(x - m) for x in xs))
