"""Where `bizztune run` chooses and where it confirms: the decision set and the confirmation
set, by default and with your own tickets (cross-fitted or their val split), and what the
console says at the end.

    pytest tests/test_decide_sets.py
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from test_run import lines, write_config

from conftest import make_rows, run_cli, write_csv


def test_default_sets_choose_on_the_hand_written_dev_set(tmp_path: Path) -> None:
    """Without --data the task's hand-written sets decide (foreign-dev) and confirm (foreign);
    the generated test split stays as a check. With your own tickets: the cross-fitted folds
    under 500 of them, else the val split, and the test split confirms."""
    from bizztune.core.errors import BizztuneError
    from bizztune.pipeline.config import DecisionConfig, RunConfig
    from bizztune.pipeline.plan import plan_sets
    from bizztune.plugins import load_task

    task = load_task("tickets")
    plan = plan_sets(RunConfig(), task)
    assert [(t.name, t.folder(), t.spec) for t in plan.sets] == [
        ("test split", "eval", None),
        ("tickets:foreign", "eval-foreign", "tickets:foreign"),
        ("tickets:foreign-dev", "eval-foreign-dev", "tickets:foreign-dev"),
    ]
    roles = plan.roles()
    assert (roles.decide.name, roles.decide.people) == ("tickets:foreign-dev", True)
    assert roles.confirm is not None and roles.confirm.name == "tickets:foreign"
    assert [(c.name, c.people, c.what) for c in roles.checks] == [
        ("test split", False, "the generator's own tickets")
    ]
    own = RunConfig()
    own.data = replace(own.data, file="mine.csv")
    small, large = plan_sets(own, task, n_own=110), plan_sets(own, task, n_own=800)
    assert (small.decide.name, small.decide.folder()) == ("cross-fitted folds", "eval-folds")
    assert small.confirm is not None and small.confirm.name == "test split"
    assert large.decide.name == "val split" and large.decide.what == "your own tickets"
    assert [t.name for t in large.sets] == ["test split", "tickets:foreign", "val split"]
    # picking on the set you report on inflates the winner: refused
    with pytest.raises(Exception, match="picking on the set you report on inflates the winner"):
        DecisionConfig(choose_on="test", confirm_on="test")
    cfg = replace(RunConfig(), decision=DecisionConfig(choose_on="folds"))
    with pytest.raises(Exception, match="folds cross-fits your own tickets"):
        plan_sets(cfg, task)
    cfg = replace(RunConfig(), decision=DecisionConfig(confirm_on="tickets:nope"))
    with pytest.raises(BizztuneError, match="ships no data set 'nope'"):
        plan_sets(cfg, task)


def decision_block(stderr: str) -> list[str]:
    """The console's last lines: the Decision's sentences and its table."""
    out = stderr.splitlines()
    at = max(i for i, x in enumerate(out) if x.startswith("run folder:") or x.startswith("report:"))
    return out[at + 1 :]


def test_run_with_your_own_tickets_chooses_on_them_and_confirms_on_their_test_split(
    tiny_model: Path, tmp_path: Path
) -> None:
    """`bizztune run --data own.csv`: 66 tickets, so the choice rests on every train and val
    ticket, each scored by a model trained without it (2 folds here), and is confirmed on the
    test split; --choose-on val chooses on the val split instead. The console ends with the
    Decision in a few short lines and one table."""
    rows = make_rows()
    own = write_csv(tmp_path / "own.csv", rows)
    cfg = write_config(
        tmp_path / "c.yaml",
        tiny_model,
        **{"eval.baselines": ["majority", "tfidf"], "train.max_steps": 2, "decision": {}},
    )
    out = tmp_path / "run"
    wide = {"COLUMNS": "200"}  # a log file's console is 80 wide; the table would wrap
    r = run_cli(
        "run", "--config", str(cfg), "--out", str(out), "--data", str(own), "--folds", "2", env=wide
    )
    assert r.returncode == 0, r.stderr[-4000:]
    for i in range(2):  # each fold: the models trained and fitted without its tickets
        fold = out / "crossfit" / "data" / f"fold{i}"
        held = {json.loads(x)["id"] for x in lines(fold / "test.jsonl")}
        assert held and not held & {json.loads(x)["id"] for x in lines(fold / "train.jsonl")}
        tf = json.loads(
            (out / "crossfit" / f"fold{i}" / "eval" / "tfidf" / "config.json").read_text()
        )
        assert tf["eval"]["train_data"] == str(out / "crossfit" / "data" / f"fold{i}")
        assert (out / "crossfit" / f"fold{i}" / "train" / "stage.done.json").is_file()
    split = {
        s: {json.loads(x)["id"] for x in lines(out / "data" / "split" / f"{s}.jsonl")}
        for s in ("train", "val", "test")
    }
    for label in ("majority", "tfidf", "base", "finetuned", "finetuned+tfidf"):
        ids = [json.loads(x)["id"] for x in lines(out / "eval-folds" / label / "predictions.jsonl")]
        assert sorted(ids) == sorted(split["train"] | split["val"]), label  # each once
    summary = json.loads((out / "summary.json").read_text())
    d = summary["decision"]
    assert d["decide_on"]["name"] == "cross-fitted folds" and d["decide_on"]["people"]
    assert d["confirm_on"]["name"] == "test split"
    for option in d["options"]:
        scores = option["scores"]
        assert scores["cross-fitted folds"]["n"] == len(split["train"] | split["val"])
        assert scores["test split"]["n"] == len(split["test"])
    # the console ends with at most six lines of decision, then one compact table
    block = decision_block(r.stderr)
    at = next(i for i, x in enumerate(block) if "Joint accuracy %" in x)
    sentences, table = block[:at], block[at + 1 :]
    assert 3 <= len(sentences) <= 6 and all(len(x) <= 400 for x in block), block
    assert any(
        "chosen on cross-fitted folds" in x and "confirmed on test split" in x for x in sentences
    )
    chosen = next(o["name"] for o in d["options"] if o["key"] == d["chosen"])
    assert any(x.startswith(f"Run {chosen}: fully right on ") for x in sentences)
    assert re.match(
        r"option\s+cross-fitted folds \(chosen on\)\s+test split \(confirmed on\)\s+USD per 1,000",
        table[0],
    )
    assert len(table) == 1 + len(d["options"])  # one row per option, none wrapped

    # on their val split instead: the models of the run, scored on it; nothing else retrained
    r = run_cli(
        "run",
        "--config",
        str(cfg),
        "--out",
        str(out),
        "--data",
        str(own),
        "--folds",
        "2",
        "--choose-on",
        "val",
    )
    assert r.returncode == 0, r.stderr[-4000:]
    assert "train cached" in r.stderr
    d = json.loads((out / "summary.json").read_text())["decision"]
    assert (d["decide_on"]["name"], d["confirm_on"]["name"]) == ("val split", "test split")
    n_val = len(split["val"])
    assert all(o["scores"]["val split"]["n"] == n_val for o in d["options"])
    assert any("chosen on val split" in x for x in decision_block(r.stderr))
