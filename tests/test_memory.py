"""Memory: no stage of ``bizztune run`` keeps the previous stage's model alive.

    pytest tests/test_memory.py

The whole study runs in one process, so a model that outlives its stage (a cache, a closure,
a traceback, a hook) adds its weights and its allocator arena to every later stage's peak.
Every transformers model the run builds is watched through a weak reference; when a stage
starts, every model of the stages before it must be gone. No timing, no RSS threshold.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bizztune.testing import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.mark.parametrize("trainer", ["lora", "head"])
def test_no_stage_keeps_the_previous_stages_model_alive(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trainer: str
) -> None:
    from transformers import PreTrainedModel

    from bizztune.pipeline.config import load_run_config
    from bizztune.pipeline.stages import run_experiment

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
        {
            "name": "mem",
            "data": {"n": 60},
            "model": {"name": str(tiny_model), "provider": "hf", "style": "compact"},
            "eval": {"baselines": ["majority"], "test_sets": ["test"], "limit": 6},
            "train": {
                "trainer": trainer,
                "max_steps": 2,
                "batch_size": 4,
                "limit_val": 4,
                # the head run adds a learning-curve point: its stages must free theirs too
                **({"sizes": [8]} if trainer == "head" else {}),
            },
            "report": {"html": False},
        },
    )
    run_experiment(cfg, tmp_path / "run", reporter=Watch())
    built = {k for k, _ in models}
    assert {"eval:base", "train", "eval:finetuned"} <= built, built
    if trainer == "head":
        assert {"train:n8-s0", "eval:n8-s0"} <= built, built
    gc.collect()
    assert all(ref() is None for _, ref in models)
