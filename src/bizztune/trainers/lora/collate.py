"""Turn a task's conversations into training sequences where only the answer carries loss.

    from bizztune.trainers.lora.collate import encode_example, CompletionCollator
    enc = encode_example(task, tokenizer, example, style="compact")
    tokenizer.decode(enc.completion_ids())   # '{"category": ...}<|im_end|>'
    batch = CompletionCollator(pad_id=tokenizer.pad_token_id)([enc.features(), ...])

How a training sequence is built, and why:

- The conversation is ``task.messages(example, style, with_answer=True)``, the same function
  the evaluator calls (without the answer), so training and evaluation prompts cannot drift.
- The prompt is rendered with the tokenizer's own chat template and ``add_generation_prompt``,
  exactly as a provider renders it before generating, and tokenized on its own. The answer
  plus the end-of-turn token (``<|im_end|>`` for ChatML) is tokenized separately and appended.
  So the prompt ids seen in training are the prompt ids seen at inference, token for token.
- Labels are -100 on every prompt token (and on padding). The answer tokens and the end-of-turn
  token carry loss, so the model learns to stop after the answer. What follows the end of turn
  in the template (a newline) is never generated, so it is not trained either.
- Masks come from positions, never from token ids: SmolLM2's EOS and pad can be the same
  token, and masking "pad" ids would silently mask the end of turn (the original study's bug).
- Batches are left-padded, so the supervised tokens of every row sit at the end. The trainer
  then asks the model for logits of the last few positions only (``logits_to_keep``): the
  49k-wide LM head and softmax run on the ~25 answer positions instead of the ~150 prompt ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bizztune.core.errors import ConfigError, DataError
from bizztune.core.interfaces import Example, PromptStyle, Task

IGNORE_INDEX = -100


@dataclass(frozen=True)
class Encoded:
    """One tokenized training conversation."""

    id: str
    input_ids: list[int]
    labels: list[int]
    """-100 on the prompt; the token id on the answer and the end-of-turn token."""
    prompt_len: int

    def completion_ids(self) -> list[int]:
        """The tokens that carry loss."""
        return [t for t in self.labels if t != IGNORE_INDEX]

    def features(self) -> dict[str, Any]:
        return {"input_ids": self.input_ids, "labels": self.labels}


@dataclass(frozen=True)
class Rendered:
    """A conversation as text: the prompt, the gold answer, and the end-of-turn marker."""

    prompt: str
    answer: str
    end: str


def render_prompt(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
    """The generation prompt for messages, as a provider renders it before generating."""
    return str(
        tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
    )


def _special_tokens(tokenizer: Any) -> list[str]:
    specials = set(getattr(tokenizer, "all_special_tokens", []) or [])
    added = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    specials.update(str(t) for t in added.values() if getattr(t, "special", False))
    return sorted((s for s in specials if s), key=len, reverse=True)


def render(task: Task, tokenizer: Any, example: Example, style: PromptStyle) -> Rendered:
    """Split a training conversation into prompt, answer and end-of-turn text.

    Raises ConfigError when the chat template renders the prompt differently with and without
    the answer (then training and inference would see different prompts).
    """
    messages = task.messages(example, style=style, with_answer=True)
    prompt = render_prompt(tokenizer, messages[:-1])
    full = str(tokenizer.apply_chat_template(messages, tokenize=False))
    answer = messages[-1]["content"]
    if not full.startswith(prompt + answer):
        raise ConfigError(
            "the tokenizer's chat template renders the conversation with the answer differently "
            "from the generation prompt (add_generation_prompt=True); training would not match "
            "inference. Use a model whose template appends the assistant turn to the prompt."
        )
    rest = full[len(prompt) + len(answer) :]
    end = next((s for s in _special_tokens(tokenizer) if rest.startswith(s)), None)
    if end is None:  # a template without an end-of-turn marker: EOS ends the answer
        end = tokenizer.eos_token
        if not end:
            raise ConfigError("the tokenizer has no end-of-turn token and no EOS token")
    return Rendered(prompt=prompt, answer=answer, end=str(end))


def encode_example(
    task: Task, tokenizer: Any, example: Example, style: PromptStyle = "compact"
) -> Encoded:
    """Tokenize one conversation: prompt ids (masked) + answer ids + end-of-turn id."""
    r = render(task, tokenizer, example, style)
    # The template already holds any BOS it wants; no extra special tokens.
    prompt_ids: list[int] = tokenizer(r.prompt, add_special_tokens=False)["input_ids"]
    completion_ids: list[int] = tokenizer(r.answer + r.end, add_special_tokens=False)["input_ids"]
    end_id = tokenizer.convert_tokens_to_ids(r.end)
    if not completion_ids or completion_ids[-1] != end_id:
        raise ConfigError(
            f"end-of-turn token {r.end!r} is not a single token of this tokenizer; "
            "cannot teach the model to stop"
        )
    return Encoded(
        id=example.id,
        input_ids=prompt_ids + completion_ids,
        labels=[IGNORE_INDEX] * len(prompt_ids) + completion_ids,
        prompt_len=len(prompt_ids),
    )


@dataclass
class EncodedSplit:
    """Encoded examples of one split and what was left out."""

    items: list[Encoded]
    dropped: list[str]
    """Ids of examples longer than max_seq_len (left out, not truncated)."""
    max_len: int


def encode_examples(
    task: Task,
    tokenizer: Any,
    examples: Sequence[Example],
    style: PromptStyle,
    max_seq_len: int | None = None,
    split: str = "train",
) -> EncodedSplit:
    """Encode a split. Longer conversations than ``max_seq_len`` are left out, never cut:
    a cut prompt would not match inference, a cut answer would teach the model not to stop."""
    items: list[Encoded] = []
    dropped: list[str] = []
    for ex in examples:
        enc = encode_example(task, tokenizer, ex, style)
        if max_seq_len is not None and len(enc.input_ids) > max_seq_len:
            dropped.append(ex.id)
            continue
        items.append(enc)
    if not items:
        longest = max(len(encode_example(task, tokenizer, ex, style).input_ids) for ex in examples)
        raise DataError(
            f"every {split} example is longer than --max-seq-len {max_seq_len} tokens "
            f"(the longest has {longest}); raise --max-seq-len or use --style compact"
        )
    return EncodedSplit(items, dropped, max(len(e.input_ids) for e in items))


@dataclass
class CompletionCollator:
    """Pads a list of ``{"input_ids", "labels"}`` to the longest sequence of the batch.

    Left padding (the default) puts every row's supervised tokens at the end, so the loss
    needs logits only for the last ``keep`` positions, which the collator returns as
    ``logits_to_keep``. Padding positions are masked by position, not by token id.
    """

    pad_id: int
    padding_side: Literal["left", "right"] = "left"
    pad_to_multiple_of: int | None = None

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        import torch

        lengths = [len(f["input_ids"]) for f in features]
        width = max(lengths)
        if self.pad_to_multiple_of:
            m = self.pad_to_multiple_of
            width = (width + m - 1) // m * m
        ids = torch.full((len(features), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(features), width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(features), width), dtype=torch.long)
        for i, f in enumerate(features):
            n = lengths[i]
            sl = slice(width - n, width) if self.padding_side == "left" else slice(0, n)
            ids[i, sl] = torch.as_tensor(f["input_ids"], dtype=torch.long)
            labels[i, sl] = torch.as_tensor(f["labels"], dtype=torch.long)
            mask[i, sl] = 1
        # Positions count real tokens only, so a left-padded row sees the same positions as
        # an unpadded one (RoPE is relative anyway; absolute-position models need this).
        position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
        batch: dict[str, Any] = {
            "input_ids": ids,
            "attention_mask": mask,
            "position_ids": position_ids,
            "labels": labels,
        }
        if self.padding_side == "left":
            supervised = (labels != IGNORE_INDEX).any(0).nonzero()
            first = int(supervised[0]) if len(supervised) else width - 1
            # +1: the logit at position t predicts the token at t + 1.
            batch["logits_to_keep"] = min(width, width - first + 1)
        return batch
