"""Tiny models built locally from a config, for tests and CI (no hub, no download).

    from bizztune.testing import make_tiny_model
    path = make_tiny_model(tmp_path / "tiny", texts=["Hallo Welt", ...])

The tokenizer is a byte-level BPE trained on ``texts`` with ChatML special tokens and the
same chat template as SmolLM2, so prompts, masking and stopping behave as with a real model.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bizztune.models.tokenizer import CHATML_TEMPLATE

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>"]


def make_tiny_tokenizer(texts: Iterable[str], vocab_size: int = 1024) -> object:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<pad>",
        unk_token=None,
        additional_special_tokens=["<|im_start|>", "<|endoftext|>"],
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast


def make_tiny_model(
    out: Path,
    texts: Iterable[str] = (),
    *,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    vocab_size: int = 1024,
    seed: int = 0,
) -> Path:
    """A randomly initialised Llama-architecture model + tokenizer saved under ``out``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if (out / "config.json").is_file():
        return out
    base = [
        "Technischer Support Abrechnung und Zahlungen Produktinformationen Bestellverwaltung",
        "Allgemeine Anfragen Ungewiss Geräte-Setup-Probleme Softwarefehler Zahlungsprobleme",
        "Rückerstattungsanfragen Produktspezifikationen Garantieinformationen Bestellverfolgung",
        "Lieferverzögerungen Unternehmensrichtlinien Feedback und Vorschläge Kein Zusammenhang",
        'Hoch Mittel Niedrig {"category": "subcategory": "urgency": } Titel Beschreibung Name Datum',
    ]
    tok = make_tiny_tokenizer([*base, *texts], vocab_size=vocab_size)
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(tok),  # type: ignore[arg-type]
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,  # type: ignore[attr-defined]
        eos_token_id=tok.eos_token_id,  # type: ignore[attr-defined]
        bos_token_id=None,
    )
    model = LlamaForCausalLM(cfg)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)  # type: ignore[attr-defined]
    return out
