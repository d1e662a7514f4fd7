"""The eval run directory: what ``bizztune eval`` writes, and how it is read back.

    runs/eval/<task>-<split>-<provider>.../
        config.json         the resolved EvalConfig, versions, schema_version
        predictions.jsonl   one record per item, appended as it is scored (a rerun resumes)
        metrics.json        the shared evaluator's metrics (bizztune.eval.metrics) and usage
        report.md           those metrics as Markdown tables (bizztune.eval.tables)

    run = load_run(Path("runs/eval/tfidf"))   # {"dir", "metrics", "config", "predictions"}

A prediction record: ``id``, ``raw`` (the answer text; a mapping per call for per-field calls),
``parsed``, ``errors`` (field -> why it is None), ``gold``, ``correct``, ``latency_s``,
``prompt_tokens``, ``completion_tokens``, ``cost_usd``, ``cached``, ``probs`` (field -> label ->
probability; labels left out have 0), ``confidence`` (the probability of the whole answer),
``probs_source`` (``model``: the provider's probabilities for every field; ``partial``; ``none``:
1 for the label answered), and ``meta`` (e.g. ``{"ambiguous": true}``) when the item has one.
Old run directories read back the same way (without probabilities: 1 for the answer), so
they re-score and report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bizztune.core.errors import ConfigError, DataError
from bizztune.eval.tables import (
    accuracy_table,
    data_name,
    interval_table,
    probability_table,
    subset_table,
    usage_table,
)

EVAL_RUN_SCHEMA_VERSION = 1
"""The ``schema_version`` of an eval run's config.json."""
RESUME_KEYS = ("task", "provider", "data", "split", "train_data", "style", "calls", "limit")
"""What must match for a rerun to resume an existing run directory."""


def check_resume(run_dir: Path, resolved: dict[str, Any]) -> None:
    """A ConfigError when ``run_dir`` holds a run of another config (it is not resumed)."""
    cfg_path = run_dir / "config.json"
    if not cfg_path.is_file():
        return
    old = json.loads(cfg_path.read_text())
    for k in RESUME_KEYS:
        if old.get("eval", {}).get(k) != resolved["eval"].get(k) and k != "provider":
            raise ConfigError(
                f"{run_dir} holds a run with another {k} ({old['eval'].get(k)!r}); "
                f"pass another --out or delete it"
            )
    for k in ("name", "model", "adapter", "decoding"):
        if old["eval"]["provider"].get(k) != resolved["eval"]["provider"].get(k):
            raise ConfigError(
                f"{run_dir} holds a run of another provider {k} "
                f"({old['eval']['provider'].get(k)!r}); pass another --out or delete it"
            )


def read_predictions(path: Path, repair: bool = False) -> dict[str, dict[str, Any]]:
    """Records by item id. A line cut by a crash is skipped (the item is simply redone);
    with ``repair`` the file is rewritten without it, so appending continues on a clean line."""
    done: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return done
    text = path.read_text(encoding="utf-8")
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        done[rec["id"]] = rec
    if repair and (bad or (text and not text.endswith("\n"))):
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in done.values()),
            encoding="utf-8",
        )
        tmp.replace(path)
    return done


def provider_failed(rec: dict[str, Any]) -> bool:
    return any(str(v).startswith("provider error:") for v in rec.get("errors", {}).values())


def load_run(run_dir: Path) -> dict[str, Any]:
    mpath = run_dir / "metrics.json"
    if not mpath.is_file():
        raise DataError(f"{run_dir}: not a finished run directory (no metrics.json)")
    metrics = json.loads(mpath.read_text(encoding="utf-8"))
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    preds = read_predictions(run_dir / "predictions.jsonl")
    return {"dir": run_dir, "metrics": metrics, "config": config, "predictions": preds}


def run_report_md(run: dict[str, Any]) -> str:
    m = run["metrics"]
    cfg = run["config"]["eval"]
    parts = [
        f"# Evaluation: {m.get('model')}",
        "",
        f"Task `{cfg['task']}`, data `{data_name(run)}`, {m['n']} items, prompt "
        f"`{cfg['style']}`, calls `{cfg['calls']}`, decoding `{cfg['provider']['decoding']}`"
        + (f", fitted on `{cfg['train_data']}`" if cfg.get("train_data") else "")
        + ".",
        "",
        accuracy_table([run]),
        "",
        "## Intervals and macro-F1",
        "",
        interval_table([run]),
        "",
        *(
            [
                "## Clear and ambiguous items",
                "",
                subsets,
                "",
                "Ambiguous: items the data flags as ones a careful second labeller could label "
                "otherwise; judge models on the clear ones first.",
                "",
            ]
            if (subsets := subset_table([run]))
            else []
        ),
        *(
            [
                "## Probabilities",
                "",
                probs,
                "",
                "ECE: expected calibration error of the raw probabilities (10 equal-width bins), "
                "for the whole answer's probability and per field; AURC: mean error rate of the "
                "most confident items over all coverages. `bizztune run` also calibrates them on "
                "the validation split.",
                "",
            ]
            if (probs := probability_table([run]))
            else []
        ),
        "## Usage",
        "",
        usage_table([run]),
        "",
        f"Accuracy in percent; 95% intervals are percentile bootstraps over items. With n={m['n']} "
        f"a single item moves an accuracy by {100 / max(m['n'], 1):.1f} points.",
    ]
    return "\n".join(parts) + "\n"


def write_run_report(run_dir: Path) -> Path:
    run = load_run(run_dir)
    path = run_dir / "report.md"
    path.write_text(run_report_md(run), encoding="utf-8")
    return path
