"""A classifier made of a language model's body and one linear head per output field.

    from bizztune.models.heads import load_head_classifier, predict_logits, label_probs
    clf, tok = load_head_classifier("gemma3-270m", "runs/train/head")  # base + LoRA + heads
    logits = predict_logits(clf, token_id_lists, pad_id)     # field -> (n, labels)

The ``head`` trainer (``bizztune.trainers.head``) writes such a folder: the PEFT adapter of
the body (``adapter_model.safetensors``, ``adapter_config.json``), the heads
(``heads.safetensors``) and what they mean (``heads.json``: the fields, their labels and
parents, the pooling, the base model, the maximum input length), next to the tokenizer.

Why a head: a generative model must spell its answer out token by token and spends a softmax
over its whole vocabulary (262k words for Gemma 3) at each of them; a head reads the state the
body ends the prompt in once, and gives a probability for every label of every field, which
is what a decision (calibration, a combined model) needs. The prompt is the task's
own chat prompt, so the state pooled is the one the model would start its answer from.

torch is imported at the top: import this module only where a model is loaded (the provider
and trainer factories do so lazily).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import PromptStyle, Schema
from bizztune.models.adapters import HEADS_CONFIG, HEADS_WEIGHTS

HEADS_VERSION = 1
Pooling = Literal["last", "mean"]


@dataclass
class HeadField:
    name: str
    labels: list[str]
    parent: str | None = None
    parent_of: dict[str, str] | None = None


@dataclass
class HeadSpec:
    """What ``heads.json`` records."""

    fields: list[HeadField]
    hidden_size: int
    pooling: Pooling = "last"
    layers: int | None = None
    """The body's first N transformer layers are kept (None: all); see ``keep_layers``."""
    max_length: int = 512
    base_model: str = ""
    task: str = ""
    style: PromptStyle = "compact"
    version: int = HEADS_VERSION

    @classmethod
    def for_schema(cls, schema: Schema, hidden_size: int, **kw: Any) -> HeadSpec:
        fields = [
            HeadField(f.name, list(f.labels), f.parent, dict(f.parent_of) or None)
            for f in schema.fields
        ]
        return cls(fields=fields, hidden_size=hidden_size, **kw)

    @classmethod
    def read(cls, folder: Path) -> HeadSpec:
        try:
            raw = json.loads((folder / HEADS_CONFIG).read_text(encoding="utf-8"))
            raw["fields"] = [HeadField(**f) for f in raw["fields"]]
            spec = cls(**raw)
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise ConfigError(f"{folder / HEADS_CONFIG}: not a readable heads file ({e})") from e
        if spec.version != HEADS_VERSION:
            raise ConfigError(f"{folder / HEADS_CONFIG}: version {spec.version} is not supported")
        return spec

    def write(self, folder: Path) -> None:
        (folder / HEADS_CONFIG).write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False))


class FieldHeads(nn.Module):
    """A LayerNorm over the pooled state, then one zero-initialized linear layer per field:
    the untrained heads predict the uniform distribution, so no early step is wasted on
    undoing a random start."""

    def __init__(self, spec: HeadSpec) -> None:
        super().__init__()
        if spec.pooling not in ("last", "mean"):
            raise ConfigError(
                f"heads.json: pooling {spec.pooling!r} was retired (research-round-8); "
                "retrain with last or mean pooling"
            )
        self.norm = nn.LayerNorm(spec.hidden_size)
        layers = {f.name: nn.Linear(spec.hidden_size, len(f.labels)) for f in spec.fields}
        for lin in layers.values():
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)
        self.out = nn.ModuleDict(layers)

    def forward(self, pooled: torch.Tensor) -> dict[str, torch.Tensor]:
        """``pooled``: one state per sequence (n, hidden)."""
        # The heads stay in fp32 when the body runs under bf16 autocast (training).
        with torch.autocast(pooled.device.type, enabled=False):
            h = self.features(pooled)
            return {name: lin(h) for name, lin in self.out.items()}

    def features(self, pooled: torch.Tensor) -> torch.Tensor:
        """What the linear heads read: the pooled state after the LayerNorm, in fp32."""
        return self.norm(pooled.float())


def pool(hidden: torch.Tensor, mask: torch.Tensor, how: Pooling) -> torch.Tensor:
    """One vector per sequence: the last real token's state (right padding) or the mean."""
    if how == "last":
        last = mask.sum(dim=1).long() - 1
        return hidden[torch.arange(hidden.size(0), device=hidden.device), last]
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)


