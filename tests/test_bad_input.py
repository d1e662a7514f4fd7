"""Bad input through the real CLI: every case exits non-zero with exactly one line that names the
file, line, field or flag, never a traceback; the valid variants pass.

    pytest tests/test_bad_input.py

The text files of the corpus are in ``tests/bad_inputs/`` (written byte for byte: BOMs and CRLF
line ends are part of them); the binary ones (UTF-16, Latin-1, random bytes, a cut UTF-8
character) are made by the ``corpus`` fixture. Each data file goes through eval, split and
train; task files and flags through generate and eval. The CLI runs in this process
(``bizztune.cli.main.main``, the console script's function): an exception it does not turn into
a line escapes and fails the test, as it would print a traceback for a user. Two cases also
run as a real subprocess.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import make_rows, run_cli, write_jsonl

CORPUS = Path(__file__).parent / "bad_inputs"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed corpus plus the binary files, generated here."""
    from bizztune.core.interfaces import ProviderConfig
    from bizztune.eval.evaluate import EvalConfig

    from conftest import run_eval

    d = tmp_path_factory.mktemp("corpus")
    for f in CORPUS.iterdir():
        shutil.copy(f, d / f.name)
    text = (CORPUS / "valid.jsonl").read_text(encoding="utf-8")
    csv_text = (CORPUS / "semicolon.csv").read_text(encoding="utf-8")
    (d / "utf16.jsonl").write_bytes(text.encode("utf-16"))
    (d / "utf16.csv").write_bytes(csv_text.encode("utf-16"))
    (d / "latin1.jsonl").write_bytes(text.encode("latin-1"))
    (d / "latin1.csv").write_bytes(csv_text.encode("cp1252"))
    rng = random.Random(0)
    (d / "random.jsonl").write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    (d / "random-no-nul.jsonl").write_bytes(bytes(rng.randrange(1, 256) for _ in range(4096)))
    raw = text.encode("utf-8")
    cut = raw.rindex("ö".encode()) + 1  # the last line ends inside an umlaut
    (d / "torn-utf8.jsonl").write_bytes(raw[:cut])
    (d / "task-latin1.yaml").write_bytes(
        (CORPUS / "task-valid.yaml").read_text(encoding="utf-8").replace("Geld", "Geld für Ärger")
        .encode("latin-1")
    )  # fmt: skip
    # folders: a split directory without a test split, and a damaged datasets folder
    (d / "no-test-split").mkdir()
    shutil.copy(CORPUS / "valid.jsonl", d / "no-test-split" / "train.jsonl")
    (d / "damaged-hf").mkdir()
    (d / "damaged-hf" / "dataset_dict.json").write_bytes(b"\x00\x01garbage")
    # outputs that are not what bizztune writes there
    (d / "garbage-out.jsonl").write_bytes(bytes(rng.randrange(256) for _ in range(512)) + b"\n")
    (d / "foreign-eval").mkdir()
    (d / "foreign-eval" / "config.json").write_bytes(b"\xff\xfe not json")
    (d / "foreign-train").mkdir()
    (d / "foreign-train" / "train_config.json").write_text("{not json", encoding="utf-8")
    (d / "a-file").write_text("not a folder\n", encoding="utf-8")
    (d / "user-folder").mkdir()
    (d / "user-folder" / "notes.txt").write_text("mine\n", encoding="utf-8")
    # what is not a data file, or too large to be one: refused before it is read
    (d / "zero.jsonl").symlink_to("/dev/zero")
    os.mkfifo(d / "fifo.jsonl")  # reading it would wait for a writer for ever
    with (d / "big.jsonl").open("wb") as fh:
        fh.truncate(300_000_000)  # sparse: 300 MB on paper, nothing on disk
    row = json.loads(text.splitlines()[1])
    long_field = text.splitlines()[0] + "\n" + json.dumps({**row, "description": "x" * 150_000})
    (d / "long-field.jsonl").write_text(long_field + "\n", encoding="utf-8")
    (d / "long-line.jsonl").write_text(json.dumps({**row, "notes": "y" * 2_000_000}) + "\n")
    # eval runs: of the valid rows, of other rows (no item shared), one whose predictions
    # were emptied after it was scored
    write_jsonl(d / "train-rows.jsonl", make_rows(n_per_cell=1))
    other = [{**r, "id": f"o{i}"} for i, r in enumerate(make_rows(n_per_cell=1, seed=1)[:8])]
    write_jsonl(d / "other-rows.jsonl", other)
    for name, data in (("run-valid", "valid.jsonl"), ("run-other", "other-rows.jsonl")):
        run_eval(EvalConfig(provider=ProviderConfig(name="majority"), data=str(d / data),
                            train_data=str(d / "train-rows.jsonl"), out=str(d / name)))  # fmt: skip
    shutil.copytree(d / "run-valid", d / "run-emptied")
    (d / "run-emptied" / "predictions.jsonl").write_bytes(b"")
    return d


