"""The learning curve and the seeds of ``bizztune run`` (``train.sizes``, ``train.seeds``).

    pytest tests/test_curve.py

Unit tests of the nested stratified order and the seeds' combined interval, then one run of
the real CLI on a tiny Llama (60 tickets, sizes 8 and 16, seeds 0 and 1 at the largest size,
two optimizer steps per point): subsets nested and stratified, every point trained on its
subset with its seed and scored on the same items, the report's curve plot, table and seed
spread; a rerun redoes nothing; adding the whole train split as a size reuses the run's own
fine-tuning for seed 0 and trains only the new seed.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from conftest import run_cli


def statuses(stderr: str) -> dict[str, str]:
    """Stage -> its last status word from the CLI's stage lines."""
    found = re.findall(r"([a-z][\w@.-]*(?::[\w.-]+)?) (cached|done|skipped|redo)\b", stderr)
    return dict(found)


# -- units ----------------------------------------------------------------------------------------
def test_nested_order_is_stratified_at_every_prefix_and_seeded() -> None:
    from bizztune.data.subsets import nested_order

    rng = np.random.default_rng(3)
    labels = [("a",)] * 50 + [("b",)] * 30 + [("c",)] * 15 + [("d",)] * 5
    strata = [labels[i] for i in rng.permutation(len(labels))]
    order = nested_order(strata, seed=0)
    assert sorted(order) == list(range(len(strata)))
    share = Counter(strata)
    for n in range(1, len(strata) + 1):
        got = Counter(strata[i] for i in order[:n])
        for s, c in share.items():
            assert abs(got[s] - n * c / len(strata)) < 1, (n, s, got[s])
    assert nested_order(strata, seed=0) == order
    assert nested_order(strata, seed=1) != order


def test_seed_summary_and_the_combined_interval() -> None:
    from bizztune.eval.seeds import combined_interval, seed_summary

    def run(correct: list[bool]) -> dict[str, Any]:
        preds = {f"i{j}": {"correct": {"a": c, "b": True}} for j, c in enumerate(correct)}
        return {"predictions": preds}

    rng = np.random.default_rng(0)
    base = rng.random(200) < 0.6
    same = [run(list(base)) for _ in range(3)]
    s = seed_summary(same, "a")
    assert (s.k, s.n, s.sd, s.min, s.max) == (3, 200, 0.0, base.mean(), base.mean())
    # seeds that agree: the interval is the item bootstrap's (about ±1.96 * 3.5 pp)
    assert s.low < s.mean < s.high
    assert 0.10 < s.high - s.low < 0.16
    # seeds that disagree by 30 points: the interval must widen to cover them
    apart = [run(list(rng.random(200) < p)) for p in (0.4, 0.55, 0.7)]
    t = seed_summary(apart, "a")
    assert t.sd == pytest.approx(float(np.std(t.per_seed, ddof=1)))
    assert t.high - t.low > 0.2  # items alone: about 0.08
    assert seed_summary(apart, "joint").per_seed == t.per_seed  # b is always right
    # one seed: the ordinary item bootstrap
    lo, hi = combined_interval(base[None, :].astype(float), seed=1)
    assert lo < base.mean() < hi


# -- end to end -----------------------------------------------------------------------------------
def ids(path: Path) -> list[str]:
    return [json.loads(x)["id"] for x in path.read_text(encoding="utf-8").splitlines() if x]


