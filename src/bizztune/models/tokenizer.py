"""Chat templates, end of turn and padding: what providers and trainers agree on per tokenizer.

    from bizztune.models.tokenizer import load_tokenizer, end_of_turn_ids
    tok = load_tokenizer(path)                    # chat template and pad token set
    stop = end_of_turn_ids(tok)                   # [2] for SmolLM2's <|im_end|>

- SmolLM2 keeps its own ChatML template (``<|im_start|>role\\n...<|im_end|>\\n``; the template
  adds a default system message when there is none). End of turn and EOS: ``<|im_end|>``
  (id 2). The pad token is set to ``<|endoftext|>`` (id 0), *not* EOS, so masking pad tokens
  in labels never masks the end-of-turn token the model must learn to emit.
- Gemma 3 270M is a base model whose GGUF has no chat template. ChatML's ``<|im_start|>`` is not
  in its vocabulary, so we install Gemma's own turn format, whose markers are single special
  tokens: ``<start_of_turn>user\\n...<end_of_turn>\\n<start_of_turn>model\\n``. End of turn:
  ``<end_of_turn>`` (id 106); ``tokenizer.eos_token`` stays ``<eos>``; pad is ``<pad>`` (id 0).
  ``generation_config.eos_token_id`` lists both, so generation stops at the end of the turn.
- A tokenizer without a template and without Gemma's markers gets ChatML
  (``CHATML_TEMPLATE``, also what ``bizztune.testing`` gives its tiny models).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
GEMMA_TEMPLATE = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}"
    "{% set first = messages[0]['content'] + '\n\n' %}{% set loop_messages = messages[1:] %}"
    "{% else %}{% set first = '' %}{% set loop_messages = messages %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + (first if loop.first else '') + message['content'] }}"
    "{{ '<end_of_turn>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
"""Gemma's turn format; a system message is folded into the first user turn, as Gemma does."""


def end_of_turn_token(tok: Any) -> str:
    vocab = tok.get_vocab()
    for t in ("<|im_end|>", "<end_of_turn>", "<|eot_id|>"):
        if t in vocab:
            return t
    return str(tok.eos_token)


def end_of_turn_ids(tok: Any) -> list[int]:
    """Token ids that end an assistant turn: the end-of-turn marker and EOS."""
    ids: list[int] = []
    for t in (end_of_turn_token(tok), tok.eos_token):
        if t is None:
            continue
        i = tok.convert_tokens_to_ids(t)
        if isinstance(i, int) and i >= 0 and i not in ids:
            ids.append(i)
    return ids


SLIMMED = ("GemmaTokenizer", "LlamaTokenizer", "GPT2Tokenizer", "Qwen2Tokenizer")
"""Tokenizer classes of transformers 5 that build their Rust tokenizer from a Python copy of
the vocabulary and merges (``_vocab``, ``_merges``), keep that copy on the instance and never
read it again (checked in transformers 5.24's sources): ``slim`` drops it."""


def slim(tok: Any) -> PreTrainedTokenizerBase:
    """Drop the Python copy of the vocabulary and merges a ``SLIMMED`` tokenizer was built
    from: for Gemma 3's 262k tokens 142 MiB that every loaded tokenizer would keep, which
    the encoding (done by ``tok._tokenizer``, in Rust) and ``save_pretrained`` never read."""
    if type(tok).__name__ in SLIMMED and getattr(tok, "_tokenizer", None) is not None:
        for attr in ("_vocab", "_merges"):
            if isinstance(tok.__dict__.get(attr), (dict, list)):
                tok.__dict__[attr] = None
    return tok


def prepare_tokenizer(tok: Any) -> PreTrainedTokenizerBase:
    """Give a tokenizer a chat template and a pad token distinct from the end of turn (and
    ``slim`` it)."""
    slim(tok)
    vocab = tok.get_vocab()
    if not getattr(tok, "chat_template", None):
        if "<start_of_turn>" in vocab:
            tok.chat_template = GEMMA_TEMPLATE
        else:
            tok.chat_template = CHATML_TEMPLATE
    eot = end_of_turn_token(tok)
    if tok.pad_token is None or tok.pad_token in (eot, tok.eos_token):
        for cand in ("<|endoftext|>", "<pad>", "<|finetune_right_pad_id|>"):
            if cand in vocab and cand not in (eot, tok.eos_token):
                tok.pad_token = cand
                break
        else:
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
    return tok


def load_tokenizer(path: Path) -> PreTrainedTokenizerBase:
    """The tokenizer of a local model folder, prepared as above."""
    from transformers import AutoTokenizer

    return prepare_tokenizer(AutoTokenizer.from_pretrained(str(path)))