@pytest.fixture(scope="module")
def train_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small labelled training file: what a baseline fits on where the data read is what a
    test is about (the embedded default set would be generated again for every test, since each
    test has its own cache home)."""
    return str(write_jsonl(tmp_path_factory.mktemp("train") / "train.jsonl", make_rows(2)))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tiny models of different widths and a LoRA adapter made on the first."""
    pytest.importorskip("peft")
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from bizztune.testing import make_tiny_model

    d = tmp_path_factory.mktemp("models")
    a = make_tiny_model(d / "tiny-a")
    b = make_tiny_model(d / "tiny-b", hidden=32)
    lora = LoraConfig(r=2, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    get_peft_model(AutoModelForCausalLM.from_pretrained(str(a)), lora).save_pretrained(
        str(d / "adapter-a")
    )
    return {"a": a, "b": b, "adapter": d / "adapter-a"}


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


def assert_one_line(code: int, err: str, needles: tuple[str, ...]) -> None:
    lines = [x for x in err.splitlines() if x.strip()]
    assert code != 0, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), lines[0]
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"


# -- data files: each through eval, split and train ---------------------------------------------
BAD_DATA = [
    ("utf16.jsonl", ("utf16.jsonl", "UTF-16")),
    ("utf16.csv", ("utf16.csv", "UTF-16")),
    ("latin1.jsonl", ("latin1.jsonl:1", "not UTF-8", "byte 0xe4")),
    ("latin1.csv", ("latin1.csv:2", "not UTF-8")),
    ("random.jsonl", ("random.jsonl:", "not a text file")),
    ("random-no-nul.jsonl", ("random-no-nul.jsonl:1", "not UTF-8")),
    ("torn-utf8.jsonl", ("torn-utf8.jsonl:8", "not UTF-8")),
    ("invalid-json.jsonl", ("invalid-json.jsonl:3", "invalid JSON")),
    ("json-array.json", ("json-array.json:1", "JSON array")),
    ("not-an-object.jsonl", ("not-an-object.jsonl:4", "expected an object")),
    ("missing-field.jsonl", ("missing-field.jsonl:4", "field 'description' is missing")),
    ("field-not-text.jsonl", ("field-not-text.jsonl:2", "field 'description' must be text")),
    ("empty-inputs.jsonl", ("empty-inputs.jsonl:5", "all input fields are empty")),
    ("missing-label.jsonl", ("missing-label.jsonl:6", "field 'urgency' is missing")),
    (
        "label-typo.jsonl",
        ("label-typo.jsonl:2", "'Softwarefehlr'", "did you mean 'Softwarefehler'"),
    ),
    ("label-unknown.jsonl", ("label-unknown.jsonl:3", "field 'category'", "'Billing'")),
    ("labels-inconsistent.jsonl", ("labels-inconsistent.jsonl:1", "inconsistent")),
    ("duplicate-id.jsonl", ("duplicate-id.jsonl:7", "duplicate id 'r2'")),
    ("empty.jsonl", ("empty.jsonl", "no rows")),
    ("blank-lines.jsonl", ("blank-lines.jsonl", "no rows")),
    ("unsupported.txt", ("unsupported.txt", "unsupported data format '.txt'")),
    ("one-column.csv", ("one-column.csv:1", "one column", "';'")),
    ("missing-column.csv", ("missing-column.csv:2", "field 'urgency' is missing")),
    ("label-unknown.csv", ("label-unknown.csv:5", "'hoch!'", "did you mean 'Hoch'")),
    ("damaged-hf", ("damaged-hf", "datasets folder")),
    ("extra-cells.csv", ("extra-cells.csv:3", "1 more cell(s) than the header's 8 columns")),
    ("zero.jsonl", ("zero.jsonl", "not a regular file (a link to /dev/zero, a character device)")),
    ("fifo.jsonl", ("fifo.jsonl", "not a regular file (a named pipe)")),
    ("big.jsonl", ("big.jsonl", "300 MB, more than the 256 MB", "BIZZTUNE_MAX_DATA_MB")),
    ("long-field.jsonl", ("long-field.jsonl:2", "'description' is 150,000 characters", "100,000")),
    ("long-line.jsonl", ("long-line.jsonl:1", "a line longer than 1,048,576 bytes")),
    ("nope.jsonl", ("nope.jsonl", "not found")),
]


