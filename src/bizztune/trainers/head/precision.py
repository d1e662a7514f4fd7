"""bf16 autocast for the head trainer's body, shared by its loop and its linear probe.

with mixed_precision(clf.body, "cpu", enabled=True):
    logits = clf(ids, mask)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def mixed_precision(model: Any, device: str, enabled: bool) -> Iterator[None]:
    """bf16 autocast over a bf16 body with fp32 LoRA weights. Without it PEFT casts each LoRA
    layer's input up to fp32 and autograd keeps that copy: about 40% of a step's activation
    memory. Under autocast the LoRA matmuls read the bf16 input the base layer keeps anyway;
    the weights, their gradients and AdamW stay fp32."""
    if not enabled:
        yield
        return
    import torch
    from peft.helpers import disable_input_dtype_casting

    with (
        torch.autocast(torch.device(device).type, dtype=torch.bfloat16),
        disable_input_dtype_casting(model),
    ):
        yield
