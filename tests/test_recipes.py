"""Named recipes and each trainer's own config: `bizztune train`, `run` and `sweep` start from
the same recipes, flags override them, and a trainer takes only the parameters it has.

    pytest tests/test_recipes.py
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pluggy
import pytest

from bizztune.cli.train import build_train_config
from bizztune.core import hookspecs
from bizztune.core.errors import ConfigError
from bizztune.core.registry import collect
from bizztune.pipeline.config import RunConfig, load_run_config
from bizztune.plugins import registry
from bizztune.trainers.config import HeadConfig, LoraConfig, TrainJob
from bizztune.trainers.lora.run_folder import config_record
from bizztune.trainers.recipes import DEFAULT, RECIPES

from conftest import REPO, run_cli

NO_FLAGS: dict[str, Any] = {"trainer": None, "r": None, "learning_rate": None, "model": None}


def test_train_records_the_same_config_as_the_run_for_the_default_recipe(tmp_path: Path) -> None:
    """`bizztune train --recipe default` writes the train_config.json the default run's train
    stage writes, given the same split and folder: the recipe lives in one place."""
    split, out = tmp_path / "split", tmp_path / "train"
    flags = {**NO_FLAGS, "recipe": "default", "data": str(split), "out": str(out)}
    train = build_train_config(None, flags, registry())
    run = RunConfig().train_config(split, out, resume=False)
    assert type(train) is type(run) is HeadConfig
    assert config_record(train, out)["train"] == config_record(run, out)["train"]
    assert (train.recipe, train.model, train.head_refit) == ("default", "gemma3-270m", 0.01)
    # with no recipe and no trainer, `bizztune train` is the default recipe too
    assert (
        build_train_config(None, {**NO_FLAGS, "data": str(split), "out": str(out)}, registry())
        == train
    )


def test_a_trainer_starts_from_its_recipe_and_flags_override_it() -> None:
    lora = build_train_config(None, {**NO_FLAGS, "trainer": "lora", "r": 4}, registry())
    assert type(lora) is LoraConfig and lora.recipe == "smollm2-lora"
    assert (lora.r, lora.max_steps, lora.learning_rate) == (4, 200, 2e-3)  # the flag wins
    plain = build_train_config(None, {**NO_FLAGS, "recipe": "none", "trainer": "head"}, registry())
    assert type(plain) is HeadConfig and (plain.r, plain.head_pooling) == (8, "last")
    study = build_train_config(None, {**NO_FLAGS, "recipe": "study-gpu"}, registry())
    assert (study.trainer, study.quantization, study.grad_accum) == ("qlora", "nf4", 4)
    with pytest.raises(ConfigError, match="--recipe nope: no such recipe; the recipes: default"):
        build_train_config(None, {**NO_FLAGS, "recipe": "nope"}, registry())


def test_a_parameter_of_another_trainer_is_one_line_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'head_refit' is not a parameter of the lora trainer"):
        build_train_config(
            None, {**NO_FLAGS, "trainer": "lora", "assignments": ("head_refit=1",)}, registry()
        )
    with pytest.raises(ConfigError, match="did you mean 'head_refit'"):
        build_train_config(None, {**NO_FLAGS, "assignments": ("head_refitt=1",)}, registry())
    r = run_cli("train", "--trainer", "lora", "--set", "head_pooling=mean", "--out", str(tmp_path))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        "error: flags: 'head_pooling' is not a parameter of the lora trainer (LoraConfig)"
    )


def test_every_recipe_builds_for_its_trainer_and_every_shipped_run_names_one() -> None:
    import yaml

    for r in RECIPES.values():
        config_type = registry().trainer(r.trainer).config_type
        cfg = build_train_config(None, {**NO_FLAGS, "recipe": r.name}, registry())
        assert type(cfg) is config_type and cfg.recipe == r.name
    for path in sorted((REPO / "experiments").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        recipe = (data.get("train") or data).get("recipe")
        assert recipe in RECIPES, path
    assert load_run_config(None, registry()).train.recipe == DEFAULT.name


@dataclasses.dataclass
class ToyConfig(TrainJob):
    """A third-party trainer's own parameters."""

    trainer: str = "toy"
    rounds: int = 3


class ToyTrainer:
    name = "toy"
    config_type = ToyConfig

    def train(self, task: Any, config: ToyConfig) -> Path:
        out = Path(str(config.out))
        out.mkdir(parents=True, exist_ok=True)
        (out / "toy.json").write_text(json.dumps(config.to_dict()))
        return out


class ToyPlugin:
    @hookspecs.hookimpl
    def register_trainers(self, register: hookspecs.Register) -> None:
        register("toy", ToyTrainer, description="a trainer with parameters of its own")


def test_a_third_party_trainer_gets_its_own_config_type(tmp_path: Path) -> None:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugin = ToyPlugin()
    pm.register(plugin)
    reg = collect(pm, {id(plugin): "toy-plugin"})
    cfg = build_train_config(
        None, {**NO_FLAGS, "trainer": "toy", "assignments": ("rounds=5",)}, reg
    )
    assert type(cfg) is ToyConfig and cfg.rounds == 5 and cfg.recipe is None  # no recipe of ours
    with pytest.raises(ConfigError, match="'r' is not a parameter of the toy trainer"):
        build_train_config(None, {**NO_FLAGS, "trainer": "toy", "r": 16}, reg)
    # a run fills its job fields in, whatever the config type
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text("train: {trainer: toy, rounds: 7}\n", encoding="utf-8")
    run = load_run_config(yaml_file, reg)
    filled = run.train_config(tmp_path / "split", tmp_path / "out", resume=False, seed=4)
    assert type(filled) is ToyConfig and (filled.rounds, filled.seed) == (7, 4)
    assert filled.data == str(tmp_path / "split") and filled.model == run.model.name


def test_train_help_has_at_most_32_flags() -> None:
    """The common flags of every trainer's config, a recipe, a config file and ``--set``; a
    trainer's own parameters are not flags of the command (issue 31)."""
    import re

    r = run_cli("train", "--help")
    assert r.returncode == 0
    flags = [line for line in r.stdout.splitlines() if re.match(r"^\s+(-\w, )?--[a-z]", line)]
    assert 25 <= len(flags) <= 32, flags
    assert not any("head" in f.split()[0] for f in flags)