@pytest.mark.parametrize(("name", "needles"), BAD_DATA, ids=[c[0] for c in BAD_DATA])
def test_bad_data_file(
    corpus: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str], name: str, needles: Any
) -> None:
    data = str(corpus / name)
    out = tmp_path / "out"
    for args in (
        ("eval", "--provider", "majority", "--data", data, "--out", str(out / "eval")),
        ("split", data, "--out", str(out / "split")),
        (
            "train",
            "--recipe",
            "none",
            "--data",
            data,
            "--out",
            str(out / "train"),
            "--max-steps",
            "1",
        ),
    ):
        code, _, err = invoke(capfd, *args)
        assert_one_line(code, err, needles)
    assert not (out / "split" / "train.jsonl").exists()


VALID = ["valid.jsonl", "bom.jsonl", "crlf.jsonl", "bom.csv", "bom-semicolon.csv", "semicolon.csv",
         "tab.csv"]  # fmt: skip


@pytest.mark.parametrize("name", VALID)
def test_valid_variants_pass_and_keep_their_ids(
    corpus: Path, train_file: str, tmp_path: Path, capfd: pytest.CaptureFixture[str], name: str
) -> None:
    data = str(corpus / name)
    code, _, err = invoke(capfd, "eval", "--provider", "majority", "--data", data,
                          "--train-data", train_file, "--out", str(tmp_path / "eval"))  # fmt: skip
    assert code == 0, err
    preds = (tmp_path / "eval" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(x)["id"] for x in preds) == [f"r{i}" for i in range(1, 9)]
    code, _, err = invoke(capfd, "split", data, "--out", str(tmp_path / "split"))
    assert code == 0, err
    ids = [
        json.loads(line)["id"]
        for s in ("train", "val", "test")
        for line in (tmp_path / "split" / f"{s}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert sorted(ids) == [f"r{i}" for i in range(1, 9)]  # the BOM did not eat the id column


def test_valid_semicolon_csv_with_bom_trains(
    corpus: Path, models: dict[str, Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(
        capfd, "train", "--recipe", "none", "--model", str(models["a"]), "--data", str(corpus / "bom-semicolon.csv"),
        "--out", str(tmp_path / "t"), "--max-steps", "1", "--eval-steps", "0", "--set", "bf16=false",
        "--batch-size", "2", "--threads", "2",
    )  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "t" / "adapter_model.safetensors").is_file()
    assert "Traceback" not in err and "kernels" not in err


# -- task files, flags and outputs ---------------------------------------------------------------
TASK_CASES = [
    ("task-generater.yaml", ("task-generater.yaml", "unknown key 'generater'", "did you mean 'generator'?")),
    ("task-one-label.yaml", ("task-one-label.yaml", "field 'topic'", "one label")),
    ("task-rubric-typo.yaml", ("task-rubric-typo.yaml", "'Hcoh'", "did you mean 'Hoch'?")),
    ("task-hierarchy-typo.yaml", ("task-hierarchy-typo.yaml", "'Gled'", "did you mean 'Geld'?")),
    ("task-prompt-key.yaml", ("task-prompt-key.yaml", "unknown key 'lnog'", "did you mean 'long'?")),
    ("task-field-key.yaml", ("task-field-key.yaml", "unknown key 'lables'", "did you mean 'labels'?")),
    ("task-children-text.yaml", ("task-children-text.yaml", "hierarchy 'Geld' must be a list")),
    ("task-bad-yaml.yaml", ("task-bad-yaml.yaml, line", "invalid YAML")),
    ("task-not-mapping.yaml", ("task-not-mapping.yaml", "must be a YAML mapping")),
    ("task-latin1.yaml", ("task-latin1.yaml, line 9", "not UTF-8")),
    ("task-nope.yaml", ("task-nope.yaml", "not found")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "needles"), TASK_CASES, ids=[c[0] for c in TASK_CASES])
def test_bad_task_file(
    corpus: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str], name: str, needles: Any
) -> None:
    task = str(corpus / name)
    data = str(corpus / "valid.jsonl")
    for args in (
        ("generate", "--task", task, "-n", "5", "--out", str(tmp_path / "g.jsonl")),
        ("eval", "--task", task, "--provider", "majority", "--data", data,
         "--out", str(tmp_path / "e")),
    ):  # fmt: skip
        code, _, err = invoke(capfd, *args)
        assert_one_line(code, err, needles)


def _flag_cases() -> list[tuple[str, list[str], tuple[str, ...]]]:
    v, c = "{c}/valid.jsonl", "{c}"
    ev = ["eval", "--provider", "majority", "--train-data", "default", "--data", v]
    return [
        ("eval-limit-0", [*ev, "--limit", "0"], ("--limit must be a positive",)),
        ("eval-limit-text", [*ev, "--limit", "many"], ("'--limit'", "'many'", "bizztune eval --help")),
        ("eval-unknown-provider", ["eval", "--provider", "gpt-17", "--data", v], ("unknown provider 'gpt-17'",)),
        ("eval-no-provider", ["eval", "--data", v], ("--provider is required",)),
        ("eval-calls", [*ev, "--calls", "every"], ("'--calls'", "'every'")),
        ("eval-split-missing", ["eval", "--provider", "majority", "--data", f"{c}/no-test-split"],
         ("no-test-split", "no test.jsonl")),
        ("eval-config-key", ["eval", "--config", f"{c}/eval-unknown-key.yaml", "--data", v],
         ("eval-unknown-key.yaml", "unknown key 'limmit'")),
        ("eval-foreign-out", [*ev, "--out", f"{c}/foreign-eval"],
         ("foreign-eval/config.json", "not an eval run's config", "not UTF-8")),
        ("eval-out-is-a-file", [*ev, "--out", f"{c}/a-file/run"], ("a-file",)),
        ("split-ratios-two", ["split", v, "--ratios", "0.5,0.5"], ("--ratios must be three",)),
        ("split-ratios-train-0", ["split", v, "--ratios", "0,0.5,0.5"], ("--ratios", "train share")),
        ("split-src-missing", ["split", f"{c}/nope.jsonl"], ("nope.jsonl", "not found")),
        ("split-three-rows", ["split", f"{c}/three-rows.jsonl", "--out", "{t}/s"],
         ("three-rows.jsonl: 3 rows are too few to split 0.8,0.1,0.1", "at least 7 rows")),
        ("split-folder", ["split", f"{c}/user-folder", "--out", "{t}/s"],
         ("user-folder: a folder, but not a datasets folder",)),
        ("generate-n-0", ["generate", "-n", "0", "--out", "{t}/g.jsonl"], ("-n must be at least 1",)),
        ("generate-out-csv", ["generate", "-n", "5", "--out", "{t}/g.csv"], ("--out must be a .jsonl",)),
        ("generate-out-garbage", ["generate", "-n", "5", "--out", f"{c}/garbage-out.jsonl"],
         ("garbage-out.jsonl:1", "not a JSON row")),
        ("generate-out-other-seed", ["generate", "-n", "10", "--seed", "1", "--out", f"{c}/valid.jsonl"],
         ("valid.jsonl:1", "differs from what seed 1 generates")),
        ("train-max-steps-0", ["train", "--recipe", "none", "--max-steps", "0", "--data", v], ("--max-steps",)),
        ("train-lr", ["train", "--recipe", "none", "--lr", "2", "--data", v], ("--learning-rate 2.0",)),
        ("train-style", ["train", "--recipe", "none", "--style", "tiny", "--data", v], ("'--style'", "'tiny'")),
        ("train-resume-foreign", ["train", "--recipe", "none", "--resume", "--data", v, "--out", f"{c}/foreign-train"],
         ("foreign-train/train_config.json", "damaged")),
        ("run-config-key", ["run", "--config", f"{c}/run-unknown-key.yaml"],
         ("run-unknown-key.yaml", "max_step")),
        ("run-stages", ["run", "--stages", "train,nope", "--out", "{t}/r"], ("--stages", "'nope'")),
        ("run-foreign-folder", ["run", "--out", f"{c}/user-folder"],
         ("user-folder", "not a bizztune run folder")),
        ("report-not-a-run", ["report", f"{c}/foreign-eval"], ("foreign-eval", "no metrics.json")),
        ("report-nothing-shared", ["report", f"{c}/run-valid", f"{c}/run-other"],
         ("run-valid and", "run-other share no scored item")),
        ("report-emptied", ["report", f"{c}/run-emptied"],
         ("run-emptied/predictions.jsonl: 0 records for the 8 items", "rerun the same")),
        ("plan-emptied", ["plan", f"{c}/run-valid", f"{c}/run-emptied"],
         ("run-emptied/predictions.jsonl: 0 records",)),
        ("plan-nothing-shared", ["plan", f"{c}/run-valid", f"{c}/run-other"],
         ("share no scored item",)),
    ]  # fmt: skip


FLAG_CASES = _flag_cases()


@pytest.mark.parametrize(("argv", "needles"), [c[1:] for c in FLAG_CASES],
                         ids=[c[0] for c in FLAG_CASES])  # fmt: skip
def test_bad_flag_or_output(
    corpus: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    needles: Any,
) -> None:
    monkeypatch.chdir(tmp_path)
    args = [a.replace("{c}", str(corpus)).replace("{t}", str(tmp_path)) for a in argv]
    code, _, err = invoke(capfd, *args)
    assert_one_line(code, err, needles)


RUN_DATA = [
    ("folder", "user-folder", ("user-folder: a folder, but not a datasets folder",)),
    ("extra-cells", "extra-cells.csv", ("extra-cells.csv:3", "1 more cell(s) than the header's")),
    ("three-rows", "three-rows.jsonl", ("data.file", "3 rows are too few", "at least 7 rows")),
    ("dev-zero", "zero.jsonl", ("zero.jsonl", "not a regular file", "/dev/zero")),
    ("fifo", "fifo.jsonl", ("fifo.jsonl", "not a regular file (a named pipe)")),
    ("big", "big.jsonl", ("big.jsonl", "more than the 256 MB")),
    ("long-field", "long-field.jsonl", ("long-field.jsonl:2", "150,000 characters")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "needles"), [c[1:] for c in RUN_DATA],
                         ids=[c[0] for c in RUN_DATA])  # fmt: skip
def test_run_data_is_refused_before_a_folder_is_made(
    corpus: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str], name: str, needles: Any
) -> None:
    code, _, err = invoke(capfd, "run", "--data", str(corpus / name), "--out", str(tmp_path / "r"))
    assert_one_line(code, err, needles)
    assert not (tmp_path / "r").exists()


TORN_OR_FOREIGN = {
    "cut-in-umlaut": None,  # the last line ends inside a multi-byte character
    "object": b'{"foo": 1}\n',
    "array": b"[1, 2]\n",
    "wrong-types": b'{"id": "r3", "parsed": [], "gold": {}, "correct": 1}\n',
    "other-gold": b'{"id": "r3", "parsed": {}, "gold": {"category": "x"}, "correct": {}}\n',
}


@pytest.mark.parametrize("kind", TORN_OR_FOREIGN)
def test_eval_resume_drops_torn_and_foreign_lines(
    corpus: Path,
    train_file: str,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: Any,
    kind: str,
) -> None:
    def records() -> dict[str, Any]:
        out = {}
        for line in preds.read_bytes().splitlines():
            r = json.loads(line)
            r.pop("latency_s")
            out[r["id"]] = r
        return out

    args = ["eval", "--provider", "tfidf", "--train-data", train_file,
            "--data", str(corpus / "valid.jsonl"), "--out", str(tmp_path / "e")]  # fmt: skip
    assert invoke(capfd, *args)[0] == 0
    preds = tmp_path / "e" / "predictions.jsonl"
    whole = preds.read_bytes()
    before = records()
    extra = TORN_OR_FOREIGN[kind]
    if extra is None:
        start = whole.rindex(b"\n", 0, len(whole) - 1) + 1
        multi = next(i for i in range(start, len(whole)) if whole[i] >= 0xC0)
        preds.write_bytes(whole[: multi + 1])  # cut right after the lead byte of a character
    else:
        preds.write_bytes(whole + extra)
    code, _, err = invoke(capfd, *args)
    assert code == 0 and "Traceback" not in err, err
    warned = [r.getMessage() for r in caplog.records if r.getMessage().startswith("warning:")]
    assert len(warned) == 1 and "predictions.jsonl" in warned[0], warned
    assert len(preds.read_bytes().splitlines()) == 8  # nothing lost, nothing twice
    assert records() == before


@pytest.mark.parametrize("config", [b"garbage{", b"[1, 2]", b'{"eval": 3}', b"\xff\xfe\x00x"])
def test_eval_into_a_folder_with_a_foreign_config_is_one_line(
    corpus: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str], config: bytes
) -> None:
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "config.json").write_bytes(config)
    code, _, err = invoke(capfd, "eval", "--provider", "tfidf", "--data",
                          str(corpus / "valid.jsonl"), "--out", str(tmp_path / "e"))  # fmt: skip
    assert_one_line(code, err, ("e/config.json", "not an eval run's config", "delete it"))