def joint_log_probs(spec: HeadSpec, logits: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per field log-probabilities, with every child field made consistent with its parent:
    a (parent, child) pair scores log p(parent) + log p(child), only over pairs the hierarchy
    allows, normalized; the child's distribution is that joint, the parent's its marginal.
    Fields without a hierarchy keep their own softmax."""
    out = {name: torch.log_softmax(x.float(), dim=-1) for name, x in logits.items()}
    by_name = {f.name: f for f in spec.fields}
    for f in spec.fields:
        if not f.parent or not f.parent_of or f.parent not in out or f.name not in out:
            continue
        parent = by_name[f.parent]
        col = torch.tensor([parent.labels.index(f.parent_of[c]) for c in f.labels])
        joint = out[f.name] + out[f.parent][:, col]  # (n, child labels): pair scores
        joint = joint - torch.logsumexp(joint, dim=-1, keepdim=True)
        empty = torch.full_like(joint[:, 0], float("-inf"))
        out[f.parent] = torch.stack(
            [
                torch.logsumexp(joint[:, col == j], dim=-1) if bool((col == j).any()) else empty
                for j in range(len(parent.labels))
            ],
            dim=1,
        )
        out[f.name] = joint
    return out


class HeadClassifier(nn.Module):
    """The body (a transformers base model, with LoRA during training) and its field heads."""

    def __init__(self, body: Any, spec: HeadSpec) -> None:
        super().__init__()
        self.body = body
        self.spec = spec
        self.heads = FieldHeads(spec)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The body's state the heads read, one vector per sequence (before their norm)."""
        # Without padding no mask is needed, and PyTorch runs its fused causal kernel.
        full = bool(attention_mask.all())
        out = self.body(input_ids=input_ids, attention_mask=None if full else attention_mask)
        return pool(out.last_hidden_state, attention_mask, self.spec.pooling)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        return self.heads(self.pooled(input_ids, attention_mask))

    def save_heads(self, folder: Path) -> None:
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.heads.state_dict().items()}
        save_file(state, str(folder / HEADS_WEIGHTS))
        self.spec.write(folder)

    def load_heads(self, folder: Path) -> None:
        from safetensors.torch import load_file

        state = load_file(str(folder / HEADS_WEIGHTS))
        missing, unexpected = self.heads.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ConfigError(
                f"{folder / HEADS_WEIGHTS}: heads do not match heads.json "
                f"(missing {missing}, unexpected {unexpected})"
            )


def label_probs(
    spec: HeadSpec, logits: Mapping[str, torch.Tensor], fields: Sequence[str]
) -> list[dict[str, dict[str, float]]]:
    """Per item: field -> label -> probability (hierarchy-consistent), for ``fields``."""
    logp = joint_log_probs(spec, logits)
    by_name = {f.name: f for f in spec.fields}
    n = next(iter(logits.values())).size(0)
    out: list[dict[str, dict[str, float]]] = [{} for _ in range(n)]
    for name in fields:
        p = logp[name].exp().tolist()
        for i in range(n):
            out[i][name] = dict(zip(by_name[name].labels, p[i], strict=True))
    return out


# -- inputs ---------------------------------------------------------------------------------------
TAIL_TOKENS = 24
"""Tokens kept from the end of a prompt that is too long: the end of the ticket and the turn
markers the pooled state is read after; the middle of the ticket is what is cut."""


