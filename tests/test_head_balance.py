"""Class-balanced head training (``--class-weight balanced``): the weights, the loss they
give, the prior folded back into the heads, and a run through the CLI; and per-field loss
weights (``--field-weights urgency=3``): the loss, the flag's parsing, and the CLI.

    pytest tests/test_head_balance.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from bizztune.core.errors import ConfigError
from bizztune.models.heads import HeadClassifier, HeadSpec
from bizztune.plugins import load_task
from bizztune.trainers.config import HeadConfig
from bizztune.trainers.head.balance import class_weights, fold_prior
from bizztune.trainers.head.steps import loss_of as _loss

from conftest import run_cli


@pytest.fixture(scope="module")
def spec() -> HeadSpec:
    return HeadSpec.for_schema(load_task("tickets").schema, hidden_size=8)


def _labels(spec: HeadSpec) -> dict[str, torch.Tensor]:
    # urgency 6 x Niedrig, 3 x Mittel, 1 x Hoch; one category and subcategory only
    urg = next(f.labels for f in spec.fields if f.name == "urgency")
    ids = [urg.index("Niedrig")] * 6 + [urg.index("Mittel")] * 3 + [urg.index("Hoch")]
    return {"category": torch.zeros(10, dtype=torch.long),
            "subcategory": torch.zeros(10, dtype=torch.long),
            "urgency": torch.tensor(ids)}  # fmt: skip


def test_balanced_weights_give_every_label_the_same_total(spec: HeadSpec) -> None:
    y = _labels(spec)
    w = class_weights(spec, y)
    urg = w["urgency"][y["urgency"]]
    per_label = {int(k): float(urg[y["urgency"] == k].sum()) for k in y["urgency"].unique()}
    assert all(math.isclose(v, 10 / 3, rel_tol=1e-6) for v in per_label.values())
    assert math.isclose(float(urg.mean()), 1.0, rel_tol=1e-6)  # the loss keeps its scale
    # one category only: its weight is 1, and labels the data lacks keep 1 as well
    assert torch.equal(w["category"], torch.ones_like(w["category"]))


def test_weighted_loss_is_the_label_weighted_mean(spec: HeadSpec) -> None:
    y = _labels(spec)
    w = class_weights(spec, y)
    g = torch.Generator().manual_seed(0)
    logits = {f.name: torch.randn(10, len(f.labels), generator=g) for f in spec.fields}
    idx = list(range(10))
    plain = _loss(logits, y, idx)
    ce = {f: torch.nn.functional.cross_entropy(logits[f], y[f], reduction="none") for f in y}
    assert torch.isclose(plain, sum(c.mean() for c in ce.values()))
    weighted = _loss(logits, y, idx, w)
    want = sum((ce[f] * w[f][y[f]]).mean() for f in y)
    assert torch.isclose(weighted, want)
    assert not torch.isclose(weighted, plain)  # the rare Hoch counts more


def test_folding_the_prior_undoes_the_weights(spec: HeadSpec) -> None:
    """A head that outputs the weighted loss's minimizer, p(label) / prior(label) (uniform
    here), answers the data's prior after the fold."""
    y = _labels(spec)
    w = class_weights(spec, y)
    clf = HeadClassifier(torch.nn.Identity(), spec)
    shift = fold_prior(clf, w)
    pooled = torch.zeros(1, 8)
    p = clf.heads(pooled)["urgency"].softmax(-1)[0]
    prior = torch.bincount(y["urgency"], minlength=3).float() / 10
    assert torch.allclose(p, prior, atol=1e-5)
    assert len(shift["urgency"]) == 3


