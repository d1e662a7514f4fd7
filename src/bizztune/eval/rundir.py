"""The eval run directory: what ``bizztune eval`` writes, and how it is read back.

    runs/eval/<task>-<split>-<provider>.../
        config.json         the resolved EvalConfig, versions, schema_version
        predictions.jsonl   one record per item, appended as it is scored (a rerun resumes)
        metrics.json        the shared evaluator's metrics (bizztune.eval.metrics) and usage
        report.md           those metrics as Markdown tables (bizztune.eval.tables)

    run = load_run(Path("runs/eval/tfidf"))   # an EvalRun (bizztune.eval.runs)

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
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bizztune.core.errors import ConfigError, DataError
from bizztune.data.io import write_text_atomic
from bizztune.eval.runs import EvalRun
from bizztune.eval.tables import (
    accuracy_table,
    data_name,
    interval_table,
    probability_table,
    subset_table,
    truncation_note,
    usage_table,
)

EVAL_RUN_SCHEMA_VERSION = 1
"""The ``schema_version`` of an eval run's config.json."""
RESUME_KEYS = ("task", "provider", "data", "split", "train_data", "style", "calls", "limit")
"""What must match for a rerun to resume an existing run directory."""
log = logging.getLogger("bizztune.eval")


def read_config(run_dir: Path, hint: str = "") -> dict[str, Any] | None:
    """An eval run's config.json, None if there is none; a ConfigError naming the file (and
    ending in ``hint``) when it is not one: not UTF-8 JSON, or not the mapping eval writes."""
    path = run_dir / "config.json"
    if not path.is_file():
        return None
    try:
        cfg = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: not an eval run's config ({_why(e)}){hint}") from None
    if not (
        isinstance(cfg, dict)
        and isinstance(cfg.get("eval"), dict)
        and isinstance(cfg["eval"].get("provider"), dict)
    ):
        raise ConfigError(
            f"{path}: not an eval run's config (no 'eval' section with a 'provider'){hint}"
        )
    return cfg


def _why(e: Exception) -> str:
    if isinstance(e, UnicodeDecodeError):
        return f"not UTF-8 text: byte 0x{e.object[e.start]:02x} at offset {e.start}"
    if isinstance(e, json.JSONDecodeError):
        return f"invalid JSON: {e.msg} at line {e.lineno}, column {e.colno}"
    return str(e)


def relative_paths(run_dir: Path, paths: dict[str, Any]) -> dict[str, str]:
    """Each existing path of ``paths`` relative to the run directory, recorded in config.json:
    a run folder moved with its data (a ``bizztune run`` folder) still resumes."""
    base = os.path.abspath(run_dir)
    return {
        k: Path(os.path.relpath(os.path.abspath(v), base)).as_posix()
        for k, v in paths.items()
        if v and os.path.exists(v)
    }


def _moved_together(old: dict[str, Any], new: dict[str, Any], key: str) -> bool:
    """Whether ``key``'s path differs only because the run directory and it moved together."""
    was = (old.get("relative_paths") or {}).get(key)
    return was is not None and was == (new.get("relative_paths") or {}).get(key)


def check_resume(run_dir: Path, resolved: dict[str, Any]) -> None:
    """A ConfigError when ``run_dir`` holds a run of another config (it is not resumed). Paths
    that moved with the run directory (the data and adapter of a run folder) are the same."""
    old = read_config(run_dir, "; pass another --out or delete it")
    if old is None:
        return
    for k in RESUME_KEYS:
        if k == "provider" or _moved_together(old, resolved, k):
            continue
        if old["eval"].get(k) != resolved["eval"].get(k):
            raise ConfigError(
                f"{run_dir} holds a run with another {k} ({old['eval'].get(k)!r}); "
                f"pass another --out or delete it"
            )
    for k in ("name", "model", "adapter", "decoding"):
        if k == "adapter" and _moved_together(old, resolved, k):
            continue
        if old["eval"]["provider"].get(k) != resolved["eval"]["provider"].get(k):
            raise ConfigError(
                f"{run_dir} holds a run of another provider {k} "
                f"({old['eval']['provider'].get(k)!r}); pass another --out or delete it"
            )