def encode_prompt(
    tok: Any, messages: list[dict[str, str]], max_length: int
) -> tuple[list[int], int]:
    """Token ids of a chat prompt that ends where the answer would start, cut in the middle
    to ``max_length``; and how many tokens were cut (0: none)."""
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    if not isinstance(ids, list):  # a BatchEncoding in some transformers versions
        ids = list(ids["input_ids"])
    if len(ids) <= max_length:
        return list(ids), 0
    tail = min(TAIL_TOKENS, max_length // 2)
    return list(ids[: max_length - tail]) + list(ids[-tail:]), len(ids) - max_length


EVAL_BATCH_TOKENS = 2048
"""Padded tokens per inference forward at most: a batch of long tickets runs fewer at a time.
A forward's transient memory follows its tokens; after a training stage the allocator keeps
what a larger batch needed (the default run's fine-tuned eval on tickets:foreign,
docs/training.md)."""


def length_batches(
    lengths: Sequence[int], batch_size: int, max_tokens: int | None = None
) -> list[list[int]]:
    """Indices in batches of similar length (little padding), longest first; with
    ``max_tokens``, a batch also holds at most that many padded tokens (at least one item)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    out: list[list[int]] = []
    i = 0
    while i < len(order):
        n = batch_size
        if max_tokens is not None:  # the first item of a batch is its longest
            n = max(1, min(n, max_tokens // max(lengths[order[i]], 1)))
        out.append(order[i : i + n])
        i += n
    return out


def collate(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded input ids and attention mask."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(list(s), dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


@torch.inference_mode()
def predict_logits(
    clf: HeadClassifier,
    seqs: Sequence[Sequence[int]],
    pad_id: int,
    batch_size: int = 16,
    max_tokens: int | None = EVAL_BATCH_TOKENS,
) -> dict[str, torch.Tensor]:
    """Every field's logits for every sequence, in input order (batches of at most
    ``batch_size`` sequences and ``max_tokens`` padded tokens)."""
    device = next(clf.parameters()).device
    parts: dict[str, list[tuple[list[int], torch.Tensor]]] = {}
    for idx in length_batches([len(s) for s in seqs], batch_size, max_tokens):
        ids, mask = collate([seqs[i] for i in idx], pad_id)
        for name, x in clf(ids.to(device), mask.to(device)).items():
            parts.setdefault(name, []).append((idx, x.float().cpu()))
    out: dict[str, torch.Tensor] = {}
    for name, chunks in parts.items():
        full = torch.empty(len(seqs), chunks[0][1].size(1))
        for idx, x in chunks:
            full[idx] = x
        out[name] = full
    return out


# -- loading --------------------------------------------------------------------------------------
def layer_count(body: Any, value: float, flag: str) -> tuple[nn.ModuleList, int]:
    """``body.layers`` and the number of them ``value`` names: N itself, or below 1 that
    fraction of them, rounded, at least 1 (``head_layers``, ``lora_layers``). The caller
    checks the range against its own meaning."""
    layers = getattr(body, "layers", None)
    if not isinstance(layers, nn.ModuleList):
        raise ConfigError(f"{flag}: {type(body).__name__} keeps its layers elsewhere than .layers")
    return layers, int(value) if value >= 1 else max(1, round(value * len(layers)))


def keep_layers(body: Any, keep: float) -> Any:
    """Cut ``body`` to its first ``keep`` transformer layers (below 1: that fraction of its
    depth, rounded); its final norm then reads the last kept layer's output. The later layers
    are freed, and with them their share of every forward and backward pass. (A linear probe
    on the frozen Gemma 3 270M read the task best at layer 12 of 18: docs/research/.)"""
    layers, n = layer_count(body, keep, "head_layers")
    if not 1 <= n <= len(layers):
        raise ConfigError(f"head_layers {keep:g}: the model has {len(layers)} layers")
    body.layers = layers[:n]
    cfg = body.config
    cfg.num_hidden_layers = n
    if getattr(cfg, "layer_types", None):
        cfg.layer_types = list(cfg.layer_types)[:n]
    return body


def load_body(
    path: Path,
    dtype: Any,
    quantization: Any = None,
    device: str = "cpu",
    layers: float | None = None,
) -> Any:
    """The base model without its LM head (``AutoModel``): the head reads its last states (of
    its first ``layers`` layers when given). A float32 input embedding whose values are bf16
    ones is kept in bf16 (``models.embedding``)."""
    from transformers import AutoModel

    from bizztune.models.embedding import compact_input_embedding

    kwargs: dict[str, Any] = {"dtype": dtype}
    if quantization is not None:
        kwargs["quantization_config"] = quantization
        kwargs["device_map"] = {"": device}
    body = AutoModel.from_pretrained(path, **kwargs)
    if layers is not None:
        body = keep_layers(body, layers)
    if quantization is None:
        compact_input_embedding(body)  # float32 only: the same numbers in half the memory
        body.to(device)
    return body


def load_head_classifier(
    model: str,
    adapter: str | Path,
    load_in_4bit: bool = False,
    device: str | None = None,
    dtype: str | None = None,
) -> tuple[HeadClassifier, Any]:
    """(classifier in eval mode, tokenizer) from a head trainer's folder on its base model;
    the LoRA weights are merged into the body unless it is 4-bit."""
    from peft import PeftModel

    from bizztune.models.embedded import resolve_model
    from bizztune.models.loading import (
        default_device,
        nf4_config,
        pick_dtype,
        quiet_peft_wrap,
        quiet_transformers,
        refusing_code,
    )
    from bizztune.models.tokenizer import load_tokenizer

    folder = Path(adapter)
    spec = HeadSpec.read(folder)
    quiet_transformers()
    device = device or default_device()
    torch_dtype = pick_dtype(device, dtype)
    path = resolve_model(model)
    quant = nf4_config(torch_dtype) if load_in_4bit else None
    body = load_body(path, torch_dtype, quant, device, layers=spec.layers)
    hidden = int(body.config.get_text_config().hidden_size)
    if hidden != spec.hidden_size:
        raise ConfigError(
            f"--adapter {adapter}: its heads were trained on {spec.base_model or 'another model'} "
            f"(hidden size {spec.hidden_size}), not on --model {model} (hidden size {hidden})"
        )
    with quiet_peft_wrap(), refusing_code(folder):
        body = PeftModel.from_pretrained(body, str(folder))
    if not load_in_4bit:
        body = body.merge_and_unload()
    clf = HeadClassifier(body, spec)
    clf.load_heads(folder)
    clf.heads.to(device)
    clf.eval()
    tok_dir = folder if (folder / "tokenizer_config.json").is_file() else path
    tok = load_tokenizer(Path(tok_dir))
    return clf, tok


def answer_labels(
    spec: HeadSpec, probs: Mapping[str, Mapping[str, float]], fields: Sequence[str]
) -> dict[str, str]:
    """The answer for ``fields``: each field's most probable label, except that a parent whose
    child is answered too takes the child's parent. (The parent's marginal can favour a parent
    with several middling children over the parent of the single best child; the answer must
    still be one consistent pair, and the best pair is the best child's.)"""
    answer = {f: max(probs[f], key=probs[f].__getitem__) for f in fields}
    for f in spec.fields:
        if f.parent and f.parent_of and f.name in answer and f.parent in answer:
            answer[f.parent] = f.parent_of[answer[f.name]]
    return answer