def test_balanced_training_through_the_cli(
    tiny_model: Path, split_dir: Path, tmp_path: Path
) -> None:
    model = tiny_model
    out = tmp_path / "bal"
    r = run_cli("train", "--recipe", "none", "--trainer", "head", "--model", str(model), "--data", str(split_dir),
                "--out", str(out), "--batch-size", "4", "--lr", "3e-3", "--dropout", "0",
                "--max-steps", "4", "--eval-steps", "2", "--set", "class_weight=balanced")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["class_weight"]["how"] == "balanced"
    assert set(summary["class_weight"]["prior_shift"]) == {"category", "subcategory", "urgency"}
    cfg = json.loads((out / "train_config.json").read_text())
    assert cfg["train"]["class_weight"] == "balanced"  # in the fingerprint: not the default

    r = run_cli("train", "--recipe", "none", "--trainer", "lora", "--model", str(model), "--data", str(split_dir),
                "--out", str(tmp_path / "x"), "--set", "class_weight=balanced")  # fmt: skip
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "'class_weight' is not a parameter of the lora trainer" in r.stderr


def test_field_weights_scale_each_fields_term(spec: HeadSpec) -> None:
    y = _labels(spec)
    g = torch.Generator().manual_seed(1)
    logits = {f.name: torch.randn(10, len(f.labels), generator=g) for f in spec.fields}
    idx = list(range(10))
    ce = {f: torch.nn.functional.cross_entropy(logits[f], y[f]) for f in y}
    scaled = _loss(logits, y, idx, scale={"urgency": 3.0})
    assert torch.isclose(scaled, ce["category"] + ce["subcategory"] + 3 * ce["urgency"])
    # with class weights too: the field weight multiplies the class-weighted term
    w = class_weights(spec, y)
    both = _loss(logits, y, idx, w, {"urgency": 2.0, "category": 0.5})
    plain = {f: _loss({f: logits[f]}, y, idx, w) for f in y}
    want = 0.5 * plain["category"] + plain["subcategory"] + 2 * plain["urgency"]
    assert torch.isclose(both, want)


@pytest.mark.parametrize(
    ("given", "want"),
    [("urgency=3", {"urgency": 3.0}), (" urgency = 2 , category=0.5", {"urgency": 2.0, "category": 0.5}),
     ({"urgency": 4}, {"urgency": 4.0}), ("", None), (None, None)],
)  # fmt: skip
def test_field_weights_flag_parses(given: object, want: object) -> None:
    assert HeadConfig(field_weights=given).field_weights == want  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "says"),
    [("urgency", "field=weight"), ("urgency=x", "must be a number"), ("urgency=0", "(0, 100]"),
     ("=3", "field=weight"), (["urgency"], "must map fields")],
)  # fmt: skip
def test_field_weights_flag_refuses_bad_values(given: object, says: str) -> None:
    with pytest.raises(ConfigError, match="field_weights") as err:
        HeadConfig(field_weights=given)  # type: ignore[arg-type]
    assert says in str(err.value)


def test_field_weights_through_the_cli(tiny_model: Path, split_dir: Path, tmp_path: Path) -> None:
    model = tiny_model
    args = ("train", "--recipe", "none", "--trainer", "head", "--model", str(model), "--data", str(split_dir),
            "--batch-size", "4", "--lr", "3e-3", "--dropout", "0", "--max-steps", "2",
            "--eval-steps", "0")  # fmt: skip
    r = run_cli(*args, "--out", str(tmp_path / "fw"), "--set", "field_weights=urgency=3")
    assert r.returncode == 0, r.stderr[-3000:]
    cfg = json.loads((tmp_path / "fw" / "train_config.json").read_text())
    assert cfg["train"]["field_weights"] == {"urgency": 3.0}  # in the fingerprint
    # a field the task does not have: one line naming the task's fields, before any loading
    r = run_cli(*args, "--out", str(tmp_path / "bad"), "--set", "field_weights=dringlichkeit=3")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "dringlichkeit" in r.stderr and "category, subcategory, urgency" in r.stderr
    assert not (tmp_path / "bad" / "train_config.json").exists()
    r = run_cli("train", "--recipe", "none", "--trainer", "lora", "--model", str(model), "--data", str(split_dir),
                "--out", str(tmp_path / "x"), "--set", "field_weights=urgency=3")  # fmt: skip
    assert r.returncode != 0 and "'field_weights' is not a parameter of the lora" in r.stderr
