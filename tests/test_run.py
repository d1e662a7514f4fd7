"""`bizztune run` end to end on a tiny configuration, through the real entry point.

    pytest tests/test_run.py

A tiny Llama built locally (``bizztune.testing.make_tiny_model``) is the open model and the
trainer's base, 150 tickets, a few training steps. GPT-4 is served by a real HTTP server on
127.0.0.1 through the real openai client; open-mistral-7b has no key and must be skipped. The
fine-tuned-beats-base claim is not asserted here: a random tiny model proves nothing.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from chat_server import ChatServer, Reply
from conftest import REPO, isolated, make_rows, run_cli, write_csv, write_jsonl

ANSWER = '{"category": "Ungewiss", "subcategory": "Kein Zusammenhang", "urgency": "Niedrig"}'
# The answer's tokens as the server returns them with logprobs: where a label is decided, the
# alternatives and their probabilities (category .7/.2/.1, subcategory .9/.1, urgency .6/.3/.1).
TOKENS = [
    ('{"category": "', 0.0, []),
    ("Ung", math.log(0.7), [("Techn", math.log(0.2)), ("Best", math.log(0.1))]),
    ('ewiss", "subcategory": "', 0.0, []),
    ("Kein", math.log(0.9), [("Soft", math.log(0.1))]),
    (' Zusammenhang", "urgency": "', 0.0, []),
    ("Nied", math.log(0.6), [("Hoch", math.log(0.3)), ("Mit", math.log(0.1))]),
    ('rig"}', 0.0, []),
]


def write_config(path: Path, model: Path, **changes: Any) -> Path:
    cfg: dict[str, Any] = {
        "name": "tiny",
        "seed": 0,
        "data": {"n": 150},
        "model": {"name": str(model), "provider": "hf", "style": "compact", "batch_size": 8},
        "eval": {
            "baselines": ["majority", "tfidf", "gpt-4", "open-mistral-7b"],
            "test_sets": ["test"],  # the run's own split only; test_other_test_sets adds more
        },
        # choose on the val split, confirm on the test split: the tiny run scores no shipped set
        "decision": {"choose_on": "val", "confirm_on": "test"},
        "train": {"trainer": "lora", "max_steps": 3, "batch_size": 4, "limit_val": 8},
        "report": {"title": "Tiny run"},
    }
    for key, value in changes.items():
        section, _, leaf = key.partition(".")
        if leaf:
            cfg[section][leaf] = value
        else:
            cfg[section] = value
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def statuses(stderr: str) -> dict[str, str]:
    """Stage -> its last status word from the CLI's stage lines."""
    out: dict[str, str] = {}
    for m in re.finditer(r"([a-z][\w@.-]*(?::[\w.+-]+)?) (cached|done|skipped|redo)\b", stderr):
        out[m.group(1)] = m.group(2)
    return out


