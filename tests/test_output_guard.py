"""The output guard through every command that writes: an output that is, holds or lies inside
one of the command's inputs is one line naming the flag and the path, nothing is written; two
names of one output (a symlink) share one lock; a refused command leaves no folder behind.

    pytest tests/test_output_guard.py

The commands run in this process (``bizztune.cli.main.main``); every refusal comes before any
model loads, so the whole file takes seconds (tfidf and majority runs only).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from conftest import make_rows, write_jsonl


def invoke(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the CLI's main() on ``args``, in this process."""
    from bizztune.cli.main import main

    capfd.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out, err = capfd.readouterr()
    return code, out, err


def one_line(code: int, err: str, *needles: str) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert code != 0 and "Traceback" not in err and len(lines) == 1, err
    assert lines[0].startswith("error: "), lines[0]
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"
    return lines[0]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A split folder S and two finished eval runs of it, A and B (majority: every command is
    refused before it reads them, so the cheapest model does)."""
    from bizztune.core.interfaces import ProviderConfig
    from bizztune.eval.evaluate import EvalConfig

    from conftest import run_eval

    d = tmp_path_factory.mktemp("ws")
    rows = make_rows(n_per_cell=2)
    n = len(rows)
    s = d / "split"
    write_jsonl(s / "train.jsonl", rows[: int(0.7 * n)])
    write_jsonl(s / "val.jsonl", rows[int(0.7 * n) : int(0.8 * n)])
    write_jsonl(s / "test.jsonl", rows[int(0.8 * n) :])
    for label in ("A", "B"):
        run_eval(
            EvalConfig(provider=ProviderConfig(name="majority"), data=str(s), out=str(d / label))
        )
    (d / "dir").mkdir()
    return {"S": s, "A": d / "A", "B": d / "B", "D": d / "dir", "ws": d}


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (lock files too) and a hash of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# (case, argv, what the line must hold besides the flag); {S} split, {A} {B} eval runs, {D} a
# folder. Each output is, holds or lies inside an input of its command.
CLASHES = [
    ("split-out-holds-src", ["split", "{S}/test.jsonl", "--out", "{S}"],
     ("--out {S}:", "holds the input SRC {S}/test.jsonl")),
    ("split-out-is-src", ["split", "{S}/test.jsonl", "--out", "{S}/test.jsonl"],
     ("'--out'", "{S}/test.jsonl", "is a file")),
    ("eval-out-is-data", ["eval", "--provider", "tfidf", "--data", "{S}", "--out", "{S}"],
     ("--out {S}:", "is the input --data")),
    ("eval-out-in-train-data", ["eval", "--provider", "tfidf", "--data", "tickets:foreign",
                                "--train-data", "{S}", "--out", "{S}/e"],
     ("--out {S}/e:", "lies inside the input --train-data {S}")),
    ("report-o-in-run", ["report", "{A}", "{B}", "-o", "{A}/predictions.jsonl"],
     ("--out {A}/predictions.jsonl:", "lies inside the input RUN_DIRS {A}")),
    ("report-o-folder", ["report", "{A}", "{B}", "-o", "{D}"], ("--out {D}:", "is a folder")),
    ("plan-o-in-run", ["plan", "{A}", "{B}", "-o", "{B}/plan.md"],
     ("--out {B}/plan.md:", "lies inside the input RUN_B {B}")),
    ("plan-o-folder", ["plan", "{A}", "{B}", "-o", "{D}"], ("--out {D}:", "is a folder")),
    ("compare-data-o-in-train", ["compare-data", "{S}", "test", "-o", "{S}/shift.md"],
     ("--out {S}/shift.md:", "lies inside the input TRAIN {S}")),
    ("combine-out-is-run", ["combine", "{A}", "{B}", "--out", "{A}"],
     ("--out {A}:", "is the input RUNS {A}")),
    ("combine-out-in-run", ["combine", "{A}", "{B}", "--out", "{B}/both"],
     ("--out {B}/both:", "lies inside the input RUNS {B}")),
    ("export-out-in-adapter", ["export", "{A}", "--out", "{A}/merged"],
     ("--out {A}/merged:", "lies inside the input ADAPTER {A}")),
    ("train-out-in-data", ["train", "--data", "{S}", "--model", "{D}/none", "--out", "{S}/t"],
     ("--out {S}/t:", "lies inside the input --data {S}")),
    ("train-head-out-in-data", ["train", "--trainer", "head", "--data", "{S}",
                                "--model", "{D}/none", "--out", "{S}/t"],
     ("--out {S}/t:", "lies inside the input --data {S}")),
    ("sweep-out-is-data", ["sweep", "--data", "{S}", "--model", "{D}/none", "--out", "{S}",
                           "--grid", "r=4"],
     ("--out {S}:", "is the input --data {S}")),
    ("run-out-holds-data", ["run", "--data", "{S}/train.jsonl", "--out", "{S}"],
     ("--out {S}:", "holds the input --data {S}/train.jsonl")),
]  # fmt: skip


def fill(text: str, ws: dict[str, Path]) -> str:
    for k in ("S", "A", "B", "D"):
        text = text.replace("{" + k + "}", str(ws[k]))
    return text


@pytest.mark.parametrize(("argv", "needles"), [c[1:] for c in CLASHES], ids=[c[0] for c in CLASHES])
def test_an_output_over_an_input_is_refused_and_nothing_is_written(
    ws: dict[str, Path], capfd: pytest.CaptureFixture[str], argv: list[str], needles: Any
) -> None:
    before = snapshot(ws["ws"])
    code, _, err = invoke(capfd, *(fill(a, ws) for a in argv))
    one_line(code, err, *(fill(n, ws) for n in needles))
    assert snapshot(ws["ws"]) == before  # not a byte, nor a lock file


# (case, argv with {OUT} for the output, whether the output is a folder). A model that does not
# exist keeps a trainer that missed its guard from training: it fails at once, not minutes later.
WRITERS = [
    ("generate", ["generate", "-n", "5", "--out", "{OUT}"], False),
    ("split", ["split", "{S}/train.jsonl", "--out", "{OUT}"], True),
    ("eval", ["eval", "--provider", "majority", "--data", "{S}", "--out", "{OUT}"], True),
    ("report", ["report", "{A}", "{B}", "-o", "{OUT}"], False),
    ("plan", ["plan", "{A}", "{B}", "-o", "{OUT}"], False),
    ("compare-data", ["compare-data", "{S}", "test", "-o", "{OUT}"], False),
    ("combine", ["combine", "{A}", "{B}", "--out", "{OUT}"], True),
    ("export", ["export", "{A}", "--out", "{OUT}"], True),
    ("train", ["train", "--data", "{S}", "--model", "{D}/none", "--out", "{OUT}"], True),
    ("train-head", ["train", "--trainer", "head", "--data", "{S}", "--model", "{D}/none",
                    "--out", "{OUT}"], True),
    ("sweep", ["sweep", "--data", "{S}", "--model", "{D}/none", "--out", "{OUT}",
               "--grid", "r=4"], True),
    ("run", ["run", "--data", "{S}/train.jsonl", "--out", "{OUT}"], True),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "folder"), [c[1:] for c in WRITERS], ids=[c[0] for c in WRITERS])
def test_two_names_of_one_output_share_its_lock(
    ws: dict[str, Path],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    argv: list[str],
    folder: bool,
) -> None:
    """Another process writes the real output (its lock held here); the command, given a
    symlink to it, fails at once with the name it was given."""
    from bizztune.data.locks import output_lock

    suffix = "" if folder else ".jsonl" if argv[0] == "generate" else ".md"
    real, link = tmp_path / f"real{suffix}", tmp_path / f"link{suffix}"
    if folder:
        real.mkdir()
    link.symlink_to(real, target_is_directory=folder)
    with output_lock(real, folder=folder):
        code, _, err = invoke(capfd, *(fill(a, ws).replace("{OUT}", str(link)) for a in argv))
    one_line(code, err, f"--out {link}:", "another bizztune process is writing it")
    assert [p.name for p in real.iterdir()] == [".bizztune.lock"] if folder else not real.exists()


def test_generate_through_a_symlink_writes_the_real_file(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    real, link = tmp_path / "g.jsonl", tmp_path / "l.jsonl"
    link.symlink_to(real)
    assert invoke(capfd, "generate", "-n", "20", "--out", str(link))[0] == 0
    assert link.is_symlink() and len(real.read_text(encoding="utf-8").splitlines()) == 20
    assert (tmp_path / ".g.jsonl.lock").exists() and not (tmp_path / ".l.jsonl.lock").exists()


REFUSED = [
    # a fitted provider without a train split: refused after the folder was claimed
    ("eval", ["eval", "--provider", "tfidf", "--data", "tickets:foreign", "--out", "{T}/new/e"]),
    ("split", ["split", "{T}/bad.jsonl", "--out", "{T}/new/s"]),
    ("combine", ["combine", "{A}", "{T}/bad.jsonl", "--out", "{T}/new/c"]),
]


@pytest.mark.parametrize("argv", [c[1] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_a_refused_command_leaves_no_folder(
    ws: dict[str, Path], tmp_path: Path, capfd: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    (tmp_path / "bad.jsonl").write_text('{"id": "x"}\n', encoding="utf-8")
    code, _, err = invoke(capfd, *(fill(a, ws).replace("{T}", str(tmp_path)) for a in argv))
    one_line(code, err)
    assert not (tmp_path / "new").exists()
