"""Several providers answering as one: the product of their probabilities per request, for
``bizztune serve --combine-with tfidf``; the pooling itself (``pool``, ``answer``), which
``bizztune.eval.combine`` applies to recorded answers (its docstring says why a product).

    both = CombinedProvider([hf_provider, fitted_tfidf], weights=[0.5, 0.5])
    for c in both.complete(requests, schema): ...

Every member answers every request; per request the members' label probabilities are pooled
exactly as ``bizztune combine`` pools recorded answers, so a served answer is the one the
report scored. A member without probabilities for a field votes with its answer (1 for the
label it gave); a member whose call failed fails the request, with its error. Latency, tokens
and cost are the members' summed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import Completion, Request, Schema

FLOOR = 1e-6
"""The probability a member is taken to give a label it gave none."""


def check_weights(weights: Sequence[float] | None, n: int, where: str = "--weights") -> list[float]:
    """The members' weights, normalized to sum to 1 (None: equal)."""
    if n < 2:
        raise ConfigError(f"{where}: a combination needs at least two models, not {n}")
    if weights is None:
        return [1.0 / n] * n
    w = [float(x) for x in weights]
    if len(w) != n:
        raise ConfigError(f"{where}: {len(w)} weights for {n} models; give one per model")
    if any(not math.isfinite(x) or x < 0 for x in w) or sum(w) <= 0:
        raise ConfigError(f"{where}: weights must be non-negative numbers, not all 0: {w}")
    return [x / sum(w) for x in w]


def _log_norm(scores: dict[str, float]) -> dict[str, float]:
    z = _log_sum(list(scores.values()))
    return {k: v - z for k, v in scores.items()}


def _log_sum(values: Sequence[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def pool(
    schema: Schema,
    probs: Sequence[Mapping[str, Mapping[str, float]]],
    weights: Sequence[float],
    fields: Sequence[str] | None = None,
) -> dict[str, dict[str, float]]:
    """Field -> label -> log-probability of the combination of ``probs`` (one per member),
    for ``fields`` (None: every field of the schema)."""
    out: dict[str, dict[str, float]] = {}
    for f in schema.fields:
        if fields is not None and f.name not in fields:
            continue
        scores = {
            label: sum(
                w * math.log(max(float(p.get(f.name, {}).get(label, 0.0)), FLOOR))
                for p, w in zip(probs, weights, strict=True)
            )
            for label in f.labels
        }
        out[f.name] = _log_norm(scores)
    for f in schema.fields:  # a child by the chain rule: p(parent) * p(child | parent)
        if not f.parent or not f.parent_of or f.parent not in out:
            continue
        child, parent = out[f.name], out[f.parent]
        within: dict[str, list[float]] = {}
        for c, lp in child.items():
            within.setdefault(f.parent_of[c], []).append(lp)
        z = {k: _log_sum(v) for k, v in within.items()}
        pairs = _log_norm(
            {c: parent[f.parent_of[c]] + lp - z[f.parent_of[c]] for c, lp in child.items()}
        )
        out[f.name] = pairs
        marg: dict[str, list[float]] = {}
        for c, lp in pairs.items():
            marg.setdefault(f.parent_of[c], []).append(lp)
        out[f.parent] = {k: _log_sum(marg[k]) if k in marg else -math.inf for k in parent}
    return out


def answer(schema: Schema, logp: Mapping[str, Mapping[str, float]]) -> dict[str, str]:
    """Each field's most probable label; a parent takes its answered child's parent."""
    ans = {f: max(d, key=d.__getitem__) for f, d in logp.items()}
    for f in schema.fields:
        if f.parent and f.parent_of and f.name in ans and f.parent in ans:
            ans[f.parent] = f.parent_of[ans[f.name]]
    return ans


def _probs(c: Completion, schema: Schema, fields: Sequence[str]) -> dict[str, dict[str, float]]:
    """A completion's label probabilities, or 1 for the label its text answers (read by the
    shared parser, as the evaluator records a provider without probabilities)."""
    from bizztune.tasks.parsing import parse_answer

    out = {f: dict(p) for f, p in (c.probs or {}).items() if f in fields}
    missing = [f for f in fields if f not in out]
    if missing:
        said = parse_answer(c.text, schema, missing).labels
        out.update({f: {label: 1.0} for f, label in said.items() if label is not None})
    return out


class CombinedProvider:
    """Providers pooled into one model (weights normalized; None: equal)."""

    name = "combine"

    def __init__(self, members: Sequence[Any], weights: Sequence[float] | None = None) -> None:
        self.members = list(members)
        self.weights = check_weights(weights, len(self.members), "--combine-weights")
        self.model = " × ".join(str(getattr(m, "model", m.name)) for m in self.members)

    def complete(self, requests: Sequence[Request], schema: Schema) -> Iterator[Completion]:
        got = [{c.request_id: c for c in m.complete(requests, schema)} for m in self.members]
        for r in requests:
            cs = [g[r.id] for g in got]
            failed = next((c for c in cs if c.text is None), None)
            if failed is not None:
                yield Completion(r.id, None, error=failed.error)
                continue
            logp = pool(schema, [_probs(c, schema, r.fields) for c in cs], self.weights, r.fields)
            ans = answer(schema, logp)
            conf = 1.0  # the whole answer's: its leaves fix the rest
            for f in schema.leaves:
                conf *= math.exp(logp[f][ans[f]]) if f in ans else 1.0
            yield Completion(
                r.id,
                json.dumps(ans, ensure_ascii=False),
                latency_s=sum(c.latency_s for c in cs),
                prompt_tokens=sum(c.prompt_tokens for c in cs),
                completion_tokens=sum(c.completion_tokens for c in cs),
                cost_usd=sum(c.cost_usd for c in cs),
                cached=all(c.cached for c in cs),
                truncated_tokens=max(c.truncated_tokens for c in cs),
                probs={f: {k: math.exp(v) for k, v in d.items()} for f, d in logp.items()},
                confidence=conf,
            )
