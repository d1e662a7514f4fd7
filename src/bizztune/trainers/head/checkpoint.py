"""The head trainer's checkpoints: ``checkpoint-N/`` holds the trainable weights, the optimizer,
the scheduler, the RNG and the loss history, written whole or not at all.

    save_checkpoint(out, step, clf, opt, sched, history, total=100)
    check_resume(out, cfg, HEAD_CHECKPOINTS)      # damaged ones moved aside, by this rule
    step, history = load_checkpoint(Path(last_checkpoint(out)), clf, opt, sched)

``HEAD_CHECKPOINTS`` is this trainer's own validity rule: the files ``save_checkpoint``
writes and ``load_checkpoint`` reads (not the transformers Trainer's, which the LoRA trainers
write). The optimizer file is read with ``weights_only=True``: a checkpoint folder may come
from someone else, and a pickle could run code.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

from bizztune.trainers.lora.run_folder import (
    CheckpointRule,
    load_torch_state,
    read_json_file,
    safetensors_intact,
)

WEIGHTS = "trainable.safetensors"
OPTIMIZER = "optimizer.pt"
STATE = "state.json"


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
    save_file(weights, str(tmp / WEIGHTS))
    torch.save(
        {
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "rng": torch.get_rng_state(),  # LoRA dropout continues as it would have
        },
        tmp / OPTIMIZER,
    )
    state = {"step": step, "history": history, "total": total}
    (tmp / STATE).write_text(json.dumps(state))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))[:-2]:
        shutil.rmtree(old, ignore_errors=True)


def checkpoint_problem(ckpt: Path) -> str | None:
    """Why a head checkpoint cannot be resumed from (a file deleted or cut since), or None.
    ``save_checkpoint`` renames a whole folder into place, so a crash inside it leaves only a
    ``.checkpoint-N.tmp`` that is never read."""
    state = read_json_file(ckpt / STATE)
    if not (
        isinstance(state, dict)
        and isinstance(state.get("step"), int)
        and isinstance(state.get("history"), list)
    ):
        return f"{STATE} is missing or damaged"
    if f"checkpoint-{state['step']}" != ckpt.name:
        return f"{STATE} says step {state['step']}"
    if not safetensors_intact(ckpt / WEIGHTS):
        return f"{WEIGHTS} is missing or cut short"
    if not zipfile.is_zipfile(ckpt / OPTIMIZER):  # torch.save writes a zip archive
        return f"{OPTIMIZER} is missing or cut short"
    return None


HEAD_CHECKPOINTS = CheckpointRule(checkpoint_problem, pickled=(OPTIMIZER,))
"""The head trainer's checkpoints: every file is needed to resume exactly."""


def load_checkpoint(ckpt: Path, clf: Any, opt: Any, sched: Any) -> tuple[int, list[Any]]:
    import torch
    from safetensors.torch import load_file

    weights = load_file(str(ckpt / WEIGHTS))
    params = dict(clf.named_parameters())
    for n, w in weights.items():
        params[n].data.copy_(w)
    state = load_torch_state(ckpt / OPTIMIZER)
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    meta = json.loads((ckpt / STATE).read_text())
    return int(meta["step"]), list(meta["history"])


def checkpoint_total(ckpt: Path) -> int | None:
    """The number of steps a run fitted to a time budget chose (None: not fitted)."""
    total = json.loads((ckpt / STATE).read_text()).get("total")
    return int(total) if total else None
