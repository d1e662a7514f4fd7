"""Write a model with its adapter merged in as one GGUF file, for llama.cpp and Ollama.

    bizztune export runs/train/lora --format gguf --quant q8_0 --out runs/export/tickets.gguf

The adapter is merged in float32 (``models.loading``), then every tensor goes to GGUF under
llama.cpp's names (``gguf.get_tensor_name_map``), with the query and key projections
permuted to llama.cpp's rotary layout as its own ``convert_hf_to_gguf.py`` does; 1-D tensors
(norms) stay float32, matrices are float16 (``f16``) or 8-bit blocks (``q8_0``, with
``gguf.quants``; a matrix whose rows do not split into 32-value blocks stays float16). The
tokenizer (a byte-level BPE: vocabulary, merges, special tokens) and the chat template go into
the file's metadata; the pre-tokenizer name is copied from the packaged GGUF the model came
from, when it came from one. Llama-architecture models only (SmolLM2, the tiny test models):
for another architecture (Gemma 3) export ``--format merged`` and run llama.cpp's
``convert_hf_to_gguf.py`` on it (docs/serving.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from bizztune.core.errors import ConfigError

Quant = Literal["f16", "q8_0"]


def _permute(w: Any, n_head: int) -> Any:
    """HF's rotate-half layout of a q/k projection to the interleaved one llama.cpp reads."""
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


def _rope_theta(cfg: Any) -> float:
    params = getattr(cfg, "rope_parameters", None) or {}
    theta = params.get("rope_theta") if isinstance(params, dict) else None
    return float(theta or getattr(cfg, "rope_theta", None) or 10000.0)


def _source_pre(model: str) -> str:
    """``tokenizer.ggml.pre`` of the packaged GGUF an embedded model came from, else gpt2."""
    from bizztune.models.embedded import EMBEDDED, gguf_path

    if model not in EMBEDDED:
        return "gpt2"
    import gguf

    reader = gguf.GGUFReader(str(gguf_path(model)))
    field = reader.get_field("tokenizer.ggml.pre")
    return str(field.contents()) if field is not None else "gpt2"


def _tokenizer_kv(writer: Any, tok: Any, n_vocab: int, pre: str) -> None:
    import gguf

    spec = json.loads(tok.backend_tokenizer.to_str())
    model = spec.get("model", {})
    if model.get("type") != "BPE":
        raise ConfigError(
            f"GGUF export writes byte-level BPE tokenizers only; this one is "
            f"{model.get('type')!r}: use --format merged and llama.cpp's convert_hf_to_gguf.py"
        )
    vocab: dict[str, int] = dict(model["vocab"])
    special: set[int] = set()
    for added in spec.get("added_tokens", []):
        vocab[added["content"]] = int(added["id"])
        if added.get("special"):
            special.add(int(added["id"]))
    by_id = {i: t for t, i in vocab.items()}
    tokens: list[str] = []
    types: list[int] = []
    for i in range(n_vocab):
        if i in by_id:
            tokens.append(by_id[i])
            types.append(
                gguf.TokenType.CONTROL.value if i in special else gguf.TokenType.NORMAL.value
            )
        else:  # the embedding has rows no token uses
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED.value)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    if tok.bos_token_id is not None:
        writer.add_bos_token_id(int(tok.bos_token_id))
    writer.add_add_bos_token(
        tok.bos_token_id is not None and bool(getattr(tok, "add_bos_token", False))
    )
    if tok.eos_token_id is not None:
        writer.add_eos_token_id(int(tok.eos_token_id))
    if tok.pad_token_id is not None:
        writer.add_pad_token_id(int(tok.pad_token_id))
    if tok.chat_template:
        writer.add_chat_template(str(tok.chat_template))


def export_gguf(
    model: str, adapter: Path | None, out: Path, quant: Quant = "f16", name: str | None = None
) -> Path:
    """``model`` with ``adapter`` merged in, as the GGUF file ``out``; returns ``out``."""
    if quant not in ("f16", "q8_0"):
        raise ConfigError(f"--quant must be f16 or q8_0, not {quant!r}")
    from bizztune.trainers.export import refuse_heads

    refuse_heads(adapter, "a GGUF causal LM")
    import gguf
    import numpy as np

    from bizztune.models.loading import load_model_and_tokenizer

    lm, tok = load_model_and_tokenizer(
        model, str(adapter) if adapter else None, device="cpu", dtype="float32"
    )
    cfg = lm.config
    if cfg.model_type != "llama":
        raise ConfigError(
            f"GGUF export supports llama-architecture models (smollm2-135m); {model} is "
            f"{cfg.model_type!r}: export --format merged and convert it with llama.cpp's "
            "convert_hf_to_gguf.py (docs/serving.md)"
        )
    n_head, n_kv = int(cfg.num_attention_heads), int(cfg.num_key_value_heads)
    head_dim = int(getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, int(cfg.num_hidden_layers))
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(out), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    writer.add_name(name or out.stem)
    writer.add_context_length(int(cfg.max_position_embeddings))
    writer.add_embedding_length(int(cfg.hidden_size))
    writer.add_block_count(int(cfg.num_hidden_layers))
    writer.add_feed_forward_length(int(cfg.intermediate_size))
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(_rope_theta(cfg))
    writer.add_layer_norm_rms_eps(float(cfg.rms_norm_eps))
    writer.add_vocab_size(int(cfg.vocab_size))
    file_type = gguf.LlamaFileType.MOSTLY_Q8_0 if quant == "q8_0" else gguf.LlamaFileType.MOSTLY_F16
    writer.add_file_type(int(file_type))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    _tokenizer_kv(writer, tok, int(cfg.vocab_size), _source_pre(model))
    tied = bool(getattr(cfg, "tie_word_embeddings", False))
    for hf_name, tensor in lm.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue
        gg_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gg_name is None:
            raise ConfigError(f"GGUF export: no llama.cpp name for tensor {hf_name}")
        data = tensor.detach().float().numpy()
        if hf_name.endswith("q_proj.weight"):
            data = _permute(data, n_head)
        elif hf_name.endswith("k_proj.weight"):
            data = _permute(data, n_kv)
        if data.ndim == 1:
            writer.add_tensor(gg_name, data.astype(np.float32))
        elif quant == "q8_0" and data.shape[-1] % 32 == 0:
            q = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(gg_name, q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(gg_name, data.astype(np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
