"""The machine a figure was measured on, in one line: CPU model, cores and the vector/matrix
extensions that decide bf16 speed (AVX-512 BF16, AMX).

    cpu_line()   # 'AMD EPYC (2 cores; avx2 avx512f avx512_bf16)'
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
"""The CPU flags a timing depends on: with AMX, bf16 matmuls run 2-6x faster."""


def cpu_line() -> str:
    model, flags = platform.processor() or "?", ""
    try:
        info = Path("/proc/cpuinfo").read_text()
        model = next(
            x.split(":", 1)[1].strip() for x in info.splitlines() if x.startswith("model name")
        )
        have = set(next(x for x in info.splitlines() if x.startswith("flags")).split())
        flags = " ".join(f for f in FLAGS if f in have)
    except (OSError, StopIteration):
        pass
    return f"{model} ({os.cpu_count()} cores; {flags or 'no AVX-512'})"
