"""Give freed heap memory back to the operating system.

    release_memory()            # after a stage: gc, then glibc's malloc_trim
    release_memory(collect=False)   # after a training step: malloc_trim only

The stages of ``bizztune run`` share one process, and a training step allocates activations
of another shape each time (batches of other lengths). glibc keeps freed pages in its arenas
and reuses them imperfectly across shapes, so the resident size grows step after step (from
2.4 to 3.3 GiB over 15 steps of the default recipe, docs/training.md) although the live
tensors do not. ``malloc_trim(0)`` returns every free page (not only the top of the heap) with
``madvise``; it costs milliseconds. A no-op where there is no glibc.

    bound_kernel_cache()        # at start: oneDNN keeps at most 64 compiled kernels
    reset_peak_rss()            # before a stage: the kernel's high-water mark starts again
    peak_rss_mb(), rss_mb()     # after it: the stage's peak, and what it left resident

Each stage of a run records both (``stage.done.json``, "memory"), so a run's peak can be
pinned on the stage that made it, and memory a stage leaves behind shows as the next stage's
starting level.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import resource
import sys
from pathlib import Path

_LIBC: list[ctypes.CDLL | None] = []


def _libc() -> ctypes.CDLL | None:
    if not _LIBC:
        name = ctypes.util.find_library("c") if sys.platform == "linux" else None
        lib: ctypes.CDLL | None = None
        if name:
            try:
                lib = ctypes.CDLL(name)
                lib.malloc_trim  # musl and others have none  # noqa: B018
            except (OSError, AttributeError):
                lib = None
        _LIBC.append(lib)
    return _LIBC[0]


def release_memory(collect: bool = True) -> bool:
    """Collect garbage (``collect``), then hand free heap pages back; whether glibc did."""
    if collect:
        gc.collect()
    lib = _libc()
    if lib is None:
        return False
    lib.malloc_trim(0)
    return True


def _status_kib(field: str) -> int | None:
    """A ``VmHWM``/``VmRSS`` line of /proc/self/status in KiB; None where there is no procfs."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def peak_rss_mb() -> float:
    """The process's peak resident size in MiB since start, or since ``reset_peak_rss``."""
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib / 1024
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def rss_mb() -> float | None:
    """The process's resident size now, in MiB; None where there is no procfs."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib / 1024


def reset_peak_rss() -> bool:
    """Start the kernel's high-water mark of resident memory again (Linux ``clear_refs`` 5);
    whether it could."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


KERNEL_CACHE = "64"
"""oneDNN's primitive cache capacity that ``bound_kernel_cache`` sets (oneDNN's default: 1024)."""


def bound_kernel_cache() -> None:
    """Keep at most ``KERNEL_CACHE`` oneDNN primitives (unless ``ONEDNN_PRIMITIVE_CACHE_CAPACITY``
    is set already). PyTorch runs CPU bf16 matmuls through oneDNN, which compiles and caches a
    kernel per matmul shape; a training step's token count changes every micro-batch, so the
    cache fills towards its 1,024 entries and holds them for the process's life: 25 steps of
    the default recipe left 747 MiB of heap after training, 529 MiB with 256 entries (at 321
    tokens/s against 323), 451 MiB with none (at 184 tokens/s: a step reuses its kernels
    across layers). 40 steps of the two-epoch recipe and then the fine-tuned eval on
    tickets:foreign, in one process: with 256 entries 537 tokens/s and an eval peak of 2,584
    MiB, with 32 entries 548 tokens/s and 2,373 MiB; the default is 64. oneDNN reads the
    variable at its first primitive, so this must run before the first matmul; the CLI calls
    it first thing, and child processes inherit it."""
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", KERNEL_CACHE)
