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


def _cpuinfo_field(name: str) -> str | None:
    """The first ``name : value`` line of /proc/cpuinfo (None where there is none)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    return next(
        (x.split(":", 1)[1].strip() for x in info.splitlines() if x.split(":")[0].strip() == name),
        None,
    )


def cpu_flags() -> set[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo has none)."""
    return set((_cpuinfo_field("flags") or "").split())


def cpu_line() -> str:
    model = _cpuinfo_field("model name") or platform.processor() or "?"
    have = cpu_flags()
    flags = " ".join(f for f in FLAGS if f in have)
    return f"{model} ({os.cpu_count()} cores; {flags or 'no AVX-512'})"
