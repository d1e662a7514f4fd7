"""A finished eval run, typed: what ``bizztune.eval.rundir.load_run`` reads back.

    run = load_run(Path("runs/eval/tfidf"))
    run.name, run.task, run.provider, run.n, run.fields, run.joint_accuracy

``config``, ``metrics`` and ``predictions`` keep the files' own contents (config.json,
metrics.json and the records of predictions.jsonl by item id); the fields beside them are what
the reports and the decision read, checked once when the run is read. ``EvalRun.of`` raises a
DataError naming the file and the field that is missing or of the wrong type.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizztune.core.errors import DataError


@dataclass(frozen=True, slots=True)
class EvalRun:
    dir: Path
    """The run directory."""
    config: dict[str, Any]
    """config.json: the resolved EvalConfig under ``eval``, ``provider_info``, versions."""
    metrics: dict[str, Any]
    """metrics.json: the shared evaluator's metrics (bizztune.eval.metrics) and ``usage``."""
    predictions: dict[str, dict[str, Any]]
    """The prediction records by item id (bizztune.eval.rundir documents a record)."""
    name: str
    """The model as reports name it: metrics.json's ``model``, else the folder's name."""
    task: str
    """The task it was scored for (``eval.task``)."""
    provider: str
    """The provider's registry name (``eval.provider.name``)."""
    n: int
    """How many items it was scored on (metrics.json's ``n``)."""
    fields: tuple[str, ...]
    """The task's fields in its order, as metrics.json scores them."""

    @classmethod
    def of(
        cls,
        run_dir: Path,
        config: dict[str, Any],
        metrics: dict[str, Any],
        predictions: dict[str, dict[str, Any]],
    ) -> EvalRun:
        """The run of these file contents; a DataError naming the file and field when one of
        the fields above is missing or of the wrong type."""
        mpath, cpath = run_dir / "metrics.json", run_dir / "config.json"
        n = metrics.get("n")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise DataError(f"{mpath}: not an eval run's metrics ('n' is not an item count)")
        if not isinstance(metrics.get("fields"), dict):
            raise DataError(f"{mpath}: not an eval run's metrics ('fields' is not a mapping)")
        for key in ("usage", "joint"):
            if not isinstance(metrics.get(key, {}), dict):
                raise DataError(f"{mpath}: not an eval run's metrics ('{key}' is not a mapping)")
        ev = config["eval"]
        named = (("eval.task", ev.get("task")), ("eval.provider.name", ev["provider"].get("name")))
        for key, value in named:
            if not isinstance(value, str) or not value:
                raise DataError(f"{cpath}: not an eval run's config ('{key}' is not a name)")
        if not isinstance(config.get("provider_info") or {}, dict):
            raise DataError(f"{cpath}: not an eval run's config ('provider_info' is not a mapping)")
        return cls(
            dir=run_dir,
            config=config,
            metrics=metrics,
            predictions=predictions,
            name=str(metrics.get("model") or run_dir.name),
            task=ev["task"],
            provider=ev["provider"]["name"],
            n=n,
            fields=tuple(metrics["fields"]),
        )

    @property
    def eval(self) -> dict[str, Any]:
        """The resolved EvalConfig as config.json records it."""
        return self.config["eval"]

    @property
    def provider_config(self) -> dict[str, Any]:
        """The provider's section of the EvalConfig: name, model, adapter, decoding."""
        return self.config["eval"]["provider"]

    @property
    def provider_model(self) -> str | None:
        """The model id the provider was asked for (``eval.provider.model``; None: its default)."""
        model = self.provider_config.get("model")
        return str(model) if model else None

    @property
    def adapter(self) -> Path | None:
        """The fine-tuned adapter it ran with (``eval.provider.adapter``), if any."""
        adapter = self.provider_config.get("adapter")
        return Path(adapter) if adapter else None

    @property
    def provider_info(self) -> dict[str, Any]:
        """What the provider said about itself: model, family, paid, device ({} if nothing)."""
        return self.config.get("provider_info") or {}

    @property
    def usage(self) -> dict[str, Any]:
        """Tokens, cost, latency and throughput ({} for a run that has none)."""
        return self.metrics.get("usage") or {}

    @property
    def joint_accuracy(self) -> float:
        """The share of items with every field right."""
        return float(self.metrics["joint"]["accuracy"])

    def accuracy(self, field: str) -> float:
        """The accuracy on one field, or on all of them (``"joint"``)."""
        if field == "joint":
            return self.joint_accuracy
        return float(self.metrics["fields"][field]["accuracy"])

    @property
    def predictions_path(self) -> Path:
        return self.dir / "predictions.jsonl"

    @property
    def is_combined(self) -> bool:
        """Whether it is a combination of other runs (``bizztune combine``)."""
        return "combine" in self.config

    def renamed(self, name: str) -> EvalRun:
        """The same run under another model name (reports that name runs by their role)."""
        return dataclasses.replace(self, name=name, metrics={**self.metrics, "model": name})
