"""A GGUF file into a plain safetensors model folder, one tensor at a time.

    python -m bizztune.models.gguf_convert FILE.gguf OUT_DIR ALIAS   # what embedded._convert runs

Why not ``from_pretrained(gguf_file=...)`` then ``save_pretrained``, as before: transformers'
loader de-quantizes every tensor of the file to float32 and loads them into a float32 model
before anything can be cast, and its GGUF reader parses all 262,144 tokens of Gemma's
vocabulary into Python objects while it does: the conversion of Gemma 3 270M peaked at 2.6 GB.
Here, in order, each step's memory freed before the next:

1. the tokenizer (transformers' own GGUF tokenizer), saved and dropped;
2. the config (transformers' own) and a skeleton of the model on the meta device, for the
   parameter names, the GGUF-to-transformers name map and the tied weights;
3. each tensor of the memory-mapped file, de-quantized in blocks of rows by the same gguf-py
   function and processed by the same transformers tensor processor the loader uses (Gemma's
   norms are stored as ``w + 1``), cast to the storage dtype, and put into the skeleton;
4. ``save_pretrained``, as before.

The files written are the loader's, byte for byte (checked on both packaged models; the tensors
in ``tests/test_hf_provider.py``). The peak is the parse of the vocabulary by transformers'
tokenizer and config, about 1.2 GB for Gemma 3 270M against 2.6 GB before.
"""

from __future__ import annotations

import gc
import json
import math
import mmap
import os
import shutil
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizztune.models.tokenizer import end_of_turn_ids, end_of_turn_token, prepare_tokenizer

CACHE_FORMAT = 2
"""Bump to force a re-conversion of every cached embedded model."""
MARKER = "bizztune-model.json"
CHUNK_VALUES = 4 * 2**20
"""Values de-quantized at once (16 MB in float32): a block of whole rows of about this size."""

# GGUF metadata value types (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md)
_FIXED = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class GgufTensor:
    name: str
    shape: tuple[int, ...]
    """In torch order (GGUF stores the fastest-moving dimension first)."""
    ggml_type: int
    offset: int
    """Of its data, from the start of the file."""


@dataclass(frozen=True)
class GgufTable:
    architecture: str
    tensors: list[GgufTensor]


def read_table(mm: mmap.mmap | bytes) -> GgufTable:
    """The architecture and the tensor table of a GGUF file, without building the metadata:
    gguf-py's GGUFReader makes Python objects of every vocabulary entry (0.7 GB for Gemma)."""
    if mm[:4] != b"GGUF":
        raise ValueError("not a GGUF file (no GGUF magic bytes)")
    version, n_tensors, n_kv = struct.unpack_from("<IQQ", mm, 4)
    if version not in (2, 3):
        raise ValueError(f"GGUF version {version} is not supported (2 and 3 are)")
    pos, meta = 24, {}
    for _ in range(n_kv):
        key, pos = _string(mm, pos)
        (kind,) = struct.unpack_from("<I", mm, pos)
        value, pos = _value(mm, pos + 4, kind)
        if key in ("general.architecture", "general.alignment"):
            meta[key] = value
    tensors = []
    for _ in range(n_tensors):
        name, pos = _string(mm, pos)
        (n_dims,) = struct.unpack_from("<I", mm, pos)
        dims = struct.unpack_from(f"<{n_dims}Q", mm, pos + 4)
        ggml_type, offset = struct.unpack_from("<IQ", mm, pos + 4 + 8 * n_dims)
        pos += 4 + 8 * n_dims + 12
        tensors.append(GgufTensor(name, tuple(reversed(dims)), ggml_type, offset))
    align = int(meta.get("general.alignment", 32))
    start = (pos + align - 1) // align * align
    placed = [GgufTensor(t.name, t.shape, t.ggml_type, start + t.offset) for t in tensors]
    return GgufTable(str(meta.get("general.architecture", "")), placed)