def test_curve_with_sizes_and_seeds_end_to_end(tiny_model: Path, tmp_path: Path) -> None:
    cfg = {
        "name": "curve",
        "data": {"n": 60},
        "model": {"name": str(tiny_model), "provider": "hf", "style": "compact"},
        "eval": {
            "baselines": ["majority", "tfidf"],
            "test_sets": ["test", "val"],  # two sets: a curve for each
            "calibrate": "none",
        },
        "decision": {"choose_on": "val", "confirm_on": "test"},
        "train": {"trainer": "head", "max_steps": 2, "batch_size": 4, "limit_val": 4},
        "report": {"html": False},
    }
    path = tmp_path / "curve.yaml"
    path.write_text(yaml.safe_dump({**cfg, "train": {**cfg["train"], "sizes": [16, 8]}}))
    out = tmp_path / "run"
    # sizes from the file, seeds from the flag
    r = run_cli("run", "--config", str(path), "--out", str(out), "--seeds", "0,1")
    assert r.returncode == 0, r.stderr[-4000:]
    st = statuses(r.stderr)
    for key in (
        "subset:n8",
        "subset:n16",
        "eval:majority-n8",
        "eval:tfidf-n16",
        "train:n8-s0",
        "train:n16-s0",
        "train:n16-s1",
        "eval:n8-s0",
        "eval:n16-s0",
        "eval:n16-s1",
    ):
        assert st.get(key) == "done", (key, st)
    assert "train:n8-s1" not in st  # the second seed at the largest size only

    split = out / "data" / "split"
    train_ids = ids(split / "train.jsonl")
    sub = {
        n: json.loads((out / "curve" / f"n{n}" / "data" / "subset.json").read_text())
        for n in (8, 16)
    }
    assert set(sub[8]["ids"]) < set(sub[16]["ids"]) < set(train_ids)
    assert ids(out / "curve" / "n16" / "data" / "train.jsonl") == sub[16]["ids"]
    rows = {
        json.loads(x)["id"]: json.loads(x)
        for x in (split / "train.jsonl").read_text(encoding="utf-8").splitlines()
        if x
    }
    stratum = {i: (row["category"], row["subcategory"], row["urgency"]) for i, row in rows.items()}
    whole = Counter(stratum.values())
    for n in (8, 16):
        got = Counter(stratum[i] for i in sub[n]["ids"])
        assert len(sub[n]["ids"]) == n
        assert all(abs(got[s] - n * c / len(train_ids)) < 1 for s, c in whole.items()), got

    test_ids = ids(out / "eval" / "finetuned" / "predictions.jsonl")
    adapters = {}
    for n, s in ((8, 0), (16, 0), (16, 1)):
        point = out / "curve" / f"n{n}" / f"seed{s}"
        summary = json.loads((point / "train" / "train_summary.json").read_text())
        config = json.loads((point / "train" / "train_config.json").read_text())["train"]
        assert summary["train_examples"] == n
        assert config["seed"] == s and Path(config["data"]) == out / "curve" / f"n{n}" / "data"
        assert ids(point / "eval" / "finetuned" / "predictions.jsonl") == test_ids
        val = point / "eval-val" / "finetuned" / "predictions.jsonl"
        assert ids(val) == ids(out / "eval-val" / "finetuned" / "predictions.jsonl")
        adapters[(n, s)] = (point / "train" / "adapter_model.safetensors").read_bytes()
    for n in (8, 16):
        for label in ("majority", "tfidf"):
            assert ids(out / "curve" / f"n{n}" / "eval" / label / "predictions.jsonl") == test_ids
    assert adapters[(16, 0)] != adapters[(16, 1)]  # the seed reached the initialisation

    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Learning curve (test split)" in md and "## Seeds (test split)" in md
    assert "![Learning curve: accuracy per field" in md
    assert "## Learning curve (val split)" in md and "## Seeds (val split)" in md
    for name in ("learning-curve", "learning-curve-val-split"):
        assert (out / "report" / "plots" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
        assert f"(report/plots/{name}.png)" in md
    table = md.split("## Learning curve (test split)")[1].split("\n## ")[0]
    assert "| 8 | 0 |" in table and "| 16 | 0,1 |" in table and "| not fitted |" in table
    summary = json.loads((out / "summary.json").read_text())
    curve = summary["curve"]["test split"]
    two = next(p for p in curve["points"] if p["model"] == "finetuned" and p["size"] == 16)
    assert two["seeds"] == [0, 1]
    for f, s in two["fields"].items():
        assert s["low"] <= s["mean"] <= s["high"], f
        assert s["min"] <= s["mean"] <= s["max"]
        assert s["sd"] == pytest.approx(float(np.std(s["per_seed"], ddof=1)))
    assert {p["model"] for p in curve["points"]} == {"finetuned", "majority", "tfidf"}
    from bizztune.report.curve import seed_interval

    assert seed_interval(curve, "joint") == {**two["fields"]["joint"], "size": 16, "seeds": [0, 1]}
    assert set(curve["bands"]) == {"base"}
    assert curve["seed_line"] in md
    # the verdict of the set quotes the seeds, placed against the best other model
    verdict = (
        summary["test_sets"]["test split"]["verdict"]
        if "test_sets" in summary
        else summary["verdict"]
    )
    assert curve["seed_line"] in verdict and "The best other model" in curve["seed_line"]

    # A rerun redoes nothing.
    again = run_cli("run", "--config", str(path), "--out", str(out), "--seeds", "0,1")
    assert again.returncode == 0, again.stderr[-4000:]
    assert set(statuses(again.stderr).values()) == {"cached"}, statuses(again.stderr)

    # The whole train split as a size: seed 0 there is the run's own fine-tuning.
    full = len(train_ids)
    third = run_cli(
        "run", "--config", str(path), "--out", str(out), "--seeds", "0,1", "--sizes", f"8,16,{full}"
    )
    assert third.returncode == 0, third.stderr[-4000:]
    st = statuses(third.stderr)
    assert st["train"] == "cached" and st[f"subset:n{full}"] == "done"
    assert st[f"train:n{full}-s1"] == "done" and f"train:n{full}-s0" not in st
    assert f"eval:tfidf-n{full}" not in st  # the run's own tfidf is fitted on the whole split
    assert st["train:n16-s0"] == "cached" and "train:n16-s1" not in st
    curve_train = (out / "curve" / f"n{full}" / "data" / "train.jsonl").read_bytes()
    assert curve_train == (split / "train.jsonl").read_bytes()
    md = (out / "report.md").read_text(encoding="utf-8")
    assert f"| {full} | 0,1 |" in md


def test_sizes_beyond_the_train_split_and_bad_flags_are_one_line(tmp_path: Path) -> None:
    r = run_cli("run", "--sizes", "8,x", "--out", str(tmp_path / "a"))
    assert r.returncode != 0 and "--sizes" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"train": {"sizes": [8, 8]}}))
    r = run_cli("run", "--config", str(bad), "--out", str(tmp_path / "b"))
    assert r.returncode != 0 and "train.sizes lists a value twice" in r.stderr
    big = tmp_path / "big.yaml"
    big.write_text(
        yaml.safe_dump(
            {
                "data": {"n": 30},
                "eval": {"baselines": ["majority"], "test_sets": ["test"]},
                "train": {"sizes": [5000]},
            }
        )
    )
    r = run_cli(
        "run",
        "--config",
        str(big),
        "--out",
        str(tmp_path / "c"),
        "--stages",
        "generate,split,curve",
    )
    assert r.returncode != 0, r.stderr
    assert "train.sizes: 5000 is more than the" in r.stderr and "Traceback" not in r.stderr


def test_learning_curve_experiment_is_the_default_run_plus_the_curve() -> None:
    from dataclasses import replace

    from bizztune.pipeline.config import RunConfig, load_run_config
    from bizztune.plugins import registry

    repo = Path(__file__).resolve().parents[1]
    lc = load_run_config(repo / "experiments" / "learning-curve.yaml", registry())
    default = RunConfig()
    assert (lc.task, lc.seed, lc.data, lc.model, lc.eval, lc.costs) == (
        default.task,
        default.seed,
        default.data,
        default.model,
        default.eval,
        default.costs,
    )
    # the same recipe, at every size the steps the default's epochs of its train split take
    assert replace(lc.train, max_steps=None) == default.train
    n_train = round(default.data.n * default.data.ratios[0])
    assert lc.train.max_steps == round(default.train.epochs * n_train / default.train.batch_size)
    assert lc.curve.sizes == [n_train // 8, n_train // 4, n_train // 2, n_train]
    assert (lc.curve.seeds, lc.curve.seeds_at) == ([0, 1, 2], "largest")
