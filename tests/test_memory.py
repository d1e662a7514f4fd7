"""Memory: no stage of ``bizztune run`` keeps the previous stage's model alive, and a training
step's activation memory stays bounded.

    pytest tests/test_memory.py

The whole study runs in one process, so a model that outlives its stage (a cache, a closure,
a traceback, a hook) adds its weights and its allocator arena to every later stage's peak.
Every transformers model the run builds is watched through a weak reference; when a stage
starts, every model of the stages before it must be gone.

A training step's peak is the activations autograd keeps for backward. They are counted
exactly (``saved_tensors_hooks``), not by RSS: the head trainer's bf16 autocast must keep no
fp32 copy of the LoRA layers' inputs, and ``micro_batch_tokens`` must bound the tokens of
every micro-batch while giving the same optimizer step. No timing, no RSS threshold.
"""

from __future__ import annotations

import gc
import json
import random
import weakref
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli


@pytest.mark.parametrize("trainer", ["lora", "head"])
def test_no_stage_keeps_the_previous_stages_model_alive(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trainer: str
) -> None:
    from transformers import PreTrainedModel

    from bizztune.pipeline.config import load_run_config
    from bizztune.plugins import registry

    from conftest import run_experiment

    models: list[tuple[str, Any]] = []
    stage = ["setup"]
    post_init = PreTrainedModel.post_init

    def watched(self: Any) -> None:
        post_init(self)
        models.append((stage[0], weakref.ref(self)))

    monkeypatch.setattr(PreTrainedModel, "post_init", watched)

    class Watch:
        def stage(self, key: str, status: str, detail: str = "") -> None:
            if status != "start":
                return
            gc.collect()
            alive = sorted({k for k, ref in models if ref() is not None})
            assert not alive, f"stage {key} starts while models built in {alive} are alive"
            stage[0] = key

        def progress(self, key: str, done: int, total: int) -> None:
            return None

    cfg = load_run_config(
        None,
        registry(),
        {
            "name": "mem",
            "data": {"n": 60},
            "model": {"name": str(tiny_model), "provider": "hf", "style": "compact"},
            "eval": {"baselines": ["majority"], "test_sets": ["test"], "limit": 6},
            "decision": {"choose_on": "val", "confirm_on": "test"},
            "train": {
                "trainer": trainer,
                "max_steps": 2,
                "batch_size": 4,
                "limit_val": 4,
            },
            "report": {"html": False},
        },
    )
    run_experiment(cfg, tmp_path / "run", reporter=Watch())
    built = {k for k, _ in models}
    assert {"eval:base", "train", "eval:finetuned"} <= built, built
    gc.collect()
    assert all(ref() is None for _, ref in models)
    # every stage records the resident memory it started from, peaked at and left behind
    done = json.loads((tmp_path / "run" / "train" / "stage.done.json").read_text())
    mem = done["memory"]
    assert mem["peak_rss_mb"] >= max(mem["rss_before_mb"], mem["rss_after_mb"]) > 0


def test_micro_batches_keep_the_token_budget_and_every_ticket() -> None:
    from bizztune.trainers.head.batches import micro_batches

    rng = random.Random(0)
    for _ in range(200):
        lengths = [rng.randint(5, 400) for _ in range(40)]
        batch = rng.sample(range(40), rng.randint(1, 16))
        size, budget = rng.randint(1, 16), rng.choice([None, 64, 300, 1024])
        parts = micro_batches(batch, lengths, size, budget)
        assert sorted(i for mb in parts for i in mb) == sorted(batch)
        for mb in parts:
            assert 1 <= len(mb) <= size
            if budget and len(mb) > 1:
                assert len(mb) * max(lengths[i] for i in mb) <= budget
    # without a budget a batch keeps its order and is only cut by batch_size
    assert micro_batches([3, 1, 2], [9, 9, 9, 9], 2, None) == [[3, 1], [2]]


def _saved_bytes(fn: Any) -> dict[str, int]:
    """Bytes of the tensors autograd keeps for backward while ``fn`` runs, per dtype."""
    import torch

    seen: dict[int, tuple[str, int]] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        st = t.untyped_storage()
        seen.setdefault(st.data_ptr(), (str(t.dtype), st.nbytes()))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    out: dict[str, int] = {}
    for dtype, n in seen.values():
        out[dtype] = out.get(dtype, 0) + n
    return out


