"""Hyperparameter search: train one adapter per trial, score it on the validation split.

    bizztune sweep --model smollm2-135m --data data/tickets --out runs/sweep \\
        --grid learning_rate=1e-4,3e-4 --grid r=8,16 --grid target_modules="q_proj,v_proj|all-linear"
    bizztune sweep --config sweep.yaml --mode random --trials 6

Each trial is an ordinary training run (``OUT/trial-NN/``), evaluated with the shared
evaluator (``run_eval``, into ``OUT/eval-val/trial-NN/``) through the ``hf`` provider with the
adapter, constrained decoding and the same prompt style it was trained with, on the
validation split. Trials are ranked by
the mean per-field accuracy (joint accuracy breaks ties); ``OUT/leaderboard.{json,md}`` holds
the table and ``OUT/best`` is a copy of the winning adapter. A rerun skips finished trials.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import ProviderConfig, Task
from bizztune.core.registry import Registry
from bizztune.data.locks import LOCK_NAME, output_guard
from bizztune.eval.evaluate import EvalConfig, run_eval
from bizztune.trainers.config import LoraConfig, TrainConfig

SEARCHABLE = ("learning_rate", "r", "alpha", "epochs", "target_modules", "dropout", "max_steps")


@dataclass
class SweepConfig:
    """A grid or random search over TrainConfig fields."""

    train: TrainConfig = field(default_factory=LoraConfig)
    """The base config of every trial, from a recipe and flags as ``bizztune train`` builds it
    (its ``out`` is ignored: trials go under ``out``)."""
    space: dict[str, list[Any]] = field(default_factory=dict)
    """Field -> values to try, e.g. {"learning_rate": [1e-4, 3e-4], "r": [8, 16]} (--grid)."""
    mode: Literal["grid", "random"] = "grid"
    """grid: every combination; random: ``trials`` combinations drawn without repetition."""
    trials: int | None = None
    """Random search: how many trials; grid: at most this many (None: all)."""
    out: str = "runs/sweep"
    """Folder for trials, leaderboard and the best adapter (--out)."""
    eval_limit: int | None = None
    """Score each trial on the first N validation items only (--eval-limit)."""
    decoding: Literal["free", "constrained"] = "constrained"
    """Decoding of the scoring evaluation (--decoding)."""
    seed: int = 0
    """Seeds the random draw of trials (each trial uses train.seed)."""

    def __post_init__(self) -> None:
        if not isinstance(self.train, TrainConfig):
            raise ConfigError(
                f"a sweep searches LoRA parameters, and the {self.train.trainer} trainer's "
                f"config ({type(self.train).__name__}) has none"
            )
        if not self.space:
            raise ConfigError(
                "the sweep has no search space: pass --grid FIELD=V1,V2 (fields: "
                f"{', '.join(SEARCHABLE)})"
            )
        for k, values in self.space.items():
            if k not in SEARCHABLE:
                raise ConfigError(
                    f"--grid {k}: cannot search over it; searchable: {', '.join(SEARCHABLE)}"
                )
            if not isinstance(values, list) or not values:
                raise ConfigError(f"--grid {k}: give at least one value")
        if self.mode not in ("grid", "random"):
            raise ConfigError(f"--mode must be 'grid' or 'random', not {self.mode!r}")
        if self.trials is not None and self.trials < 1:
            raise ConfigError("--trials must be at least 1")
        if self.eval_limit is not None and self.eval_limit < 1:
            raise ConfigError("--eval-limit must be a positive number of items")


def parse_grid(items: tuple[str, ...] | list[str]) -> dict[str, list[Any]]:
    """``["learning_rate=1e-4,3e-4", "target_modules=q_proj,v_proj|all-linear"]`` -> space.

    Values are comma separated; for target_modules, module sets are separated by ``|``.
    """
    space: dict[str, list[Any]] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--grid {item!r}: expected FIELD=V1,V2 (e.g. r=8,16)")
        key, raw = (s.strip() for s in item.split("=", 1))
        key = key.replace("-", "_")
        if key in ("lr",):
            key = "learning_rate"
        if key == "target_modules":
            space[key] = [
                [m.strip() for m in part.split(",") if m.strip()] for part in raw.split("|")
            ]
            continue
        values: list[Any] = []
        for v in raw.split(","):
            v = v.strip()
            try:
                num = float(v)
            except ValueError:
                raise ConfigError(f"--grid {key}: {v!r} is not a number") from None
            values.append(int(num) if key in ("r", "alpha", "max_steps") else num)
        space[key] = values
    return space


def trial_params(cfg: SweepConfig) -> list[dict[str, Any]]:
    keys = list(cfg.space)
    combos = [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*cfg.space.values())]
    if cfg.mode == "random":
        n = min(cfg.trials or len(combos), len(combos))
        combos = random.Random(cfg.seed).sample(combos, n)
    elif cfg.trials is not None:
        combos = combos[: cfg.trials]
    return combos


def _score(metrics: dict[str, Any]) -> tuple[float, float]:
    accs = [f["accuracy"] for f in metrics["fields"].values()]
    return sum(accs) / len(accs), float(metrics["joint"]["accuracy"])


def run_sweep(
    task: Task,
    cfg: SweepConfig,
    plugins: Registry,
    on_trial: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train and score every trial (``plugins`` resolves the trainer and the ``hf`` provider);
    writes the leaderboard and OUT/best. Returns the board."""

    out = Path(cfg.out)
    inputs = [("--data", cfg.train.data), ("--model", cfg.train.model)]
    with output_guard(out, folder=True, inputs=inputs):  # one sweep per folder at a time
        return _sweep(task, cfg, plugins, out, on_trial)