def test_a_dotenv_that_is_not_utf8_is_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_bytes("OPENAI_API_KEY=schlüssel\n".encode("latin-1"))
    code, _, err = invoke(capfd, "plugins")
    assert_one_line(code, err, (".env", "not UTF-8"))


def test_adapter_of_another_base_is_one_line(
    corpus: Path, models: dict[str, Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    common = ["eval", "--provider", "hf", "--data", str(corpus / "valid.jsonl"), "--limit", "2",
              "--device", "cpu", "--out", str(tmp_path / "e")]  # fmt: skip
    code, _, err = invoke(capfd, *common, "--model", str(models["b"]),
                          "--adapter", str(models["adapter"]))  # fmt: skip
    assert_one_line(code, err, (f"--adapter {models['adapter']}", f"trained on {models['a']}",
                                f"the model given, {models['b']}", f"pass --model {models['a']}"))  # fmt: skip
    code, _, err = invoke(capfd, *common, "--model", str(models["a"]), "--adapter", str(corpus))
    assert_one_line(code, err, (f"--adapter {corpus}", "no adapter_config.json"))
    code, _, err = invoke(capfd, *common, "--model", str(models["a"]),
                          "--adapter", str(models["adapter"]))  # fmt: skip
    assert code == 0, err  # the right base: scored


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (
            ["eval", "--provider", "majority", "--data", "{c}/utf16.jsonl"],
            ("utf16.jsonl", "UTF-16"),
        ),
        (
            ["split", "{c}/label-typo.jsonl"],
            ("label-typo.jsonl:2", "did you mean 'Softwarefehler'"),
        ),
    ],
)
def test_real_entry_point_prints_one_line(
    corpus: Path, tmp_path: Path, argv: list[str], needles: Any
) -> None:
    r = run_cli(*[a.replace("{c}", str(corpus)) for a in argv], cwd=tmp_path)
    assert_one_line(r.returncode, r.stderr, needles)
    assert r.stdout == ""


def test_the_corpus_is_large_enough() -> None:
    cases = 3 * len(BAD_DATA) + 2 * len(TASK_CASES) + len(FLAG_CASES) + len(VALID)
    assert len(list(CORPUS.iterdir())) >= 30 and cases >= 100