def lines(path: Path) -> list[str]:
    return [x for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def metrics(run: Path, label: str) -> dict[str, Any]:
    m = json.loads((run / "eval" / label / "metrics.json").read_text(encoding="utf-8"))
    m.pop("usage")  # timings differ between runs; everything else must not
    return m  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def server() -> Any:
    with ChatServer(lambda body, n: Reply(content=ANSWER, tokens=TOKENS)) as srv:
        yield srv


def run(cfg: Path, out: Path, srv: ChatServer, *extra: str, home: Path | None = None) -> Any:
    env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": srv.url + "/v1"}
    if home is not None:  # the first run's cache home, not the test's own
        env["BIZZTUNE_HOME"] = str(home)
    r = run_cli("run", "--config", str(cfg), "--out", str(out), *extra, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    return r


@dataclass(frozen=True)
class FirstRun:
    """The tiny config's first run, made once for the module by ``first_run``."""

    cfg: Path
    out: Path
    """Continued by test_run_end_to_end_then_resume: reruns, a resume, a changed config."""
    pristine: Path
    """A copy of ``out`` as the first run left it, for tests that only read it."""
    stderr: str
    server: ChatServer
    """Its gpt-4: only this run and its continuations call it, so its requests count them."""
    home: Path


@pytest.fixture(scope="module")
def first_run(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstRun]:
    d = tmp_path_factory.mktemp("first-run")
    with ChatServer(lambda body, n: Reply(content=ANSWER, tokens=TOKENS)) as srv:
        cfg = write_config(d / "tiny.yaml", tiny_model)
        with isolated(d / "home"):
            r = run(cfg, d / "run", srv)
        shutil.copytree(d / "run", d / "pristine")
        yield FirstRun(cfg, d / "run", d / "pristine", r.stderr, srv, d / "home")


def test_run_end_to_end_then_resume(first_run: FirstRun, tiny_model: Path) -> None:
    cfg, out, server = first_run.cfg, first_run.out, first_run.server

    def rerun(*extra: str) -> Any:
        return run(cfg, out, server, *extra, home=first_run.home)

    st = statuses(first_run.stderr)
    assert st == {
        "generate": "done",
        "split": "done",
        "eval:majority": "done",
        "eval:tfidf": "done",
        "eval:base": "done",
        "eval:gpt-4": "done",
        "eval:open-mistral-7b": "skipped",
        # every model is scored on the val split too: the Decision chooses there
        "eval@val:majority": "done",
        "eval@val:tfidf": "done",
        "eval@val:base": "done",
        "eval@val:gpt-4": "done",
        "eval@val:open-mistral-7b": "skipped",
        "train": "done",
        "eval:finetuned": "done",
        "eval@val:finetuned": "done",
        # eval.combine unset: the fine-tuned model and tfidf combined, on both sets
        "eval:finetuned+tfidf": "done",
        "eval@val:finetuned+tfidf": "done",
        "report": "done",
    }, first_run.stderr
    assert "MISTRAL_API_KEY is not set" in first_run.stderr

    # the run folder: data, resolved config, versions, one eval per model, adapter, reports
    assert len(lines(out / "data" / "raw" / "tickets.jsonl")) == 150
    # the generate stage is `bizztune generate`'s step: the same data card and manifest
    manifest = json.loads((out / "data" / "raw" / "tickets.generate.json").read_text())
    assert (manifest["schema_version"], manifest["n"], manifest["provider"]) == (1, 150, None)
    assert manifest["summary"]["total"] == 150 and manifest["datacard"]["n"] == 150
    card = (out / "data" / "raw" / "tickets.datacard.md").read_text(encoding="utf-8")
    assert card.startswith("# Data card: tickets, offline, n=150, seed 0")
    n_test = len(lines(out / "data" / "split" / "test.jsonl"))
    assert 10 <= n_test <= 20
    resolved = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    assert resolved["train"]["max_steps"] == 3 and resolved["model"]["name"] == str(tiny_model)
    assert resolved["train"]["r"] == 16  # the run's CPU defaults are written out too
    # ... and it is an experiment file: it reads back to the same config
    from bizztune.pipeline.config import load_run_config
    from bizztune.plugins import registry

    assert load_run_config(out / "config.yaml", registry()) == load_run_config(cfg, registry())
    versions = json.loads((out / "versions.json").read_text())
    for pkg in ("bizztune", "torch", "transformers", "peft", "trl", "datasets", "python"):
        assert versions[pkg], pkg
    for label in ("majority", "tfidf", "base", "gpt-4", "finetuned"):
        assert len(lines(out / "eval" / label / "predictions.jsonl")) == n_test, label
        assert (out / "eval" / label / "stage.done.json").is_file()
    assert not (out / "eval" / "open-mistral-7b" / "stage.done.json").exists()
    marker = json.loads((out / "train" / "stage.done.json").read_text())
    adapter = out / marker["outputs"]["adapter"]
    assert (adapter / "adapter_config.json").is_file()
    ft_cfg = json.loads((out / "eval" / "finetuned" / "config.json").read_text())
    assert Path(ft_cfg["eval"]["provider"]["adapter"]).resolve() == adapter.resolve()
    n_val = len(lines(out / "data" / "split" / "val.jsonl"))
    # gpt-4 went through the real client, once per item of both sets
    assert len(server.requests) == n_test + n_val
    assert server.requests[0]["model"] == "gpt-4"

    # the report: the study's two tables, numbers equal to metrics.json, plots, the answer
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Accuracy Comparison" in md and "## Fine-Tuned Model Comparison" in md
    tfidf = json.loads((out / "eval" / "tfidf" / "metrics.json").read_text())
    acc = [f"{100 * tfidf['fields'][f]['accuracy']:.1f}" for f in ("category", "subcategory")]
    assert f"| tfidf | {acc[0]} | {acc[1]} |" in md
    gpt = json.loads((out / "eval" / "gpt-4" / "metrics.json").read_text())
    assert f"| gpt-4 | {100 * gpt['fields']['category']['accuracy']:.1f} |" in md
    base = json.loads((out / "eval" / "base" / "metrics.json").read_text())
    ft = json.loads((out / "eval" / "finetuned" / "metrics.json").read_text())
    delta = 100 * (ft["joint"]["accuracy"] - base["joint"]["accuracy"])
    assert re.search(
        r"\| Δ vs base \(pp\) \| [+-]\d+\.\d \| [+-]\d+\.\d \| [+-]\d+\.\d \| "
        + re.escape(f"{delta:+.1f}")
        + r" \|",
        md,
    )
    assert "| open-mistral-7b | MISTRAL_API_KEY is not set" in md
    assert "McNemar" in md and "macro-F1" in md and "Cost per 1,000 USD" in md
    plots = ("accuracy", "confusion-base", "confusion-finetuned", "confusion-gpt-4", "loss")
    for plot in (*plots, "cost-volume"):
        assert (out / "report" / "plots" / f"{plot}.png").stat().st_size > 1000, plot
        assert f"report/plots/{plot}.png" in md
    page = (out / "report.html").read_text(encoding="utf-8")
    # every plot embedded once: each set's (val split, where the Decision chooses, and the test
    # split) accuracy and confusions, the loss, cost-volume
    # and the accuracy-cost chart of the first screen
    pngs = sorted((out / "report" / "plots").glob("*.png"))
    assert (out / "report" / "plots" / "accuracy-cost.png") in pngs
    assert page.count("data:image/png;base64,") == len(pngs) >= 12
    check_combined(out, md, n_test)
    check_decision(out, md, n_test)
    check_statistics(out, md)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["delta_pp"]["joint"] == pytest.approx(delta)
    assert summary["base"]["category"] == base["fields"]["category"]["accuracy"]
    # gpt-4 answered the same thing for every ticket; its accuracy is what that answer scores
    gold = [json.loads(x)["urgency"] for x in lines(out / "data" / "split" / "test.jsonl")]
    assert gpt["fields"]["urgency"]["accuracy"] == pytest.approx(gold.count("Niedrig") / n_test)
    assert gpt["usage"]["cost_usd"] > 0  # list price of gpt-4 times the served token counts

    # a rerun does nothing but report; nothing is recomputed or re-sent
    before = {p: p.stat().st_mtime_ns for p in out.rglob("predictions.jsonl")}
    r = rerun()
    assert set(statuses(r.stderr).values()) <= {"cached", "skipped"}, r.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("predictions.jsonl")} == before
    assert len(server.requests) == n_test + n_val

    # an interrupted evaluation resumes: keep 4 scored items and a half-written line
    pred = out / "eval" / "finetuned" / "predictions.jsonl"
    kept = lines(pred)[:4]
    pred.write_text("\n".join(kept) + "\n" + lines(pred)[4][:15], encoding="utf-8")
    (out / "eval" / "finetuned" / "stage.done.json").unlink()
    r = rerun()
    st = statuses(r.stderr)
    assert st["eval:finetuned"] == "done" and st["train"] == "cached" and st["report"] == "done"
    assert "resuming" in r.stderr
    assert lines(pred)[:4] == kept and len(lines(pred)) == n_test
    resumed = metrics(out, "finetuned")
    # probabilities of items scored in another batch differ in the last float digits
    cal, cal_before = resumed.pop("calibration"), ft["calibration"]
    assert cal["ece_joint"] == pytest.approx(cal_before["ece_joint"], abs=1e-3)
    assert resumed == {k: v for k, v in ft.items() if k not in ("usage", "calibration")}

    # a changed training config redoes train and what depends on it, nothing upstream
    write_config(cfg, tiny_model, **{"train.max_steps": 4})
    r = rerun()
    st = statuses(r.stderr)
    assert st["train"] == "done" and st["eval:finetuned"] == "done" and st["report"] == "done"
    assert all(st[k] == "cached" for k in ("generate", "split", "eval:base", "eval:tfidf"))
    assert "train redo" in r.stderr

    # --stages/--force redo exactly the chosen stage
    r = rerun("--stages", "report", "--force")
    st = statuses(r.stderr)
    assert st["report"] == "done" and st["train"] == "cached" and st["eval:finetuned"] == "cached"
    # ...and the report still lists the API baseline that was skipped, with why
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| open-mistral-7b | MISTRAL_API_KEY is not set" in md


def check_combined(out: Path, md: str, n_test: int) -> None:
    """The combined model: an eval of its own from its members' records, in the accuracy
    table and its own section, outside the fine-tuned model's family of tests."""
    both = out / "eval" / "finetuned+tfidf"
    cfg = json.loads((both / "config.json").read_text(encoding="utf-8"))
    members = [Path(m["dir"]).name for m in cfg["combine"]["members"]]
    assert members == ["finetuned", "tfidf"]
    assert [m["weight"] for m in cfg["combine"]["members"]] == [0.5, 0.5]
    ft, tf = (
        {json.loads(x)["id"]: json.loads(x) for x in lines(out / "eval" / k / "predictions.jsonl")}
        for k in members
    )
    recs = [json.loads(x) for x in lines(both / "predictions.jsonl")]
    assert len(recs) == n_test
    for rec in recs:  # one model run costs the sum of its members' time
        assert rec["latency_s"] == pytest.approx(
            ft[rec["id"]]["latency_s"] + tf[rec["id"]]["latency_s"], abs=2e-4
        )
    m = json.loads((both / "metrics.json").read_text(encoding="utf-8"))
    name = "tiny (fine-tuned, lora) × tfidf"
    assert m["model"] == name
    row = f"| {name} | {100 * m['fields']['category']['accuracy']:.1f} |"
    assert row in md.split("## Accuracy Comparison")[1].split("\n## ")[0]
    section = md.split(f"## Combined model: {name} against its members")[1].split("\n## ")[0]
    for member in ("tiny (fine-tuned, lora)", "tfidf"):
        assert f"| {member} | Joint |" in section
    assert "The verdict at the top is the fine-tuned model's alone" in section
    assert (out / "eval-val" / "finetuned+tfidf" / "metrics.json").is_file()


def check_decision(out: Path, md: str, n_test: int) -> None:
    """Probabilities in every prediction, calibration, gpt-4's costs (served by the local
    server, priced at list price), break-even and the Decision at the top of the report."""
    for label in ("majority", "tfidf", "base", "finetuned", "gpt-4"):
        for line in lines(out / "eval" / label / "predictions.jsonl"):
            rec = json.loads(line)
            assert rec["probs_source"] == "model", label
            assert set(rec["probs"]) == {"category", "subcategory", "urgency"}
            assert 0.0 <= rec["confidence"] <= 1.0
    # gpt-4's label probabilities are read from the server's logprobs through the openai client
    rec = json.loads(lines(out / "eval" / "gpt-4" / "predictions.jsonl")[0])
    assert rec["probs"]["urgency"] == pytest.approx({"Niedrig": 0.6, "Hoch": 0.3, "Mittel": 0.1})
    assert rec["probs"]["category"] == pytest.approx(
        {"Ungewiss": 0.7, "Technischer Support": 0.2, "Bestellverwaltung": 0.1}
    )
    assert rec["confidence"] == pytest.approx(0.7 * 0.9 * 0.6)
    assert len(lines(out / "eval-val" / "finetuned" / "predictions.jsonl")) >= 10

    assert md.startswith('# Tiny run\n\n<a id="decision"></a>\n## Decision\n\n')
    summary = json.loads((out / "summary.json").read_text())
    verdict = md.index(summary["verdict"][:30])
    assert md.index("## Decision") < md.index("## Contents") < verdict
    assert verdict < md.index("## Accuracy Comparison")
    for heading in (
        "## Calibration",
        "## Cost per 1,000 tickets at 10,000 a month",
        "## Break-even volume",
    ):
        assert heading in md, heading
    assert "cascade" not in md.lower() and "cascades" not in summary  # retired in round 9
    # the calibration shown is each model's own, as its eval run measured it: no temperature
    metrics = json.loads((out / "eval" / "finetuned" / "metrics.json").read_text())
    assert summary["calibration"]["test split"]["finetuned"] == metrics["calibration"]

    # gpt-4 costs its tokens at litellm's list price; break-even by hand from the cost model
    costs = summary["costs"]
    gpt = costs["models"]["gpt-4"]
    assert gpt["price"]["source"].startswith("litellm") and gpt["price"]["input"] == 30.0
    per_ticket = (50 * 30.0 + 12 * 60.0) / 1e6  # the server's usage at gpt-4's prices
    assert gpt["usd_per_ticket"] == pytest.approx(per_ticket)
    ft = costs["models"]["finetuned"]
    assert ft["device"] == "cpu" and ft["usd_per_hour"] == 0.1 and ft["train_hours"] > 0
    train = json.loads((out / "train" / "train_summary.json").read_text())
    assert ft["train_usd"] == pytest.approx(train["train_time_s"] / 3600 * 0.1)
    # always on: 730 h x 0.10 USD a month plus the training over 12 months, against the tokens
    hand = (730 * 0.1 + ft["train_usd"] / 12) / per_ticket
    assert costs["break_even"]["finetuned"]["gpt-4"] == pytest.approx(hand)
    assert ft["usd_per_1000_at_volume"] == pytest.approx((73.0 + ft["train_usd"] / 12) / 10)
    decision = summary["decision"]
    assert decision["decide_on"]["name"] == "val split" and decision["tickets_per_month"] == 10_000
    assert decision["confirm_on"]["name"] == "test split"
    lead = md.split("## Decision")[1].split("## Contents")[0]
    assert f"Run {decision['choice']['name']}: fully right on " in lead
    assert "of test split (the generator's own tickets it was not chosen on)" in lead


def check_statistics(out: Path, md: str) -> None:
    """Holm within the family of paired tests, the margin verdicts and the planner's N in the
    report, the same N from `bizztune plan` on the run folder."""
    from bizztune.eval.inference import holm
    from bizztune.eval.tables import field_title

    summary = json.loads((out / "summary.json").read_text())
    summary = {**summary, **summary["test_sets"]["test split"]}  # the planner reads eval/
    family = summary["paired_tests"]  # model -> field -> test, the fine-tuned model against it
    assert set(family) == {"majority", "tfidf", "gpt-4", summary["base"]["model"]}
    flat = [t for fields in family.values() for t in fields.values()]
    assert len(flat) == 4 * 4  # 4 models x 3 fields and joint
    assert [t["p_adj"] for t in flat] == pytest.approx(holm([t["p_value"] for t in flat]))
    table = md.split("## Paired tests: ")[2].split("\n## ")[0]  # the second set's: test split
    assert "| Δ pp [95% CI] | McNemar p | Holm p | Verdict |" in table and "Holm" in table
    verdicts = set()
    for model, fields in family.items():
        for f, t in fields.items():
            row = next(
                x for x in table.splitlines() if x.startswith(f"| {model} | {field_title(f)} |")
            )
            assert f"| {t['p_value']:.3g} | {t['p_adj']:.3g}" in row
            assert f"| {t['verdict']}" in row
            verdicts.add(t["verdict"])
            if t["verdict"] == "inconclusive":  # with 10-20 test items most comparisons are
                need = t["plan"]
                if need["n_detect"] is not None:
                    assert f"N ≈ {need['n_detect']:,} to detect" in row
                if need["n_non_inferior"] is not None:
                    assert f"N ≈ {need['n_non_inferior']:,} to show it within 2 pp" in row
    assert "inconclusive" in verdicts
    assert (
        summary["margin_verdict"]["joint"] == family[summary["base"]["model"]]["joint"]["verdict"]
    )
    head = md.split("## How the choice was made")[1].split("\n\n")[1].splitlines()[0]
    assert "| McNemar p (Holm) | Verdict at 2 pp |" in head
    decision = summary["decision"]
    chosen = next(o for o in decision["options"] if o["key"] == decision["chosen"])
    verdict = (chosen["vs_most_accurate"] or {"verdict": "most accurate"})["verdict"]
    assert verdict in ("most accurate", "non-inferior") or decision["rule"] == "too-small"
    # `bizztune plan` on the run folder: the same non-inferiority N for every joint comparison
    r = run_cli("plan", str(out))
    assert r.returncode == 0, r.stderr
    for model in ("majority", "tfidf", "gpt-4"):
        t = family[model]["joint"]
        row = next(x for x in r.stdout.splitlines() if x.startswith(f"| finetuned vs {model} |"))
        ni = (t.get("plan") or {}).get("n_non_inferior", "skip")
        if ni != "skip":
            assert row.endswith(f"| {'never' if ni is None else f'{ni:,}'} |"), row


def test_other_test_sets_get_their_own_evals_and_report_sections(
    tiny_model: Path, tmp_path: Path, server: ChatServer
) -> None:
    """Train on one set, test on another: every model is scored on the run's split and on an
    outside file; tfidf learns from the run's train split for both; the report compares the
    models per set (with the clear/ambiguous split the file flags) and the data shift."""
    rows = make_rows(n_per_cell=1, seed=5)
    for i, r in enumerate(rows):
        r["id"] = f"mine-{i:03d}"
        r["ambiguous"] = i % 4 == 0
    mine = write_jsonl(tmp_path / "my-tickets.jsonl", rows)
    cfg = write_config(
        tmp_path / "tiny.yaml",
        tiny_model,
        **{
            "eval.baselines": ["majority", "tfidf"],
            "eval.test_sets": ["test", str(mine)],
            "train.max_steps": 2,
        },
    )
    out = tmp_path / "run"
    r = run(cfg, out, server)
    st = statuses(r.stderr)
    # the base model is scored where the Decision reads (eval.base: decision), not on a check
    assert st["eval:base"] == "done" and "eval@my-tickets:base" not in st
    for label in ("majority", "tfidf", "finetuned"):
        assert st[f"eval:{label}"] == "done" and st[f"eval@my-tickets:{label}"] == "done", r.stderr
        preds = lines(out / "eval-my-tickets" / label / "predictions.jsonl")
        assert sorted(json.loads(x)["id"] for x in preds) == sorted(x["id"] for x in rows)
        m = json.loads((out / "eval-my-tickets" / label / "metrics.json").read_text())
        assert m["n"] == len(rows)
        assert (m["subsets"]["clear"]["n"], m["subsets"]["ambiguous"]["n"]) == (24, 9)
    tfidf_cfg = json.loads((out / "eval-my-tickets" / "tfidf" / "config.json").read_text())
    assert tfidf_cfg["eval"]["train_data"] == str(out / "data" / "split")
    assert tfidf_cfg["eval"]["data"] == str(mine)

    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Accuracy Comparison (test split)\n" in md
    assert f"## Accuracy Comparison ({mine})" in md
    assert f"## Fine-Tuned Model Comparison ({mine})" not in md  # no base model there
    assert f"## Clear and ambiguous items ({mine})" in md
    assert "## How far each test set is from the training data" in md
    assert re.search(r"\| test split \| \d+ \| 0\.\d\d \[", md)
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["test_sets"]) == {"val split", "test split", str(mine)}
    assert summary["verdict"].startswith("On val split: ") and f"On {mine}: " in summary["verdict"]
    shift = summary["data_shift"][str(mine)]
    assert 0.0 <= shift["domain_auc"] <= 1.0 and 0.0 < shift["token_coverage"] <= 1.0
    tf = json.loads((out / "eval-my-tickets" / "tfidf" / "metrics.json").read_text())
    acc = f"{100 * tf['fields']['category']['accuracy']:.1f}"
    part = md.split(f"## Accuracy Comparison ({mine})")[1]
    assert f"| tfidf | {acc} |" in part.split("##")[0]
    for plot in ("accuracy-my-tickets", "confusion-finetuned-my-tickets"):
        assert (out / "report" / "plots" / f"{plot}.png").is_file(), plot
    # offline (no API model): calibration on every set and the cost plot; the Decision has
    # every set's number
    assert "## Calibration (test split)\n" in md and f"## Calibration ({mine})" in md
    for plot in ("accuracy-my-tickets", "cost-volume"):
        assert (out / "report" / "plots" / f"{plot}.png").is_file(), plot
    checks = [c["name"] for c in summary["decision"]["checks"]]
    assert checks == [str(mine)]
    for option in summary["decision"]["options"]:  # the base model: where the Decision reads
        mine_too = {str(mine)} if option["key"] != "base" else set()
        assert set(option["scores"]) == {"val split", "test split", *mine_too}, option["key"]
    assert "break_even" in summary["costs"] and summary["costs"]["break_even"] == {
        label: {} for label in ("majority", "tfidf", "base", "finetuned", "finetuned+tfidf")
    }  # no API model: nothing to break even with

    # editing the outside file redoes its evaluations, and only those
    write_jsonl(mine, rows[:-1])
    r = run(cfg, out, server)
    st = statuses(r.stderr)
    assert st["eval@my-tickets:tfidf"] == "done" and st["eval:tfidf"] == "cached"
    assert st["train"] == "cached"


