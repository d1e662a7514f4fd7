"""Load a local model for inference: device, dtype, 4-bit NF4, and a LoRA adapter on top.

    from bizztune.models.loading import load_model_and_tokenizer
    model, tok = load_model_and_tokenizer("smollm2-135m", adapter="runs/train/x")

Shared by the ``hf`` provider and the trainers (``pick_dtype``, ``nf4_config``,
``quiet_peft_wrap``). torch, transformers, peft and bitsandbytes are imported inside the
functions that need them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bizztune.core.errors import ConfigError, MissingDependencyError
from bizztune.models.adapters import base_from_record
from bizztune.models.embedded import resolve_model
from bizztune.models.tokenizer import load_tokenizer

if TYPE_CHECKING:
    import torch
    from peft import PeftModel
    from transformers import BitsAndBytesConfig


class _DropKernelsNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "from kernels-community" not in record.getMessage()


_KERNELS_FILTER = _DropKernelsNotice()


def quiet_bitsandbytes() -> None:
    """Hide the notice bitsandbytes logs when it is imported on a CPU with AVX512-BF16: that it
    could not fetch an optional 4-bit kernel from the Hub ("pip install kernels"). It comes on
    every run that imports peft, offline it cannot be acted on, and the built-in kernel it
    falls back to is the one the measurements in docs/ were made with. Call it before the
    import; the logger is created here if bitsandbytes has not made it yet."""
    logger = logging.getLogger("bitsandbytes.backends.cpu.ops")
    if _KERNELS_FILTER not in logger.filters:
        logger.addFilter(_KERNELS_FILTER)


def quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bf16 matmul (AVX512-BF16 or AMX), where bf16 beats fp32."""
    import torch

    try:
        if bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()):
            return True
    except (AttributeError, RuntimeError):
        pass
    from bizztune.core.machine import cpu_flags

    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def pick_dtype(device: str, dtype: str | None) -> torch.dtype:
    """The torch dtype for ``--dtype`` (None/auto: bf16 on CUDA and bf16-capable CPUs, else fp32)."""
    import torch

    table = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if dtype and dtype != "auto":
        if dtype not in table:
            raise ConfigError(f"--dtype must be one of auto, {', '.join(table)}; not {dtype!r}")
        return table[dtype]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_supports_bf16() else torch.float32


@contextlib.contextmanager
def quiet_peft_wrap() -> Iterator[None]:
    """Wrapping a model in peft 0.21 reads transformers' deprecated ``is_gradient_checkpointing``,
    a FutureWarning on every run that no user of bizztune can act on; hide that one only."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
        )
        yield


def nf4_config(compute_dtype: Any, storage_dtype: Any = None) -> BitsAndBytesConfig:
    """bitsandbytes' 4-bit NF4 with double quantization, as QLoRA loads its base.
    ``storage_dtype``: the dtype the packed weights are stored in (FSDP needs a float one);
    None: bitsandbytes' default (uint8)."""
    if importlib.util.find_spec("bitsandbytes") is None:
        raise MissingDependencyError("bitsandbytes", "train")
    from transformers import BitsAndBytesConfig

    extra = {"bnb_4bit_quant_storage": storage_dtype} if storage_dtype is not None else {}
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
        **extra,
    )


def load_model_and_tokenizer(
    name_or_path: str,
    adapter: str | None = None,
    load_in_4bit: bool = False,
    device: str | None = None,
    dtype: str | None = None,
) -> tuple[Any, Any]:
    """(model in eval mode, tokenizer) for an alias or local folder, with an optional adapter.

    A LoRA adapter is merged into the weights (faster inference) unless the base is 4-bit.
    """
    quiet_bitsandbytes()
    import torch
    from transformers import AutoModelForCausalLM

    path = resolve_model(name_or_path)
    quiet_transformers()
    device = device or default_device()
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: CUDA is not available on this machine")
    torch_dtype = pick_dtype(device, dtype)
    kwargs: dict[str, Any] = {"dtype": torch_dtype}
    if load_in_4bit:
        kwargs["quantization_config"] = nf4_config(torch_dtype)
        kwargs["device_map"] = {"": device}
    model: Any = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if not load_in_4bit:
        model.to(device)

    tok_dir = path
    if adapter is not None:
        adir = Path(adapter)
        if (adir / "tokenizer_config.json").is_file():
            tok_dir = adir  # the tokenizer the adapter was trained with
        model = attach_adapter(model, adir, name_or_path)
        if not load_in_4bit:
            model = model.merge_and_unload()
    tok = load_tokenizer(Path(tok_dir))
    model.eval()
    return model, tok


def adapter_base(adapter: Path) -> str | None:
    """The base model an adapter folder was trained on (``base_model_name_or_path`` of its
    adapter_config.json, an embedded model by name: ``adapters.base_from_record``), or None if
    it does not say. ConfigError if it is no adapter."""
    cfg_path = adapter / "adapter_config.json"
    if not cfg_path.is_file():
        raise ConfigError(f"--adapter {adapter}: no adapter_config.json (not a PEFT adapter)")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"--adapter {adapter}: adapter_config.json is unreadable ({e})") from None
    base = cfg.get("base_model_name_or_path") if isinstance(cfg, dict) else None
    return base_from_record(str(base)) if base else None


@contextlib.contextmanager
def refusing_code(adapter: Path) -> Iterator[None]:
    """Around loading an adapter's weights: peft reads an ``adapter_model.bin`` with torch's
    ``weights_only=True``, which refuses a pickle that names anything but tensors; that refusal
    becomes one line instead of a traceback. An adapter folder may come from someone else."""
    import pickle

    try:
        yield
    except pickle.UnpicklingError:
        raise ConfigError(
            f"--adapter {adapter}: adapter_model.bin holds objects other than tensors, which "
            "no trainer writes; refused, since loading it could run code (use safetensors)"
        ) from None


def attach_adapter(model: Any, adapter: Path, model_name: str) -> PeftModel:
    """``model`` with the LoRA adapter of ``adapter`` on top (a peft PeftModel). An adapter
    trained on another base is a ConfigError naming both, not peft's page of size mismatches."""
    from peft import PeftModel

    base = adapter_base(adapter)
    try:
        with quiet_peft_wrap(), refusing_code(adapter):
            return PeftModel.from_pretrained(model, str(adapter))
    except (RuntimeError, ValueError, KeyError) as e:
        text = str(e)
        if "size mismatch" in text:
            why = "its weight shapes do not fit this model"
        else:
            why = (text.strip().splitlines() or [type(e).__name__])[0][:200]
        hint = f"; pass --model {base}" if base else ""
        raise ConfigError(
            f"--adapter {adapter} was trained on {base or 'an unnamed base model'} "
            f"(adapter_config.json), not on the model given, {model_name}: {why}{hint}"
        ) from None


def cache_keyword(module: Any) -> str:
    """The name a model's forward takes its KV cache by: ``cache`` in recent transformers 5,
    ``past_key_values`` before (the old name warns there, and goes in 5.40)."""
    import inspect

    try:
        params = inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"