def test_bf16_autocast_keeps_no_fp32_copy_of_the_lora_inputs(tiny_model: Path) -> None:
    import torch

    from bizztune.models.heads import HeadClassifier, HeadSpec, load_body
    from bizztune.plugins import load_task
    from bizztune.trainers.config import HeadConfig
    from bizztune.trainers.head.adapters import add_lora
    from bizztune.trainers.head.precision import mixed_precision
    from bizztune.trainers.head.steps import loss_of as _loss

    task = load_task("tickets")
    cfg = HeadConfig(model=str(tiny_model), target_modules=["all-linear"])
    cfg.dropout = 0.0
    torch.manual_seed(0)
    body = add_lora(load_body(tiny_model, torch.bfloat16), cfg)
    clf = HeadClassifier(body, HeadSpec.for_schema(task.schema, 64, max_length=64))
    for p in clf.heads.parameters():  # non-zero heads, so every LoRA weight gets a gradient
        torch.nn.init.normal_(p, std=0.5)
    ids = torch.randint(3, 200, (4, 48))
    mask = torch.ones_like(ids)
    y = {f.name: torch.tensor([0, 1, 0, 1]) for f in task.schema.fields}
    grads, saved = {}, {}
    for mode in (False, True):

        def step(mode: bool = mode) -> None:
            with mixed_precision(clf.body, "cpu", mode):
                logits = clf(ids, mask)
            _loss(logits, y, [0, 1, 2, 3]).backward()

        clf.zero_grad(set_to_none=True)
        saved[mode] = _saved_bytes(step)
        trained = [p for p in clf.parameters() if p.requires_grad]
        assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in trained)
        grads[mode] = torch.cat([p.grad.flatten() for p in trained if p.grad is not None])
    plain, mixed = sum(saved[False].values()), sum(saved[True].values())
    # the fp32 copies PEFT makes of every LoRA input are gone: far less is kept for backward
    assert saved[True].get("torch.float32", 0) < 0.5 * saved[False]["torch.float32"], saved
    assert mixed < 0.75 * plain, saved
    # and the step is the same one, to bf16 precision
    cos = torch.nn.functional.cosine_similarity(grads[False], grads[True], dim=0)
    assert float(cos) > 0.98


def test_micro_batch_tokens_gives_the_same_steps(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    curves = {}
    for name, extra in (("whole", []), ("budget", ["--set", "micro_batch_tokens=64"])):
        out = tmp_path / name
        r = run_cli(
            "train", "--recipe", "none", "--trainer", "head", "--model", str(tiny_model), "--data", str(split_dir),
            "--out", str(out), "--batch-size", "8", "--lr", "3e-3", "--dropout", "0",
            "--max-steps", "4", "--eval-steps", "0", "--set", "bf16=false", *extra,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr[-3000:]
        curves[name] = [
            h["loss"] for h in json.loads((out / "loss_curve.json").read_text())["train"]
        ]
        summary = json.loads((out / "train_summary.json").read_text())
        assert summary["mfu"] is not None and 0 < summary["mfu"] < 1
    assert len(curves["whole"]) == 4
    assert curves["budget"] == pytest.approx(curves["whole"], rel=1e-4)


def test_release_memory_hands_freed_heap_pages_back(tmp_path: Path) -> None:
    """Freed small blocks below a live one stay resident (glibc trims only the top of its heap);
    release_memory returns them. Run in a fresh interpreter, so the heap is its own."""
    import subprocess
    import sys

    script = tmp_path / "heap.py"
    script.write_text(
        "import json, psutil\n"
        "from bizztune.core.memory import release_memory\n"
        "p = psutil.Process()\n"
        "bufs = [bytearray(b'x' * 65536) for _ in range(4000)]\n"
        "keep = bufs[-1]\n"
        "live = p.memory_info().rss\n"
        "del bufs[:-1]\n"
        "freed = p.memory_info().rss\n"
        "ok = release_memory()\n"
        "print(json.dumps([ok, live, freed, p.memory_info().rss]))\n"
    )
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    ok, live, freed, trimmed = json.loads(r.stdout)
    if not ok:
        pytest.skip("no glibc malloc_trim on this platform")
    mib = 2**20
    assert freed > live - 64 * mib  # free() alone kept the ~250 MiB resident
    assert trimmed < freed - 200 * mib  # release_memory gave it back


def test_the_cli_bounds_onednns_kernel_cache_unless_the_user_set_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from bizztune.cli.main import main
    from bizztune.core.memory import KERNEL_CACHE

    monkeypatch.delenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", raising=False)
    main(["--version"])
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == KERNEL_CACHE
    monkeypatch.setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "512")
    main(["--version"])
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "512"
