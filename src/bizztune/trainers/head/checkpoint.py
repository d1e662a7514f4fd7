"""The head trainer's checkpoints: ``checkpoint-N/`` holds the trainable weights, the optimizer,
the scheduler, the RNG and the loss history, written whole or not at all.

    save_checkpoint(out, step, clf, opt, sched, history, total=100)
    step, history, total = load_checkpoint(Path(last_checkpoint(out)), clf, opt, sched)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any


def save_checkpoint(
    out: Path,
    step: int,
    clf: Any,
    opt: Any,
    sched: Any,
    history: list[Any],
    total: int | None = None,
) -> None:
    """``checkpoint-<step>/`` written to a temporary name and renamed: never half a checkpoint."""
    import torch
    from safetensors.torch import save_file

    final = out / f"checkpoint-{step}"
    tmp = out / f".checkpoint-{step}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    weights = {
        n: p.detach().cpu().contiguous() for n, p in clf.named_parameters() if p.requires_grad
    }
    save_file(weights, str(tmp / "trainable.safetensors"))
    torch.save(
        {
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "rng": torch.get_rng_state(),  # LoRA dropout continues as it would have
        },
        tmp / "optimizer.pt",
    )
    state = {"step": step, "history": history, "total": total}
    (tmp / "state.json").write_text(json.dumps(state))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))[:-2]:
        shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(ckpt: Path, clf: Any, opt: Any, sched: Any) -> tuple[int, list[Any]]:
    import torch
    from safetensors.torch import load_file

    weights = load_file(str(ckpt / "trainable.safetensors"))
    params = dict(clf.named_parameters())
    for n, w in weights.items():
        params[n].data.copy_(w)
    state = torch.load(ckpt / "optimizer.pt", weights_only=False)
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    meta = json.loads((ckpt / "state.json").read_text())
    return int(meta["step"]), list(meta["history"])


def checkpoint_total(ckpt: Path) -> int | None:
    """The number of steps a run fitted to a time budget chose (None: not fitted)."""
    total = json.loads((ckpt / "state.json").read_text()).get("total")
    return int(total) if total else None