def record_problem(rec: Any) -> str | None:
    """Why a JSON value is not a prediction record, or None if it is one. Checks what the
    scorer and the reports read: id, parsed, gold and correct with their types."""
    if not isinstance(rec, dict):
        kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        return f"{kinds.get(type(rec), 'a number')}, not a record"
    if not isinstance(rec.get("id"), str) or not rec["id"]:
        return "no text 'id'"
    for key in ("parsed", "gold", "correct"):
        if not isinstance(rec.get(key), dict):
            return f"'{key}' is not a mapping"
    if not all(v is None or isinstance(v, str) for v in rec["parsed"].values()):
        return "'parsed' holds a value that is not a label"
    if not all(isinstance(v, str) for v in rec["gold"].values()):
        return "'gold' holds a value that is not a label"
    for key in ("latency_s", "prompt_tokens", "completion_tokens", "cost_usd"):
        if not isinstance(rec.get(key, 0), int | float):
            return f"'{key}' is not a number"
    if not isinstance(rec.get("errors", {}), dict):
        return "'errors' is not a mapping"
    return None


def read_predictions(path: Path, repair: bool = False) -> dict[str, dict[str, Any]]:
    """Records by item id (the last line of an id wins). A line cut by a crash (even inside a
    multi-byte character) or a line that is not a prediction record is dropped with a
    one-line warning, so its item is simply scored again; with ``repair`` the file is
    rewritten without such lines, so appending continues on a clean line."""
    done: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return done
    raw = path.read_bytes()
    dropped: list[str] = []
    for lineno, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            dropped.append(f"line {lineno}: cut short or not JSON")
            continue
        why = record_problem(rec)
        if why is not None:
            dropped.append(f"line {lineno}: {why}")
            continue
        done[rec["id"]] = rec
    if dropped:
        more = f" and {len(dropped) - 1} more" if len(dropped) > 1 else ""
        log.warning(
            "warning: %s: dropped %d torn or foreign line%s (%s%s); %s",
            path,
            len(dropped),
            "s" if len(dropped) > 1 else "",
            dropped[0],
            more,
            "items without a record are scored again" if repair else "they are left out",
        )
    if repair and (dropped or (raw and not raw.endswith(b"\n"))):
        rewrite_predictions(path, done.values())
    return done


def rewrite_predictions(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Replace the file with these records, atomically."""
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def provider_failed(rec: dict[str, Any]) -> bool:
    return any(str(v).startswith("provider error:") for v in rec.get("errors", {}).values())


def load_run(run_dir: Path) -> EvalRun:
    """The finished eval run in ``run_dir``; a DataError naming the file (and the field) when
    it is not one: no metrics.json or config.json, a field missing or of the wrong type, or
    fewer records than metrics.json counts."""
    mpath = run_dir / "metrics.json"
    if not mpath.is_file():
        raise DataError(f"{run_dir}: not a finished run directory (no metrics.json)")
    try:
        metrics = json.loads(mpath.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{mpath}: not an eval run's metrics ({_why(e)})") from None
    if not isinstance(metrics, dict) or "n" not in metrics:
        raise DataError(f"{mpath}: not an eval run's metrics (no item count 'n')")
    config = read_config(run_dir)
    if config is None:
        raise DataError(f"{run_dir}: not a finished run directory (no config.json)")
    preds = read_predictions(run_dir / "predictions.jsonl")
    run = EvalRun.of(run_dir, config, metrics, preds)
    if len(preds) < run.n:  # every reader compares records: never report stale metrics
        raise DataError(
            f"{run_dir / 'predictions.jsonl'}: {len(preds)} record{'s' * (len(preds) != 1)} for "
            f"the {metrics['n']} items metrics.json counts (cut or emptied since it was scored); "
            "rerun the same 'bizztune eval' to score the missing items"
        )
    return run


def run_report_md(run: EvalRun) -> str:
    m = run.metrics
    cfg = run.eval
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
                "most confident items over all coverages.",
                "",
            ]
            if (probs := probability_table([run]))
            else []
        ),
        "## Usage",
        "",
        usage_table([run]),
        "",
        *([note, ""] if (note := truncation_note([run])) else []),
        f"Accuracy in percent; 95% intervals are percentile bootstraps over items. With n={m['n']} "
        f"a single item moves an accuracy by {100 / max(m['n'], 1):.1f} points.",
    ]
    return "\n".join(parts) + "\n"


def write_run_report(run_dir: Path) -> Path:
    run = load_run(run_dir)
    path = run_dir / "report.md"
    write_text_atomic(path, run_report_md(run))
    return path
