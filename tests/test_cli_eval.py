"""`bizztune eval` and `bizztune report` end to end through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import run_cli


def _eval(split_dir: Path, out: Path, provider: str, *extra: str) -> dict:  # type: ignore[type-arg]
    r = run_cli(
        "eval",
        "--provider",
        provider,
        "--task",
        "tickets",
        "--data",
        str(split_dir),
        "--out",
        str(out),
        *extra,
    )
    assert r.returncode == 0, r.stderr
    return json.loads((out / "metrics.json").read_text())


def test_eval_writes_run_directory(split_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "tfidf"
    m = _eval(split_dir, out, "tfidf")
    n_test = sum(1 for _ in (split_dir / "test.jsonl").open())
    assert m["n"] == n_test
    # the hand-written set is learnable: tf-idf beats chance (1/11) by far on subcategory
    assert m["fields"]["subcategory"]["accuracy"] > 0.5
    assert m["invalid_rate"] == 0.0 and m["hierarchy_consistency"] == 1.0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["eval"]["provider"]["name"] == "tfidf" and cfg["eval"]["split"] == "test"
    assert cfg["schema_version"] == 1 and cfg["bizztune_version"]
    preds = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == n_test
    p = preds[0]
    assert set(p) >= {"id", "raw", "parsed", "gold", "latency_s", "prompt_tokens", "correct"}
    assert json.loads(p["raw"]) == p["parsed"]
    report = (out / "report.md").read_text()
    assert "| Model | Category Accuracy | Subcategory Accuracy | Urgency Accuracy |" in report
    assert "95% CI" in report


def test_eval_resumes_without_redoing_items(split_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "maj"
    _eval(split_dir, out, "majority", "--limit", "5")
    lines = (out / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 5
    # simulate a crash that cut the last line in half, then rerun with a larger limit
    (out / "predictions.jsonl").write_text("\n".join(lines[:4]) + "\n" + lines[4][:10])
    m = _eval(split_dir, out, "majority", "--limit", "5")
    ids = [
        json.loads(x)["id"]
        for x in (out / "predictions.jsonl").read_text().splitlines()
        if x.startswith("{") and x.endswith("}")
    ]
    assert m["n"] == 5 and len(ids) == len(set(ids)) == 5


def test_eval_per_field_calls_and_compact_prompt(split_dir: Path, tmp_path: Path) -> None:
    m = _eval(split_dir, tmp_path / "pf", "tfidf", "--calls", "per-field", "--style", "compact")
    cfg = json.loads((tmp_path / "pf" / "config.json").read_text())
    assert cfg["eval"]["calls"] == "per-field" and cfg["eval"]["style"] == "compact"
    pred = json.loads((tmp_path / "pf" / "predictions.jsonl").read_text().splitlines()[0])
    assert set(pred["raw"]) == {"category", "subcategory", "urgency"}  # one raw answer per call
    assert m["invalid_rate"] == 0.0


def test_report_compares_runs_with_mcnemar(split_dir: Path, tmp_path: Path) -> None:
    _eval(split_dir, tmp_path / "a", "majority")
    _eval(split_dir, tmp_path / "b", "tfidf")
    out = tmp_path / "cmp.md"
    r = run_cli("report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    md = out.read_text()
    assert "## Accuracy Comparison" in md and "McNemar p" in md
    row = next(line for line in md.splitlines() if line.startswith("| tfidf") and "p=" in line)
    # tf-idf is far better than majority on subcategory: the test must find it significant
    assert "*" in row.split("|")[4]


def test_eval_with_yaml_config_and_flag_override(split_dir: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "eval.yaml"
    cfg.write_text(f"data: {split_dir}\nlimit: 3\nprovider:\n  name: majority\n", encoding="utf-8")
    r = run_cli("eval", "--config", str(cfg), "--limit", "4", "--out", str(tmp_path / "y"))
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "y" / "metrics.json").read_text())["n"] == 4


def test_run_names_tell_base_quantization_adapter_and_decoding_apart() -> None:
    """Two evaluations of one adapter, on a 4-bit and a 16-bit base, must not share a row name
    in `bizztune report`."""
    from bizztune.core.interfaces import ProviderConfig
    from bizztune.eval.evaluate import EvalConfig, display_name

    def name(**kw: Any) -> str:
        p = ProviderConfig(name="hf", model="smollm2-135m", decoding="constrained", **kw)
        return display_name(EvalConfig(provider=p))

    nf4 = name(adapter="runs/train/qlora", load_in_4bit=True)
    bf16 = name(adapter="runs/train/qlora")
    assert nf4 == "hf (smollm2-135m) nf4 + qlora [constrained]"
    assert bf16 == "hf (smollm2-135m) + qlora [constrained]"
