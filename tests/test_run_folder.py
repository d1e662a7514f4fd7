"""A ``bizztune run`` folder against damage and moves: a damaged stage marker redoes its stage
(never drops its model from the report), a folder moved to another path resumes as it was.

    pytest tests/test_run_folder.py

One small run (60 tickets, majority and tfidf, a tiny local model as the base, no training) is
made once; each test works on a copy of it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import make_rows, write_jsonl


class Lines:
    """A reporter that keeps the stage lines."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, str]] = []

    def stage(self, key: str, status: str, detail: str = "") -> None:
        self.lines.append((key, status, detail))

    def progress(self, key: str, done: int, total: int) -> None:
        return None

    def status(self, key: str) -> str:
        return next((s for k, s, _ in reversed(self.lines) if k == key), "")


def config(model: Path, data: dict[str, Any] | None = None) -> Any:
    from bizztune.pipeline.config import load_run_config
    from bizztune.plugins import registry

    return load_run_config(
        None,
        registry(),
        {
            "name": "small",
            "data": data or {"n": 60},
            "model": {"name": str(model), "provider": "hf", "style": "compact", "batch_size": 8},
            "eval": {
                "baselines": ["majority", "tfidf"],
                "test_sets": ["test"],
                "combine": [],
            },
            # choose on the val split, confirm on the test split: no shipped set to score
            "decision": {"choose_on": "val", "confirm_on": "test"},
            "report": {"html": False},
        },
    )


STAGES = ["generate", "split", "baselines", "report"]


def run(model: Path, out: Path, stages: list[str]) -> tuple[Any, Lines]:
    from conftest import run_experiment

    rep = Lines()
    return run_experiment(config(model), out, stages=stages, reporter=rep), rep


