"""Every user mistake gives one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli


def _one_clear_line(r, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    err = r.stderr.strip()
    for n in needles:
        assert n in err, err


def test_unknown_provider(split_dir: Path) -> None:
    r = run_cli("eval", "--provider", "gpt-17", "--data", str(split_dir))
    _one_clear_line(r, "unknown provider 'gpt-17'", "bizztune plugins")


def test_missing_provider_flag() -> None:
    _one_clear_line(run_cli("eval", "--task", "tickets"), "--provider is required")


def test_missing_data_file(tmp_path: Path) -> None:
    r = run_cli("eval", "--provider", "majority", "--data", str(tmp_path / "nope.jsonl"))
    _one_clear_line(r, "data not found", "nope.jsonl")


def test_unknown_task() -> None:
    _one_clear_line(
        run_cli("eval", "--provider", "majority", "--task", "nope"), "unknown task 'nope'"
    )


def test_bad_task_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "task.yaml"
    bad.write_text("name: x\nfields: [\n", encoding="utf-8")
    _one_clear_line(
        run_cli("eval", "--provider", "majority", "--task", str(bad)), "task.yaml", "invalid YAML"
    )


def test_bad_config_yaml(tmp_path: Path, split_dir: Path) -> None:
    cfg = tmp_path / "eval.yaml"
    cfg.write_text("provider: {name: majority}\nlimmit: 3\n", encoding="utf-8")
    _one_clear_line(run_cli("eval", "--config", str(cfg)), "eval.yaml", "unknown key 'limmit'")
    cfg.write_text("provider: [\n", encoding="utf-8")
    _one_clear_line(run_cli("eval", "--config", str(cfg)), "eval.yaml, line", "invalid YAML")


def test_bad_row_in_data(tmp_path: Path, split_dir: Path) -> None:
    test = split_dir / "test.jsonl"
    lines = test.read_text().splitlines()
    lines[1] = lines[1].replace('"urgency": "', '"urgency": "Sehr ')
    test.write_text("\n".join(lines) + "\n")
    r = run_cli("eval", "--provider", "majority", "--data", str(split_dir))
    _one_clear_line(r, "test.jsonl:2: field 'urgency'", "not in the taxonomy")


def test_bad_flag_value(split_dir: Path) -> None:
    r = run_cli("eval", "--provider", "majority", "--data", str(split_dir), "--limit", "0")
    _one_clear_line(r, "--limit must be a positive number")


def test_missing_api_key(split_dir: Path, tmp_path: Path) -> None:
    from bizztune.plugins import registry

    if "gpt-4" not in registry().aliases["provider"]:
        pytest.skip("the openai provider is not installed")
    r = run_cli(
        "eval",
        "--provider",
        "gpt-4",
        "--data",
        str(split_dir),
        "--limit",
        "2",
        "--out",
        str(tmp_path / "k"),
        cwd=tmp_path,
    )
    _one_clear_line(r, "OPENAI_API_KEY")


def test_help_is_fast_and_light() -> None:
    """--help must not import the heavy stack (torch, transformers, openai, datasets)."""
    import subprocess
    import sys

    code = (
        "import sys; from bizztune.cli import cli; "
        "import bizztune.plugins as p; p.registry(); "
        "heavy=[m for m in ('torch','transformers','openai','mistralai','litellm','datasets','sklearn') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