def test_same_seed_same_metrics(
    first_run: FirstRun, tiny_model: Path, tmp_path: Path, server: ChatServer
) -> None:
    """A fresh run folder with the first run's config and seed, on CPU: identical data,
    adapter weights and metrics (this run stops before the report, which is not compared)."""
    cfg = write_config(tmp_path / "tiny.yaml", tiny_model)  # the first run's config, as it was
    a, b = first_run.pristine, tmp_path / "b"
    run(cfg, b, server, "--stages", "generate,split,baselines,train,finetuned")
    for rel in ("data/raw/tickets.jsonl", "data/split/test.jsonl", "data/split/train.jsonl"):
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    weights = sorted((a / "train").rglob("adapter_model.safetensors"))
    assert weights
    for w in weights:
        assert w.read_bytes() == (b / w.relative_to(a)).read_bytes()
    for label in ("majority", "tfidf", "base", "gpt-4", "finetuned"):
        assert metrics(a, label) == metrics(b, label), label


def test_config_errors_name_the_key(tmp_path: Path, tiny_model: Path) -> None:
    cfg = write_config(tmp_path / "bad.yaml", tiny_model, **{"train.model": "x"})
    r = run_cli("run", "--config", str(cfg), "--out", str(tmp_path / "r"))
    assert r.returncode == 2
    assert "train.model is filled in by the run; set 'model.name'" in r.stderr
    cfg = write_config(tmp_path / "bad.yaml", tiny_model, **{"eval.baseline": ["tfidf"]})
    r = run_cli("run", "--config", str(cfg), "--out", str(tmp_path / "r"))
    assert r.returncode == 2 and "unknown key 'baseline'" in r.stderr
    for combine, msg in (
        (["finetuned", "tfidff"], "eval.combine: 'tfidff' is not a model of this run; choose"),
        (["finetuned"], "eval.combine needs two or more different models"),
        ("tfidf", "eval.combine must be a list of model labels"),
    ):
        cfg = write_config(tmp_path / "bad.yaml", tiny_model, **{"eval.combine": combine})
        r = run_cli("run", "--config", str(cfg), "--out", str(tmp_path / "r"))
        assert r.returncode == 2 and msg in r.stderr, r.stderr
    cfg = write_config(tmp_path / "ok.yaml", tiny_model)
    r = run_cli("run", "--config", str(cfg), "--out", str(tmp_path / "r"), "--stages", "tune")
    assert r.returncode == 2 and "--stages: unknown stage 'tune'" in r.stderr
    other = tmp_path / "not-a-run"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    r = run_cli("run", "--config", str(cfg), "--out", str(other))
    assert r.returncode == 2 and "is not a bizztune run folder" in r.stderr
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]