@pytest.fixture(scope="module")
def finished(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("runs") / "small"
    result, _ = run(tiny_model, out, STAGES)
    assert {r["model"] for r in result.summary["ranking"]} >= {"majority", "tfidf"}
    return out, result.summary


def copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.lock"))
    return dst


def test_a_damaged_marker_keeps_its_model_in_the_report(
    finished: tuple[Path, Any], tiny_model: Path, tmp_path: Path
) -> None:
    """Random bytes in tfidf's marker, then ``--stages report``: tfidf is redone (its
    predictions resumed), not dropped, and the Decision stays what it was."""
    out = copy(finished[0], tmp_path / "run")
    (out / "eval" / "tfidf" / "stage.done.json").write_bytes(os.urandom(64))
    result, rep = run(tiny_model, out, ["report"])  # --stages report: tfidf not asked for
    redo = [d for k, s, d in rep.lines if k == "eval:tfidf" and s == "redo"]
    assert len(redo) == 1 and "stage.done.json is damaged" in redo[0], rep.lines
    assert rep.status("eval:tfidf") == "done"
    assert result.summary["ranking"] == finished[1]["ranking"]  # tfidf is still there
    assert result.summary.get("decision") == finished[1].get("decision")


DAMAGES = {
    "not-json": b"garbage",
    "not-utf8": b"\xff\xfe\x00{",
    "not-an-object": b"[]",
    "keys-missing": b'{"key": "eval:tfidf"}',
    "wrong-type": b'{"key": "eval:tfidf", "fingerprint": 1, "finished_at": "x", "seconds": 1, '
    b'"outputs": {}}',
    "a-folder": None,
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_every_damaged_marker_redoes_its_stage(
    finished: tuple[Path, Any], tiny_model: Path, tmp_path: Path, damage: bytes | None
) -> None:
    out = copy(finished[0], tmp_path / "run")
    marker = out / "eval" / "tfidf" / "stage.done.json"
    marker.unlink()
    if damage is None:
        marker.mkdir()
    else:
        marker.write_bytes(damage)
    _, rep = run(tiny_model, out, ["split"])  # not asked for, redone all the same
    assert [s for k, s, _ in rep.lines if k == "eval:tfidf"] == ["redo", "start", "done"]
    sound = json.loads(marker.read_text(encoding="utf-8"))
    was = json.loads((finished[0] / "eval" / "tfidf" / "stage.done.json").read_text("utf-8"))
    assert sound["key"] == "eval:tfidf" and sound["outputs"] == was["outputs"]


def test_a_moved_run_folder_resumes_as_it_was(
    finished: tuple[Path, Any], tiny_model: Path, tmp_path: Path
) -> None:
    out = copy(finished[0], tmp_path / "elsewhere" / "moved")
    _, rep = run(tiny_model, out, STAGES)
    assert {s for _, s, _ in rep.lines} == {"cached"}, rep.lines
    # evaluations redone in the moved folder resume what was recorded at the old path
    before = (out / "eval" / "base" / "predictions.jsonl").read_bytes()
    (out / "eval" / "tfidf" / "stage.done.json").write_bytes(b"\x00")
    (out / "eval" / "base" / "stage.done.json").unlink()
    _, rep = run(tiny_model, out, ["baselines"])
    assert rep.status("eval:tfidf") == "done" and rep.status("eval:base") == "done", rep.lines
    assert [d for k, s, d in rep.lines if k == "eval:base" and s == "start"] == ["resuming"]
    assert (out / "eval" / "base" / "predictions.jsonl").read_bytes() == before


def test_a_run_of_other_data_refuses_an_occupied_folder(
    finished: tuple[Path, Any], tiny_model: Path, tmp_path: Path
) -> None:
    from bizztune.core.errors import ConfigError

    from conftest import run_experiment

    out = copy(finished[0], tmp_path / "run")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    mine = write_jsonl(tmp_path / "my-tickets.jsonl", make_rows(n_per_cell=1))
    with pytest.raises(ConfigError) as e:
        run_experiment(config(tiny_model, {"file": str(mine)}), out, reporter=Lines())
    assert f"--out {out}: holds a run of generated tickets, not of --data {mine}" in str(e.value)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_other_data_is_another_file_or_kind_not_an_edit_or_a_move() -> None:
    from bizztune.pipeline.engine import other_data

    gen = {"kind": "generated", "generator": "offline"}
    a = {"kind": "file", "path": "/d/a.csv", "content": "1"}
    assert other_data(gen, a) and other_data(a, gen)
    assert other_data(a, {"kind": "file", "path": "/d/b.csv", "content": "2"})  # another file
    assert not other_data(a, {"kind": "file", "path": "/d/a.csv", "content": "2"})  # edited
    assert not other_data(a, {"kind": "file", "path": "/e/a.csv", "content": "1"})  # moved
    assert not other_data(gen, {"kind": "generated", "generator": "gpt-4o"})  # a config change


def test_run_with_your_data_defaults_to_a_folder_named_after_it() -> None:
    from bizztune.pipeline.config import default_out, load_run_config
    from bizztune.plugins import registry

    assert default_out(load_run_config(None, registry(), {})) == Path("runs/default")
    mine = load_run_config(None, registry(), {"data": {"file": "my-tickets.csv"}})
    assert default_out(mine) == Path("runs/default-my-tickets")
    more = load_run_config(
        None, registry(), {"data": {"file": "in/my tickets.jsonl", "add_generated": 2000}}
    )
    assert default_out(more) == Path("runs/default-my-tickets-gen2000")


def test_a_training_moved_with_its_run_folder_resumes(tmp_path: Path) -> None:
    """A run folder's train stage records its data and output paths; moved elsewhere, the
    same data at the same place relative to the output is the same data, other data is not."""
    from bizztune.core.errors import ConfigError
    from bizztune.trainers.config import TrainConfig
    from bizztune.trainers.lora.run_folder import CONFIG_FILE, LORA_CHECKPOINTS, check_resume

    out = tmp_path / "moved" / "run" / "train"
    out.mkdir(parents=True)
    cfg = TrainConfig(data=str(tmp_path / "moved/run/data/split"), out=str(out), resume=True)

    def recorded(data: str) -> None:
        old = {**cfg.to_dict(), "data": data, "out": "/was/here/run/train"}
        (out / CONFIG_FILE).write_text(json.dumps({"train": old}), encoding="utf-8")

    recorded("/was/here/run/data/split")
    check_resume(out, cfg, LORA_CHECKPOINTS)  # moved together: resumed
    recorded("/was/here/other/split")
    with pytest.raises(ConfigError, match="was trained with data='/was/here/other/split'"):
        check_resume(out, cfg, LORA_CHECKPOINTS)
