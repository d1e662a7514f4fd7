"""Merge a trained LoRA adapter into its base weights: one plain model folder for serving.

    bizztune export runs/train/smollm2-lora --out runs/export/smollm2-tickets
    bizztune export runs/train/x --model path/to/base --dtype float32

The base model comes from the adapter's ``train_config.json`` unless ``--model`` is given. It
is loaded in 16-bit (never 4-bit, even for a QLoRA adapter: the adapter is merged into the
de-quantized weights), the adapter is merged, and the result is written as safetensors with the
adapter's tokenizer and chat template, ready for ``--provider hf --model OUT``, vLLM or TGI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bizztune.core.errors import ConfigError


def base_model_of(adapter: Path) -> str:
    """The ``--model`` an adapter was trained from, as recorded in its train_config.json."""
    cfg = adapter / "train_config.json"
    if cfg.is_file():
        train = json.loads(cfg.read_text()).get("train", {})
        if train.get("model"):
            return str(train["model"])
    acfg = adapter / "adapter_config.json"
    if acfg.is_file():
        from bizztune.models.embedded import EMBEDDED
        from bizztune.models.loading import adapter_base

        base = adapter_base(adapter)  # an embedded model by name, not an old home's path
        if base and (base in EMBEDDED or Path(base).exists()):
            return base
    raise ConfigError(f"{adapter}: cannot tell its base model; pass --model")


def refuse_heads(adapter: Path | None, where: str) -> None:
    """A head trainer's folder answers through its heads (and may keep only the body's first
    layers): merged into a causal LM it would answer nothing it was trained for."""
    if adapter is not None and (adapter / "heads.json").is_file():
        raise ConfigError(
            f"{adapter} is a head trainer's folder: its answers come from its heads, which "
            f"{where} cannot run; serve it with bizztune serve, or train with --trainer lora"
        )


def export_merged(
    adapter: Path, out: Path, model: str | None = None, dtype: str = "bfloat16"
) -> Path:
    """Merge ``adapter`` into its base and save the full model under ``out``; returns ``out``."""
    from bizztune.models.loading import attach_adapter, quiet_bitsandbytes

    quiet_bitsandbytes()
    import torch
    from transformers import AutoModelForCausalLM

    from bizztune.models.embedded import resolve_model
    from bizztune.models.tokenizer import load_tokenizer

    refuse_heads(adapter, "a merged causal LM")
    if not (adapter / "adapter_config.json").is_file():
        raise ConfigError(f"{adapter}: no adapter_config.json (not a trained adapter folder)")
    dtypes: dict[str, Any] = {
        "bfloat16": torch.bfloat16,
        "float16": torch.float16,
        "float32": torch.float32,
    }
    if dtype not in dtypes:
        raise ConfigError(f"--dtype must be one of {', '.join(dtypes)}, not {dtype!r}")
    if out.resolve() == adapter.resolve():
        raise ConfigError("--out must differ from the adapter folder")
    base_path = resolve_model(model or base_model_of(adapter))
    base = AutoModelForCausalLM.from_pretrained(str(base_path), dtype=dtypes[dtype])
    merged = attach_adapter(base, adapter, str(model or base_model_of(adapter))).merge_and_unload()
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out), safe_serialization=True)
    tok_dir = adapter if (adapter / "tokenizer_config.json").is_file() else base_path
    load_tokenizer(Path(tok_dir)).save_pretrained(str(out))
    gen = base_path / "generation_config.json"
    if gen.is_file() and not (out / "generation_config.json").is_file():
        (out / "generation_config.json").write_text(gen.read_text())
    (out / "bizztune-export.json").write_text(
        json.dumps({"adapter": str(adapter), "base": str(base_path), "dtype": dtype}, indent=2)
    )
    return out


ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin")


def export_vllm(
    adapter: Path, out: Path, model: str | None = None, name: str | None = None
) -> Path:
    """A LoRA adapter folder vLLM serves beside its base (``--enable-lora``): the adapter's
    weights and tokenizer, its ``base_model_name_or_path`` set to the local base folder, and
    ``vllm.json`` with the command; returns ``out``."""
    import shutil

    from bizztune.models.embedded import resolve_model

    refuse_heads(adapter, "vLLM")
    acfg_path = adapter / "adapter_config.json"
    if not acfg_path.is_file():
        raise ConfigError(f"{adapter}: no adapter_config.json (not a trained adapter folder)")
    if out.resolve() == adapter.resolve():
        raise ConfigError("--out must differ from the adapter folder")
    base = resolve_model(model or base_model_of(adapter)).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for f in adapter.iterdir():
        if f.is_file() and (f.name in ADAPTER_FILES or f.name.startswith(("tokenizer", "special"))):
            shutil.copy2(f, out / f.name)
    acfg = json.loads(acfg_path.read_text(encoding="utf-8"))
    acfg["base_model_name_or_path"] = str(base)
    (out / "adapter_config.json").write_text(json.dumps(acfg, indent=2), encoding="utf-8")
    served = name or adapter.name
    rank = int(acfg.get("r", 16))
    command = (
        f"vllm serve {base} --enable-lora --lora-modules {served}={out.resolve()} "
        f"--max-lora-rank {max(8, 1 << (rank - 1).bit_length())}"
    )
    (out / "vllm.json").write_text(
        json.dumps(
            {"base": str(base), "adapter": str(adapter), "served_name": served, "command": command},
            indent=2,
        ),
        encoding="utf-8",
    )
    return out