def _sweep(
    task: Task,
    cfg: SweepConfig,
    plugins: Registry,
    out: Path,
    on_trial: Callable[[int, int, dict[str, Any]], None] | None,
) -> dict[str, Any]:
    params = trial_params(cfg)
    rows: list[dict[str, Any]] = []
    for i, p in enumerate(params):
        tdir = out / f"trial-{i:02d}"
        tcfg = dataclasses.replace(cfg.train, **p, out=str(tdir))
        if on_trial:
            on_trial(i, len(params), p)
        if not (tdir / "train_summary.json").is_file():
            # A trial that stopped half-way resumes; a finished one is kept as is.
            tcfg = dataclasses.replace(tcfg, resume=(tdir / "train_config.json").is_file())
            plugins.trainer(tcfg.trainer).train(task, tcfg)
        summary = json.loads((tdir / "train_summary.json").read_text())
        ecfg = EvalConfig(
            task=str(getattr(task, "source", None) or task.name),
            provider=ProviderConfig(
                name="hf", model=tcfg.model, adapter=str(tdir), decoding=cfg.decoding
            ),
            data=tcfg.data,
            split="val",
            limit=cfg.eval_limit,
            style=tcfg.style,
            # beside the trial's adapter, not in it: an output never lies inside an input
            out=str(out / "eval-val" / tdir.name),
            seed=tcfg.seed,
        )
        run_dir = run_eval(ecfg, task, plugins.provider("hf"))
        metrics = json.loads((run_dir / "metrics.json").read_text())
        mean_acc, joint = _score(metrics)
        rows.append(
            {
                "trial": tdir.name,
                **{k: p[k] for k in cfg.space},
                "mean_accuracy": round(mean_acc, 4),
                "joint_accuracy": round(joint, 4),
                **{f"{k}_accuracy": round(v["accuracy"], 4) for k, v in metrics["fields"].items()},
                "val_loss": summary.get("final_val_loss"),
                "train_time_s": summary.get("train_time_s"),
            }
        )
    rows.sort(key=lambda r: (-r["mean_accuracy"], -r["joint_accuracy"], r["trial"]))
    best = rows[0]
    best_dir = out / "best"
    if best_dir.exists():
        shutil.rmtree(best_dir)
    shutil.copytree(
        out / best["trial"],
        best_dir,
        ignore=shutil.ignore_patterns("checkpoint-*", "eval-val", LOCK_NAME),
    )
    board = {"space": cfg.space, "mode": cfg.mode, "split": "val", "rows": rows, "best": best}
    (out / "leaderboard.json").write_text(json.dumps(board, indent=2, ensure_ascii=False))
    (out / "leaderboard.md").write_text(leaderboard_md(board), encoding="utf-8")
    return board


def leaderboard_md(board: dict[str, Any]) -> str:
    rows = board["rows"]
    cols = list(rows[0].keys())
    lines = [
        f"# Sweep leaderboard ({board['mode']}, scored on the {board['split']} split)",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    for r in rows:
        lines.append("| " + " | ".join(cell_text(r[c]) for c in cols) + " |")
    lines += ["", f"Best: {board['best']['trial']} (copied to best/)", ""]
    return "\n".join(lines)


def cell_text(v: Any) -> str:
    """A leaderboard cell: module lists joined by commas, floats to 4 significant digits."""
    if isinstance(v, list):
        return ",".join(map(str, v))
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
