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


def test_report_margin_flag_moves_the_verdicts(split_dir: Path, tmp_path: Path) -> None:
    """Majority against tf-idf: worse on subcategory by far, so inferior at the default 2 pp
    margin, and non-inferior once the margin is wider than any difference can be."""
    _eval(split_dir, tmp_path / "a", "tfidf")
    _eval(split_dir, tmp_path / "b", "majority")

    def sub_cell(*flags: str) -> tuple[str, str]:
        r = run_cli("report", str(tmp_path / "a"), str(tmp_path / "b"), *flags)
        assert r.returncode == 0, r.stderr
        row = next(x for x in r.stdout.splitlines() if x.startswith("| majority") and "p=" in x)
        return row.split("|")[4], r.stdout

    default, _ = sub_cell()
    wide, md = sub_cell("--margin-pp", "100")
    assert default.strip().endswith("inferior") and "non-inferior" not in default
    assert wide.strip().endswith("non-inferior")
    assert "at a 100 pp margin" in md and "-100 pp" in md
    bad = run_cli("report", str(tmp_path / "a"), "--margin-pp", "-1")
    assert bad.returncode == 2 and "--margin-pp" in bad.stderr


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


# -- train on one set, test on another ------------------------------------------------------------
def test_train_data_fits_on_one_set_and_scores_another(split_dir: Path, tmp_path: Path) -> None:
    from conftest import make_rows, write_jsonl

    rows = make_rows(n_per_cell=1, seed=9)
    for i, r in enumerate(rows):
        r["id"] = f"other-{i}"
        r["ambiguous"] = "true" if i < 5 else "false"  # as a CSV export would write it
    other = write_jsonl(tmp_path / "other.jsonl", rows)

    # a plain file has no train split: tfidf used to learn from the very items it scored
    r = run_cli("eval", "--provider", "tfidf", "--data", str(other), "--out", str(tmp_path / "x"))
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "has no 'train' split: pass --train-data" in r.stderr
    r = run_cli(
        "eval", "--provider", "tfidf", "--data", str(other), "--train-data", str(other),
        "--out", str(tmp_path / "x"),
    )  # fmt: skip
    assert r.returncode != 0 and "learn from the very items it is scored on" in r.stderr

    out = tmp_path / "tfidf-other"
    m = _eval(other, out, "tfidf", "--train-data", str(split_dir))
    assert m["n"] == len(rows)
    assert (m["subsets"]["clear"]["n"], m["subsets"]["ambiguous"]["n"]) == (len(rows) - 5, 5)
    # the fitted model is the one a split-folder eval fits: same train split, same answers
    same = _eval(split_dir, tmp_path / "tfidf-split", "tfidf")
    assert same["n"] != m["n"]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["eval"]["train_data"] == str(split_dir) and cfg["eval"]["data"] == str(other)
    preds = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert sum(1 for p in preds if p.get("meta", {}).get("ambiguous")) == 5
    report = (out / "report.md").read_text()
    assert f"fitted on `{split_dir}`" in report and "## Clear and ambiguous items" in report
    # a changed --train-data is another run: it does not resume into the same folder
    r = run_cli(
        "eval", "--provider", "tfidf", "--data", str(other), "--train-data", "default",
        "--out", str(out),
    )  # fmt: skip
    assert r.returncode != 0 and "another train_data" in r.stderr


def test_named_sets_of_the_task_measure_only(split_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "maj"
    m = _eval(Path("tickets:foreign-dev"), out, "majority", "--train-data", str(split_dir))
    assert m["n"] == 396 and m["subsets"]["ambiguous"]["n"] > 0
    assert "data `tickets:foreign-dev`" in (out / "report.md").read_text()
    for flag in ("--train-data", "--data"):
        args = ["--data", "tickets:foreign"] if flag == "--train-data" else []
        cmd = "eval" if flag == "--train-data" else "train"
        extra = ["--provider", "tfidf"] if cmd == "eval" else ["--trainer", "lora"]
        r = run_cli(cmd, *extra, *args, flag, "tickets:foreign", "--out", str(tmp_path / "y"))
        assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
        assert f"{flag} tickets:foreign: this set is for measuring only (role: test)" in r.stderr
    r = run_cli("eval", "--provider", "majority", "--data", "tickets:nope", "--out", str(out))
    assert r.returncode != 0
    assert "task 'tickets' ships no data set 'nope' (its sets: tickets:foreign" in r.stderr
    r = run_cli("eval", "--provider", "majority", "--data", "reviews:foreign", "--out", str(out))
    assert "names a data set of task 'reviews', but the task is 'tickets'" in r.stderr


def test_plan_from_two_eval_runs_and_bad_flags(split_dir: Path, tmp_path: Path) -> None:
    """`bizztune plan A B`: the discordant items of the two prediction files, through the
    planner's formulas, into one row per field; bad flags get one line naming the flag."""
    import math

    from bizztune.eval.inference import n_non_inferior, n_to_detect

    a, b = tmp_path / "a", tmp_path / "b"
    _eval(split_dir, a, "majority")
    _eval(split_dir, b, "tfidf")
    out = tmp_path / "plan.md"
    r = run_cli("plan", str(a), str(b), "--delta", "5", "--field", "all", "--out", str(out))
    assert r.returncode == 0, r.stderr
    md = out.read_text(encoding="utf-8")
    assert md == r.stdout.rstrip("\n") + "\n" or md.strip() in r.stdout
    assert "| N to detect 5 pp | N to detect the measured Δ | N to show B within 2 pp of A |" in md

    def correct(run: Path) -> dict[str, dict[str, bool]]:
        recs = [json.loads(x) for x in (run / "predictions.jsonl").read_text().splitlines()]
        return {x["id"]: x["correct"] for x in recs}

    ca, cb = correct(a), correct(b)
    n = len(ca)
    for field in ("category", "subcategory", "urgency", "joint"):

        def ok(c: dict[str, bool], field: str = field) -> bool:
            return all(c.values()) if field == "joint" else c[field]

        only_a = sum(ok(ca[i]) and not ok(cb[i]) for i in ca)
        only_b = sum(ok(cb[i]) and not ok(ca[i]) for i in ca)
        psi, diff = (only_a + only_b) / n, (only_b - only_a) / n
        want = [
            f"{100 * psi:.1f}",
            f"{100 * diff:+.1f}",
            f"{math.ceil(n_to_detect(psi, 0.05)):,}",
            f"{math.ceil(n_to_detect(psi, diff)):,}" if diff else "never",
            f"{max(1, math.ceil(n_non_inferior(psi, diff, 0.02))):,}" if diff > -0.02 else "never",
        ]
        row = next(x for x in md.splitlines() if f"| {field.title()} |" in x)
        assert row.endswith("| " + " | ".join(want) + " |"), (row, want)
    # tf-idf is far ahead of majority on subcategory: a few items detect that difference
    sub = next(x for x in md.splitlines() if "| Subcategory |" in x).split(" | ")
    assert int(sub[6].replace(",", "")) < n

    for flags, word in [
        (["--power", "1.5"], "--power"),
        (["--delta", "0"], "--delta"),
        (["--field", "nope"], "--field 'nope'"),
    ]:
        r = run_cli("plan", str(a), str(b), *flags)
        assert r.returncode == 2 and word in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    r = run_cli("plan", str(a))  # one eval folder is not a run folder
    assert r.returncode == 2 and "not a bizztune run folder" in r.stderr
