"""Model FLOPs utilization: the model's training FLOPs per second over this machine's measured
matmul rate, measured in the same process.

    eff = efficiency(model, tokens_per_s=253.5, dtype=torch.bfloat16, device="cpu")
    eff["mfu"], eff["matmul_peak_tflops"], eff["model_tflops_per_s"]

The FLOPs of a token are those of the linear layers (the standard count; embeddings are a
lookup and attention scores are left out, under 5% at the length of a ticket):

- a frozen base layer of N weights costs 2N forward and 2N backward (the gradient of its
  input; its own weights get none): 4N;
- a trained layer (LoRA's A and B, a head) costs 6N: forward, input gradient, weight gradient;
- a frozen layer below every trained one (``lora_layers``: the layers without an adapter)
  runs forward only, since no gradient flows below the lowest trained weight: 2N.

An LM head tied to the embedding is left out too (a generative trainer runs it on the answer
positions only).

The peak is not a data-sheet figure: it is the best rate of a few large matmuls in the compute
dtype, timed here, so MFU compares the step with what this CPU or GPU does in its own kernels
(AMX, AVX512-BF16 or neither, and its thread count).
"""

from __future__ import annotations

import time
from typing import Any

PEAK_SHAPES = ((2048, 2048, 2048), (4096, 640, 2048), (2048, 2048, 640))
"""(m, k, n) of the timed matmuls: a square one and two shaped like a small model's MLP."""


def matmul_peak_tflops(dtype: Any, device: str = "cpu", seconds: float = 0.3) -> float:
    """The best sustained TFLOP/s of ``PEAK_SHAPES`` in ``dtype`` on ``device``."""
    import torch

    best = 0.0
    for m, k, n in PEAK_SHAPES:
        a = torch.randn(m, k, dtype=dtype, device=device)
        b = torch.randn(k, n, dtype=dtype, device=device)
        a @ b  # warm-up: kernel selection, packing buffers
        reps, elapsed = 0, 0.0
        _sync(device)
        t0 = time.perf_counter()
        while elapsed < seconds or reps < 3:
            a @ b
            reps += 1
            _sync(device)
            elapsed = time.perf_counter() - t0
        best = max(best, 2 * m * k * n * reps / elapsed / 1e12)
    return best


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def train_flops_per_token(model: Any, forward_only: Any = ()) -> float:
    """Training FLOPs per token of ``model``'s linear layers: 6N for the weights that train,
    4N for the frozen ones, 2N for those in the ``forward_only`` modules (frozen layers that
    no gradient reaches: see the module's docstring)."""
    import torch

    below = {id(p) for m in forward_only for p in m.parameters()}

    # A weight is counted once: PEFT's wrapper layers show their base layer's weight, and a
    # tied LM head shares the embedding's (left out: it runs on the answer positions only).
    seen = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    frozen = trained = forward = 0
    for mod in model.modules():
        w = getattr(mod, "weight", None)
        if not isinstance(w, torch.Tensor) or w.dim() != 2 or id(w) in seen:
            continue
        seen.add(id(w))
        n = _weights(w)
        if w.requires_grad:
            trained += n
        elif id(w) in below:
            forward += n
        else:
            frozen += n
    return 2.0 * forward + 4.0 * frozen + 6.0 * trained


def _weights(w: Any) -> int:
    """Weights of a matrix; a 4-bit packed one (bitsandbytes Params4bit) holds two per byte."""
    shape = getattr(w, "quant_state", None)
    if shape is not None and getattr(shape, "shape", None) is not None:
        rows, cols = shape.shape
        return int(rows) * int(cols)
    return int(w.numel())


def efficiency(
    model: Any, tokens_per_s: float, dtype: Any, device: str, forward_only: Any = ()
) -> dict[str, Any]:
    """MFU and the figures it comes from, for ``train_summary.json``."""
    per_token = train_flops_per_token(model, forward_only)
    peak = matmul_peak_tflops(dtype, device)
    achieved = tokens_per_s * per_token / 1e12
    return {
        "train_gflops_per_token": round(per_token / 1e9, 3),
        "model_tflops_per_s": round(achieved, 4),
        "matmul_peak_tflops": round(peak, 3),
        "matmul_peak_dtype": str(dtype).removeprefix("torch."),
        "mfu": round(achieved / peak, 4) if peak > 0 else None,
    }
