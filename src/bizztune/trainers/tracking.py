"""Experiment tracking (``--report-to tensorboard|mlflow|wandb``) for every trainer.

    tracker("tensorboard")                  # transformers' report_to, or TrackerMissing at once
    log = open_tracker("tensorboard", out, config_record)   # the head trainer's own loop
    log.log(step, {"train/loss": 2.1, "train/learning_rate": 1e-3}); log.close()

The generative trainers run transformers' Trainer and hand it ``tracker(...)``; the head
trainer runs its own loop and logs through ``open_tracker`` under the same names
(``train/loss``, ``train/learning_rate``, ``eval/loss``, ``eval/acc_<field>``), TensorBoard's
event files under ``<out>/runs/`` as the Trainer writes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from bizztune.core.errors import BizztuneError, MissingDependencyError

_INSTALL = {
    "tensorboard": "pip install 'bizztune[track]'",
    "mlflow": "pip install mlflow",
    "wandb": "pip install wandb",
}


class TrackerMissing(MissingDependencyError):
    """The package of the tracker ``--report-to`` names is not installed."""

    def __init__(self, name: str) -> None:
        BizztuneError.__init__(
            self, f"--report-to {name} needs the '{name}' package: {_INSTALL[name]}"
        )


def tracker(report_to: str) -> list[str]:
    """transformers' ``report_to`` for ``--report-to``: [] for none; the tracker's package
    must be installed (TrackerMissing, before any training starts)."""
    import importlib.util

    if report_to == "none":
        return []
    if importlib.util.find_spec(report_to) is None:
        raise TrackerMissing(report_to)
    return [report_to]


class Tracker(Protocol):
    def log(self, step: int, metrics: dict[str, float]) -> None: ...
    def close(self) -> None: ...


class _TensorBoard:
    def __init__(self, out: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.w = SummaryWriter(log_dir=str(out / "runs"))

    def log(self, step: int, metrics: dict[str, float]) -> None:
        for k, v in metrics.items():
            self.w.add_scalar(k, v, step)

    def close(self) -> None:
        self.w.close()


class _MLflow:
    def __init__(self, config: dict[str, Any]) -> None:
        import mlflow

        self.m = mlflow
        mlflow.start_run()
        mlflow.log_params({k: str(v)[:250] for k, v in config.items()})

    def log(self, step: int, metrics: dict[str, float]) -> None:
        self.m.log_metrics({k.replace("/", "_"): v for k, v in metrics.items()}, step=step)

    def close(self) -> None:
        self.m.end_run()


class _WandB:
    def __init__(self, config: dict[str, Any]) -> None:
        import wandb

        self.run = wandb.init(config=config)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        self.run.log(metrics, step=step)

    def close(self) -> None:
        self.run.finish()


def open_tracker(report_to: str, out: Path, config: dict[str, Any]) -> Tracker | None:
    """The tracker ``--report-to`` names, opened for one run; None for none."""
    if not tracker(report_to):
        return None
    if report_to == "tensorboard":
        return _TensorBoard(out)
    if report_to == "mlflow":
        return _MLflow(config)
    return _WandB(config)
