"""Trained adapters (LoRA and heads) as users serve and evaluate them: asked in the prompt
style they were trained on wherever the request comes from, loaded from their base by name
after BIZZTUNE_HOME moved.

    pytest tests/test_serve_adapter.py

One tiny model, written as a GGUF file (a model ``resolve_model`` converts into
``BIZZTUNE_HOME``, as it does the embedded ones), one LoRA adapter trained on it with the
default (compact) prompt in one home, a head adapter beside it; the home is then moved, and
``bizztune serve --adapter`` runs without ``--model``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from test_serve import Server, serving

from conftest import make_rows, run_cli, write_jsonl

KEY = "sk-adapter-test"


@dataclass
class Served:
    server: Server
    adapter: Path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A LoRA and a head adapter on tiny.gguf trained in home ``a``, then moved to ``b``."""
    from bizztune.testing import make_tiny_model
    from bizztune.trainers.gguf_export import export_gguf

    d = tmp_path_factory.mktemp("adapter")
    rows = make_rows(2, seed=5)
    tiny = make_tiny_model(d / "tiny", texts=[r["description"] for r in rows])
    gguf = export_gguf(str(tiny), None, d / "tiny.gguf", "f16")
    split = d / "split"
    write_jsonl(split / "train.jsonl", rows[16:])
    write_jsonl(split / "test.jsonl", rows[:16])
    for trainer in ("lora", "head"):
        r = run_cli(
            "train", "--trainer", trainer, "--model", str(gguf), "--data", str(split),
            "--out", str(d / "run" / trainer), "--max-steps", "8", "--lr", "5e-3",
            "--batch-size", "4", "--eval-steps", "0", "--set", "bf16=false", "--threads", "2",
            env={"BIZZTUNE_HOME": str(d / "home-a")},
        )  # fmt: skip
        assert r.returncode == 0, r.stderr[-3000:]
    shutil.move(d / "home-a", d / "home-b")  # the run folder now lives with another home
    return {"gguf": gguf, "split": split, "run": d / "run", "home": d / "home-b"}


@pytest.fixture(scope="module", params=["lora", "head"])
def served(request: pytest.FixtureRequest, trained: dict[str, Path]) -> Iterator[Served]:
    # no --model: the adapter names its base, which must resolve in the new home; float32,
    # where an item's answer does not depend on the batch it shares (docs/serving.md)
    adapter = trained["run"] / request.param
    with serving(
        None, trained["home"], "--adapter", str(adapter), "--dtype", "float32",
        "--max-wait-ms", "50", key=KEY,
    ) as srv:  # fmt: skip
        yield Served(srv, adapter)


def eval_run(trained: dict[str, Path], out: Path, *args: str) -> Any:
    r = run_cli(
        "eval", "--data", str(trained["split"]), "--decoding", "constrained", "--dtype",
        "float32", "--out", str(out), *args,
        env={"BIZZTUNE_HOME": str(trained["home"]), "OPENAI_API_KEY": KEY},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def predictions(run: Path) -> dict[str, dict[str, Any]]:
    lines = (run / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    return {p["id"]: p for p in map(json.loads, lines)}


def test_an_adapter_records_its_base_as_given_and_serves_after_the_home_moved(
    trained: dict[str, Path], served: Served
) -> None:
    import httpx

    server = served.server
    cfg = json.loads((served.adapter / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == str(trained["gguf"])  # not home-a's copy
    health = httpx.get(server.url + "/health", timeout=10).json()
    assert health["base_model"] == "tiny.gguf" and health["style"] == "compact"
    assert "home-a" not in server.output()


def test_the_served_adapter_answers_the_same_whatever_style_the_client_sends(
    trained: dict[str, Path], served: Served, tmp_path: Path
) -> None:
    """The documented recipe (eval --provider openai, its default --style long) against an
    adapter trained on the compact prompt answers what the in-process eval answers."""
    server, adapter = served.server, served.adapter
    local = eval_run(trained, tmp_path / "local", "--provider", "hf", "--model",
                     str(trained["gguf"]), "--adapter", str(adapter))  # fmt: skip
    assert "warning" not in local.stderr
    assert json.loads((tmp_path / "local" / "config.json").read_text())["eval"]["style"] == (
        "compact"
    )  # the adapter's style is eval's default, as serve's
    want = predictions(tmp_path / "local")
    for style in ("long", "compact"):
        out = tmp_path / f"served-{style}"
        eval_run(trained, out, "--provider", "openai", "--base-url", server.url + "/v1",
                 "--model", adapter.name, "--concurrency", "4", "--style", style)  # fmt: skip
        got = predictions(out)
        assert got.keys() == want.keys() and len(got) == 16
        for item, p in want.items():
            assert got[item]["parsed"] == p["parsed"], (style, item)
            for f, dist in p["probs"].items():
                assert got[item]["probs"][f] == pytest.approx(dist, rel=1e-3, abs=1e-5), (style, f)


def test_eval_asks_an_adapter_in_its_style_and_an_explicit_other_style_warns(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    common = ["--provider", "hf", "--model", str(trained["gguf"]), "--adapter",
              str(trained["run"] / "lora"), "--limit", "2"]  # fmt: skip
    r = eval_run(trained, tmp_path / "default", *common)
    assert "warning" not in r.stderr  # the adapter's style is eval's default, as serve's
    assert json.loads((tmp_path / "default" / "config.json").read_text())["eval"]["style"] == (
        "compact"
    )
    r = eval_run(trained, tmp_path / "long", *common, "--style", "long")
    warnings = [x for x in r.stderr.splitlines() if x.startswith("warning:")]
    assert len(warnings) == 1, r.stderr[-3000:]
    assert warnings[0].startswith("warning: --style long: the adapter")
    assert "trained on the compact prompt" in warnings[0]
    assert json.loads((tmp_path / "long" / "config.json").read_text())["eval"]["style"] == "long"
