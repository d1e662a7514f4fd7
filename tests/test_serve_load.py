"""benchmarks/serve_load.py's flags and verdict (the load itself runs a real model: docs/serving.md)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def load() -> ModuleType:
    path = ROOT / "benchmarks" / "serve_load.py"
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod
    spec.loader.exec_module(mod)
    return mod


def test_serve_load_flags(load: ModuleType, tmp_path: Path) -> None:
    args = load.parse_args(["--adapter", str(tmp_path), "--combine-with", "tfidf"])
    assert (args.clients, args.requests, args.max_batch, args.max_wait_ms) == (16, 200, 16, 10.0)
    for bad in (
        [],  # neither --adapter nor --model
        ["--adapter", str(tmp_path / "nowhere")],
        ["--model", "m", "--train-data", "x"],  # --train-data without --combine-with
        ["--model", "m", "--clients", "0"],
    ):
        with pytest.raises(SystemExit) as e:
            load.parse_args(bad)
        assert e.value.code == 2


def test_serve_load_verdict(load: ModuleType) -> None:
    def served(rps: float, errors: int = 0) -> dict[str, Any]:
        return {"throughput_rps": rps, "errors": errors}

    res: dict[str, Any] = {"offline": {"items_per_s": 10.0}}
    res["served"] = {"1": served(9.0), "16": served(9.5)}
    line = load.verdict(res, 16)
    assert (res["served_vs_offline"], res["batching_gain"]) == (0.95, 1.06)
    assert "0.95x offline (10.00 tickets/s); errors 0; CPU target >= 0.9x" in line
    assert ": met." in line
    res["served"] = {"1": served(9.0), "16": served(9.5, errors=1)}
    assert ": NOT met." in load.verdict(res, 16)
    res["served"] = {"1": served(9.0), "16": served(8.0)}
    assert ": NOT met." in load.verdict(res, 16) and res["served_vs_offline"] == 0.8
