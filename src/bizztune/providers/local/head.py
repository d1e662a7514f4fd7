"""Answers from a head trainer's folder: one forward pass per item, a probability per label.

    bizztune eval --provider gemma3-270m --adapter runs/train/head --data tickets:foreign

The local providers (``hf`` and the embedded models) hand an ``--adapter`` that holds
``heads.json`` to this one. The prompt is the request's own chat prompt, as in training; every
field of the request gets the label its head (made consistent with the hierarchy) rates
highest, and ``scores`` keeps every label's probability for each request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from bizztune.core.interfaces import Completion, ProviderConfig, Request, Schema


class HeadProvider:
    def __init__(self, config: ProviderConfig) -> None:
        import torch

        from bizztune.models.heads import load_head_classifier

        assert config.adapter is not None and config.model
        torch.manual_seed(config.seed)
        self.name = config.name
        self.model = config.model
        self.config = config
        self.clf, self.tok = load_head_classifier(
            config.model, config.adapter, config.load_in_4bit, config.device, config.dtype
        )
        self.pad_id = int(self.tok.pad_token_id if self.tok.pad_token_id is not None else 0)
        self.device = next(self.clf.parameters()).device
        self.scores: dict[str, dict[str, dict[str, float]]] = {}
        """Request id -> field -> label -> probability."""
        self.truncated = 0
        spec = self.clf.spec
        # the task the heads were trained on, when it is the one handed down
        task = config.task
        self.task = task if task is not None and task.name == spec.task else None

    def complete(self, requests: Sequence[Request], schema: Schema) -> Iterator[Completion]:
        from bizztune.models.heads import answer_labels, encode_prompt, label_probs, predict_logits

        spec = self.clf.spec
        for start in range(0, len(requests), 64):  # answers flow back while the rest runs
            chunk = requests[start : start + 64]
            t0 = time.perf_counter()
            seqs, cuts = [], []
            for r in chunk:
                ids, cut = encode_prompt(self.tok, self._messages(r), spec.max_length)
                seqs.append(ids)
                cuts.append(cut)
                self.truncated += cut > 0
            logits = predict_logits(self.clf, seqs, self.pad_id, self.config.batch_size)
            dt = (time.perf_counter() - t0) / len(chunk)
            for r, seq, cut, probs in zip(
                chunk, seqs, cuts, self._probs(label_probs, logits, chunk), strict=True
            ):
                answer = answer_labels(spec, probs, r.fields)
                self.scores[r.id] = probs
                yield Completion(
                    r.id,
                    json.dumps(answer, ensure_ascii=False),
                    latency_s=dt,
                    prompt_tokens=len(seq),
                    truncated_tokens=cut,  # counted in truncated_items, as the hf provider's
                    # the heads' own probabilities; the answer's is the product over the leaf
                    # fields (the evaluator's default), the heads being independent given the text
                    probs={f: dict(probs[f]) for f in r.fields if f in probs},
                )

    def _messages(self, r: Request) -> list[dict[str, str]]:
        """The prompt the heads were trained on: the task's prompt in the trained style, for
        the raw item when the request carries it (whatever --style the eval was given)."""
        if r.example is None or self.task is None:
            return r.messages
        return self.task.messages(r.example, style=self.clf.spec.style)

    def _probs(self, label_probs: Any, logits: Any, chunk: Sequence[Request]) -> list[Any]:
        fields = sorted(
            {f for r in chunk for f in r.fields}, key=[f.name for f in self.clf.spec.fields].index
        )
        return list(label_probs(self.clf.spec, logits, fields))
