"""Default output names carry everything that tells two outputs apart: documented commands run
one after another, without --out, never meet in one folder or file.

    pytest tests/test_default_names.py

README's and docs/data.md's command lists, in order, on small data (tfidf and majority only).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_output_guard import invoke


def ok(capfd: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = invoke(capfd, *args)
    assert code == 0, err
    return out


def test_readme_eval_commands_run_in_order_without_a_collision(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ok(capfd, "generate", "--task", "tickets", "-n", "200", "--out", "data/tickets.jsonl")
    ok(capfd, "split", "data/tickets.jsonl", "--out", "data/split")
    ok(capfd, "generate", "-n", "200", "--seed", "1", "--out", "data/more.jsonl")
    ok(capfd, "split", "data/more.jsonl", "--out", "data/more-split")
    # README's are tfidf; majority learns from --train-data the same way, in a fraction of
    # the time, and the names do not depend on the provider's kind
    commands = [
        ["--provider", "majority", "--task", "tickets", "--data", "data/split"],
        ["--provider", "majority", "--data", "tickets:foreign", "--train-data", "data/split"],
        ["--provider", "majority", "--data", "tickets:foreign", "--train-data", "data/more-split"],
        ["--provider", "majority", "--data", "data/more-split"],
        ["--provider", "majority", "--data", "data/split", "--limit", "5"],
        ["--provider", "majority", "--data", "data/split", "--style", "compact"],
    ]
    folders = []
    for args in commands:
        folders.append(ok(capfd, "eval", *args).strip().splitlines()[-1])
    assert len(set(folders)) == len(commands), folders
    assert all(f.startswith("run directory: runs/eval/tickets-") for f in folders)
    assert "-foreign-" in folders[1] and "-on-split-" in folders[1]
    # the first command again resumes its own folder, not another
    assert ok(capfd, "eval", *commands[0]).strip().splitlines()[-1] == folders[0]


def test_docs_generate_commands_run_in_order_without_a_collision(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    variants = [
        [],
        ["--generator-option", "prior=uniform"],
        ["--generator-option", "prior=realistic"],
    ]
    for extra in variants:
        ok(capfd, "generate", "-n", "30", *extra)
    names = sorted(p.name for p in (tmp_path / "data").glob("*.jsonl"))
    assert names == [
        "tickets-offline-n30-seed0.jsonl",
        "tickets-offline-prior-realistic-n30-seed0.jsonl",
        "tickets-offline-prior-uniform-n30-seed0.jsonl",
    ]