def test_run_passes_generator_options_to_the_generate_stage(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "name: t\nseed: 0\ndata: {n: 66, generator_options: {prior: uniform}}\n", encoding="utf-8"
    )
    out = tmp_path / "run"
    r = run_cli("run", "--config", str(cfg), "--out", str(out), "--stages", "generate,split")
    assert r.returncode == 0, r.stderr[-2000:]
    manifest = json.loads((out / "data" / "raw" / "tickets.generate.json").read_text())
    assert manifest["generator_options"] == {"prior": "uniform"}
    assert manifest["label_prior"]["urgency"]["Hoch"] == pytest.approx(1 / 3, abs=1e-5)
    rows = [json.loads(x) for x in lines(out / "data" / "raw" / "tickets.jsonl")]
    assert sum(r["urgency"] == "Hoch" for r in rows) == 22
    card = (out / "data" / "split" / "datacard.md").read_text(encoding="utf-8")
    assert "- PASS: urgency shares follow the expected prior (within 3 SE)" in card


def test_run_learns_from_your_own_labelled_file(tmp_path: Path, tiny_model: Path) -> None:
    """`bizztune run --data FILE`: the user's tickets are split and learnt from instead of
    generated ones; the measuring sets and bad rows are refused in one line."""
    import csv

    rows = make_rows()
    own = write_csv(tmp_path / "own.csv", rows)
    cfg = write_config(tmp_path / "c.yaml", tiny_model, **{"eval.baselines": ["tfidf"]})
    out = tmp_path / "run"
    stages = ("--stages", "generate,split,baselines")
    r = run_cli("run", "--config", str(cfg), "--out", str(out), "--data", str(own), *stages)
    assert r.returncode == 0, r.stderr[-3000:]
    copied = [json.loads(x) for x in lines(out / "data" / "raw" / "tickets.jsonl")]
    assert copied == rows  # every row, every column, as text (a CSV's values)
    assert not (out / "data" / "raw" / "tickets.generate.json").exists()  # nothing generated
    split = {s: lines(out / "data" / "split" / f"{s}.jsonl") for s in ("train", "val", "test")}
    ids = sorted(json.loads(x)["id"] for part in split.values() for x in part)
    assert ids == sorted(row["id"] for row in rows)
    m = json.loads((out / "eval" / "tfidf" / "metrics.json").read_text(encoding="utf-8"))
    assert m["n"] == len(split["test"])
    assert yaml.safe_load((out / "config.yaml").read_text())["data"]["file"] == str(own)

    # more tickets in the file: the data, and what was learnt from it, are redone
    with own.open("a", encoding="utf-8", newline="") as fh:
        more = [{**row, "id": f"more-{row['id']}"} for row in make_rows(1, seed=1)]
        csv.DictWriter(fh, fieldnames=list(rows[0])).writerows(more)
    r = run_cli("run", "--config", str(cfg), "--out", str(out), "--data", str(own), *stages)
    assert r.returncode == 0, r.stderr[-3000:]
    st = statuses(r.stderr)
    assert st["generate"] == "done" and st["split"] == "done" and st["eval:tfidf"] == "done"
    assert len(lines(out / "data" / "raw" / "tickets.jsonl")) == len(rows) + 33

    # generated tickets beside your own: in the train split only, val and test stay yours
    r = run_cli(
        "run", "--config", str(cfg), "--out", str(out), "--data", str(own),
        "--add-generated", "40", "--stages", "generate,split",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert statuses(r.stderr)["split"] == "done"
    gen = [json.loads(x)["id"] for x in lines(out / "data" / "raw" / "tickets-generated.jsonl")]
    assert len(gen) == 40
    parts = {
        s: {json.loads(x)["id"] for x in lines(out / "data" / "split" / f"{s}.jsonl")}
        for s in ("train", "val", "test")
    }
    assert set(gen) <= parts["train"] and not set(gen) & (parts["val"] | parts["test"])
    assert parts["val"] | parts["test"] | (parts["train"] - set(gen)) == {
        row["id"] for row in [*rows, *more]
    }
    meta = json.loads((out / "data" / "split" / "split.json").read_text(encoding="utf-8"))
    assert meta["train_extra"] == 40 and meta["counts"]["train"] == len(parts["train"])

    bad = tmp_path / "bad.jsonl"
    write_jsonl(bad, [rows[0], {**rows[1], "urgency": "hoch"}])
    split_dir = out / "data" / "split"
    for data, msg in (
        ("tickets:foreign", "data.file tickets:foreign: this set is for measuring only"),
        ("tickets:foreign-dev", "for choosing settings only"),
        (str(bad), f"{bad}:2: field 'urgency': label 'hoch' is not in the taxonomy"),
        (str(tmp_path / "nope.csv"), "data.file " + str(tmp_path / "nope.csv") + ": no such"),
        (str(split_dir), "is a split already; give the labelled file it was split from"),
    ):
        r = run_cli("run", "--config", str(cfg), "--out", str(tmp_path / "r2"), "--data", data)
        assert r.returncode == 2 and msg in r.stderr, (data, r.stderr[-2000:])
        assert not (tmp_path / "r2").exists()  # refused before the run folder is claimed
    cfg = write_config(
        tmp_path / "c2.yaml",
        tiny_model,
        **{"data": {"file": str(own), "generator_options": {"prior": "uniform"}}},
    )
    r = run_cli("run", "--config", str(cfg), "--out", str(tmp_path / "r2"))
    assert r.returncode == 2
    assert (
        "data.file: your own tickets replace the generator; remove data.generator_options"
        in r.stderr
    )
    r = run_cli("run", "--config", str(tmp_path / "c.yaml"), "--add-generated", "10")
    assert r.returncode == 2
    assert "data.add_generated adds generated tickets to your own (data.file / --data)" in r.stderr


def test_experiment_files() -> None:
    from bizztune.pipeline.config import RunConfig, load_run_config
    from bizztune.plugins import registry

    # `bizztune run` without --config is experiments/default.yaml
    assert load_run_config(REPO / "experiments" / "default.yaml", registry()) == RunConfig()
    study = load_run_config(REPO / "experiments" / "study-gpu.yaml", registry())
    assert study.name == "study-gpu" and "Mistral-7B-Instruct" in study.model.name
    t = study.train
    assert (t.trainer, t.quantization, t.r, t.alpha, t.epochs, t.lr_scheduler) == (
        "qlora",
        "nf4",
        8,
        8,
        1.0,
        "cosine",
    )
    assert t.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj"]
    # the run's CPU training defaults do not leak into a config that sets its own
    assert (t.learning_rate, t.max_steps) == (2e-4, None)
    assert [b.provider for b in study.eval.baselines][-3:] == [
        "gpt-4",
        "gpt-3.5-turbo",
        "open-mistral-7b",
    ]
    assert study.model.load_in_4bit and study.model.style == "long"
    # the default is the heads on Gemma 3 270M; the generative recipe of SmolLM2 is a file
    assert (RunConfig().train.trainer, RunConfig().model.name) == ("head", "gemma3-270m")
    default = load_run_config(REPO / "experiments" / "smollm2-lora.yaml", registry())
    assert (default.train.trainer, default.train.learning_rate, default.train.max_steps) == (
        "lora",
        2e-3,
        200,
    )
    assert default.model.name == "smollm2-135m"
    # the CPU variants differ from the generative recipe in exactly what their names say
    two = load_run_config(REPO / "experiments" / "cpu-2-epochs.yaml", registry())
    assert two.train.max_steps == 2 * default.train.max_steps  # type: ignore[operator]
    assert (two.model, two.data, two.eval) == (default.model, default.data, default.eval)
    long = load_run_config(REPO / "experiments" / "cpu-long-prompt.yaml", registry())
    assert long.model.style == "long" and long.train.max_steps == default.train.max_steps
    assert (long.train.r, long.train.alpha, long.train.learning_rate) == (16, 32, 2e-3)
