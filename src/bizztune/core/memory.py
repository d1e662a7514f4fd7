"""Give freed heap memory back to the operating system.

    release_memory()            # after a stage: gc, then glibc's malloc_trim
    release_memory(collect=False)   # after a training step: malloc_trim only

The stages of ``bizztune run`` share one process, and a training step allocates activations
of another shape each time (batches of other lengths). glibc keeps freed pages in its arenas
and reuses them imperfectly across shapes, so the resident size grows step after step (from
2.4 to 3.3 GiB over 15 steps of the default recipe, docs/training.md) although the live
tensors do not. ``malloc_trim(0)`` returns every free page (not only the top of the heap) with
``madvise``; it costs milliseconds. A no-op where there is no glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from typing import Any

_LIBC: list[Any] = []


def _libc() -> Any:
    if not _LIBC:
        name = ctypes.util.find_library("c") if sys.platform == "linux" else None
        lib: Any = None
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
