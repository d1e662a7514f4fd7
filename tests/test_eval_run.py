"""A finished eval run read back as a typed, frozen EvalRun (``bizztune.eval.runs``), and a run
folder whose files lack a field, or hold one of the wrong type, refused in one line naming the
file and the field."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from bizztune.core.errors import DataError
from bizztune.eval.rundir import load_run, run_report_md

from conftest import run_cli

RECORD = {
    "id": "t1",
    "raw": "{}",
    "parsed": {"category": "Billing"},
    "errors": {},
    "gold": {"category": "Billing"},
    "correct": {"category": True},
    "latency_s": 0.5,
}


def _config() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "eval": {
            "task": "tickets",
            "data": "data/test.jsonl",
            "split": "test",
            "style": "default",
            "calls": "joint",
            "provider": {"name": "majority", "model": None, "decoding": "greedy"},
        },
        "provider_info": {"name": "majority", "paid": False, "device": "cpu"},
    }


def _metrics() -> dict[str, Any]:
    field = {"accuracy": 1.0, "ci95": [1.0, 1.0], "macro_f1": 1.0, "confusion": {}}
    return {
        "n": 1,
        "fields": {"category": field},
        "joint": {"accuracy": 1.0, "ci95": [1.0, 1.0]},
        "invalid_rate": 0.0,
        "usage": {"latency_mean_s": 0.5, "cost_usd": 0.0, "items_per_s": 2.0},
        "model": "majority baseline",
    }


def _write(run: Path, config: dict[str, Any], metrics: dict[str, Any]) -> Path:
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (run / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (run / "predictions.jsonl").write_text(json.dumps(RECORD) + "\n", encoding="utf-8")
    return run


def test_a_run_reads_back_typed_and_frozen(tmp_path: Path) -> None:
    run = load_run(_write(tmp_path / "r", _config(), _metrics()))
    assert (run.name, run.task, run.provider, run.n, run.fields) == (
        "majority baseline",
        "tickets",
        "majority",
        1,
        ("category",),
    )
    assert run.joint_accuracy == run.accuracy("joint") == run.accuracy("category") == 1.0
    assert run.usage["items_per_s"] == 2.0 and (run.provider_model, run.adapter) == (None, None)
    assert run.provider_info["paid"] is False and not run.is_combined
    assert run.predictions == {"t1": RECORD} and run.predictions_path.is_file()
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.n = 2  # type: ignore[misc]
    renamed = run.renamed("A")
    assert (renamed.name, renamed.metrics["model"], run.name) == ("A", "A", "majority baseline")
    assert "# Evaluation: A" in run_report_md(renamed)


def test_a_run_without_a_model_name_is_named_after_its_folder(tmp_path: Path) -> None:
    metrics = _metrics()
    del metrics["model"], metrics["usage"]
    run = load_run(_write(tmp_path / "old-run", _config(), metrics))
    assert run.name == "old-run" and run.usage == {}


def _without(d: dict[str, Any], path: str) -> dict[str, Any]:
    *parents, last = path.split(".")
    inner = d
    for p in parents:
        inner = inner[p]
    del inner[last]
    return d


def _with(d: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    inner = d
    for p in parents:
        inner = inner[p]
    inner[last] = value
    return d


BAD = [
    ("metrics.json", "'n' is not an item count", _config(), _with(_metrics(), "n", "one")),
    ("metrics.json", "'n' is not an item count", _config(), _with(_metrics(), "n", True)),
    ("metrics.json", "'fields' is not a mapping", _config(), _without(_metrics(), "fields")),
    ("metrics.json", "'fields' is not a mapping", _config(), _with(_metrics(), "fields", [])),
    ("metrics.json", "'usage' is not a mapping", _config(), _with(_metrics(), "usage", 3)),
    ("config.json", "'eval.task' is not a name", _without(_config(), "eval.task"), _metrics()),
    (
        "config.json",
        "'eval.provider.name' is not a name",
        _with(_config(), "eval.provider.name", 7),
        _metrics(),
    ),
    (
        "config.json",
        "'provider_info' is not a mapping",
        _with(_config(), "provider_info", "x"),
        _metrics(),
    ),
]


@pytest.mark.parametrize(("file", "why", "config", "metrics"), BAD)
def test_a_missing_or_ill_typed_field_is_named_with_its_file(
    tmp_path: Path, file: str, why: str, config: dict[str, Any], metrics: dict[str, Any]
) -> None:
    run = _write(tmp_path / "r", config, metrics)
    with pytest.raises(DataError) as e:
        load_run(run)
    assert str(e.value) == f"{run / file}: not an eval run's " + (
        f"metrics ({why})" if file == "metrics.json" else f"config ({why})"
    )


def test_the_cli_says_it_in_one_line(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad", _config(), _without(_metrics(), "fields"))
    r = run_cli("combine", str(bad), str(bad), "--out", str(tmp_path / "c"))
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert lines == [lines[0]] and f"{bad / 'metrics.json'}" in lines[0], r.stderr
    assert "'fields' is not a mapping" in lines[0]