def _string(mm: mmap.mmap | bytes, pos: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("<Q", mm, pos)
    return bytes(mm[pos + 8 : pos + 8 + n]).decode("utf-8"), pos + 8 + n


def _value(mm: mmap.mmap | bytes, pos: int, kind: int) -> tuple[Any, int]:
    if kind in _FIXED:
        fmt = "<" + _FIXED[kind]
        return struct.unpack_from(fmt, mm, pos)[0], pos + struct.calcsize(fmt)
    if kind == _STRING:
        return _string(mm, pos)
    if kind == _ARRAY:  # walked, not kept: only two scalar keys are read
        item, count = struct.unpack_from("<IQ", mm, pos)
        pos += 12
        if item in _FIXED:
            return None, pos + count * struct.calcsize("<" + _FIXED[item])
        for _ in range(count):
            pos = _value(mm, pos, item)[1]
        return None, pos
    raise ValueError(f"GGUF metadata value of unknown type {kind}")


def storage_dtype(types: set[int]) -> str:
    """bfloat16 when the GGUF's weights are block-quantized (Q4_K, Q8_0, ...), else float32.

    bf16's 8-bit mantissa loses nothing the quantization had not lost; F16/F32/BF16 weights are
    kept in float32, which holds them exactly."""
    from gguf import GGMLQuantizationType as Q

    return "float32" if types <= {Q.F32, Q.F16, Q.BF16} else "bfloat16"


def _raw(mm: mmap.mmap, t: GgufTensor) -> Any:
    """The tensor's data as gguf-py's reader gives it: typed for F32/F16, else its bytes."""
    import numpy as np
    from gguf import GGMLQuantizationType as Q
    from gguf.quants import quant_shape_to_byte_shape

    plain = {Q.F32: np.float32, Q.F16: np.float16}
    q = Q(t.ggml_type)
    shape = t.shape if q in plain else quant_shape_to_byte_shape(t.shape, q)
    dtype = np.dtype(plain.get(q, np.uint8))
    count = int(np.prod(shape))
    return np.frombuffer(mm, dtype=dtype, count=count, offset=t.offset).reshape(shape)


def _row_blocks(n_rows: int, row_values: int) -> Iterator[slice]:
    step = max(1, CHUNK_VALUES // max(1, row_values))
    for a in range(0, n_rows, step):
        yield slice(a, min(n_rows, a + step))


def _load_tensors(mm: mmap.mmap, table: GgufTable, model: Any, dtype: Any) -> None:
    """De-quantize, process and cast each tensor into the meta-device ``model``."""
    import torch
    from gguf import GGMLQuantizationType, dequantize
    from transformers.modeling_gguf_pytorch_utils import (
        TENSOR_PROCESSORS,
        Gemma2TensorProcessor,
        TensorProcessor,
        get_gguf_hf_weights_map,
    )

    processor = TENSOR_PROCESSORS.get(table.architecture, TensorProcessor)(
        config=model.config.to_dict()
    )
    # Processors that change values element by element can work on a block of rows; one that
    # moves rows (llama's q/k permutation) needs the whole tensor.
    by_rows = type(processor) in (TensorProcessor, Gemma2TensorProcessor)
    names = get_gguf_hf_weights_map(model, processor)
    state: dict[str, Any] = {}
    for t in table.tensors:
        raw, q = _raw(mm, t), GGMLQuantizationType(t.ggml_type)
        width = math.prod(t.shape[1:])
        rows = list(_row_blocks(t.shape[0], width)) if by_rows and raw.ndim > 1 else None
        out = None
        for block in rows or [slice(None)]:
            got = processor.process(
                weights=dequantize(raw[block], q),
                name=t.name,
                tensor_key_mapping=names,
                parsed_parameters={"tensors": state},
            )
            if got.name not in names:
                break
            value = torch.from_numpy(got.weights.copy()).to(dtype)
            if rows is None:
                out = value
            else:
                out = out if out is not None else torch.empty(t.shape, dtype=dtype)
                out[block] = value
        if out is not None:
            state[names[t.name]] = out
    state = {k: v.to(dtype) for k, v in state.items()}  # a processor may have added its own
    _check_complete(model, state)
    model.load_state_dict(state, strict=False, assign=True)
    model.tie_weights()


def _check_complete(model: Any, state: dict[str, Any]) -> None:
    tied = set(getattr(model, "_tied_weights_keys", None) or ())
    if not getattr(model.config, "tie_word_embeddings", False):
        tied = set()
    missing = sorted(set(model.state_dict()) - set(state) - tied)
    if missing:
        shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
        raise ValueError(f"the GGUF file has no tensor for {len(missing)} weights ({shown})")


def _save_tokenizer(gguf: Path, tmp: Path) -> dict[str, Any]:
    from transformers import AutoTokenizer

    tok = prepare_tokenizer(AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name))
    tok.save_pretrained(tmp)
    return {
        "pad_token_id": tok.pad_token_id,
        "eos": end_of_turn_ids(tok),
        "end_of_turn": end_of_turn_token(tok),
        "pad": tok.pad_token,
    }


def _save_model(gguf: Path, tmp: Path, tok: dict[str, Any]) -> str:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    with open(gguf, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        table = read_table(mm)
        dtype = storage_dtype({t.ggml_type for t in table.tensors})
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
        _load_tensors(mm, table, model, getattr(torch, dtype))
    model.config.pad_token_id = tok["pad_token_id"]
    gen = model.generation_config
    gen.pad_token_id = tok["pad_token_id"]
    gen.eos_token_id = tok["eos"]
    model.save_pretrained(tmp)
    return dtype


def convert_gguf(gguf: Path, out: Path, alias: str) -> Path:
    """Convert ``gguf`` into a model folder at ``out`` (written aside, renamed into place)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        tok = _save_tokenizer(gguf, tmp)
        gc.collect()  # the tokenizer's parse of the vocabulary, before the weights come in
        dtype = _save_model(gguf, tmp, tok)
        marker = {"format": CACHE_FORMAT, "alias": alias, "source": str(gguf)}
        marker |= {"source_bytes": gguf.stat().st_size, "dtype": dtype}
        marker |= {"end_of_turn": tok["end_of_turn"], "pad": tok["pad"]}
        (tmp / MARKER).write_text(json.dumps(marker, indent=2))
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def cached_ok(out: Path) -> bool:
    try:
        marker = json.loads((out / MARKER).read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return bool(marker.get("format") == CACHE_FORMAT and (out / "config.json").is_file())


def _move_into_place(tmp: Path, out: Path) -> None:
    if out.exists():  # a stale or older-format cache
        if cached_ok(out):  # another process won the race
            shutil.rmtree(tmp, ignore_errors=True)
            return
        shutil.rmtree(out)
    try:
        os.rename(tmp, out)
    except OSError:
        if not cached_ok(out):
            raise
        shutil.rmtree(tmp, ignore_errors=True)


# The child of ``embedded._convert``: python -m bizztune.models.gguf_convert GGUF OUT ALIAS
if __name__ == "__main__":
    import sys

    convert_gguf(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
