"""``bizztune cascade RUN_A RUN_B``: a cascade of two finished eval runs, priced.

    bizztune cascade runs/eval/ft runs/eval/gpt-4 --calibration runs/eval/ft-val --out cascade/

    out = cascade_report(Path("runs/eval/ft"), Path("runs/eval/gpt-4"), CostsConfig())
    out["markdown"], out["summary"]

RUN_A's model answers when its confidence is at least t, RUN_B's recorded answer is used
otherwise; both runs must have scored the same items (the same ``--data``). With
``calibration`` (RUN_A's model scored on a validation split) RUN_A's probabilities are
calibrated first. The report is the one of ``bizztune run`` for these two models: the Decision
between A, B and the cascade at its chosen threshold, calibration, the cascade's curve,
cost per 1,000 tickets and the break-even volume (``report.decision``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bizztune.core.errors import DataError
from bizztune.eval.costs import CostsConfig
from bizztune.eval.paired import run_name
from bizztune.eval.rundir import load_run
from bizztune.eval.tables import accuracy_table, data_name
from bizztune.report.decision import decide
from bizztune.report.headline import headline, options_table

SMALL, FALLBACK = "a", "b"


def check_pair(a: dict[str, Any], b: dict[str, Any]) -> None:
    shared = [i for i in a["predictions"] if i in b["predictions"]]
    if not shared:
        raise DataError(
            f"{a['dir']} and {b['dir']} share no scored item: score both models on the same "
            f"--data (and --split)"
        )
    for i in shared:
        if a["predictions"][i]["gold"] != b["predictions"][i]["gold"]:
            raise DataError(
                f"item {i!r} has other gold labels in {a['dir']} than in {b['dir']}: the runs "
                f"scored different data"
            )
    if a["metrics"].get("fields", {}).keys() != b["metrics"].get("fields", {}).keys():
        raise DataError(f"{a['dir']} and {b['dir']} score different fields")


def cascade_report(
    run_a: Path,
    run_b: Path,
    costs: CostsConfig,
    calibration: Path | None = None,
    out: Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The Markdown report and summary of the cascade A -> B; with ``out``, also written
    there (cascade.md, cascade.json, plots/)."""
    a, b = load_run(run_a), load_run(run_b)
    check_pair(a, b)
    if calibration is not None:
        cal = load_run(calibration)
        if cal["config"]["eval"]["provider"] != a["config"]["eval"]["provider"]:
            raise DataError(
                f"--calibration {calibration} is a run of another model than {run_a}: pass "
                f"RUN_A's model scored on a validation split"
            )
    if run_name(a) == run_name(b):  # two runs of one model: tell them apart
        a["metrics"]["model"] = f"{run_name(a)} (A)"
        b["metrics"]["model"] = f"{run_name(b)} (B)"
    set_name = data_name(a)
    runs = {SMALL: a, FALLBACK: b}
    dec = decide(
        {set_name: runs},
        {SMALL: load_run(calibration)} if calibration is not None else None,
        costs,
        seed=seed,
        small=SMALL,
        fallbacks=[FALLBACK],
    )
    title = f"Cascade: {run_name(a)} first, {run_name(b)} for the unsure"
    parts = [f"# {title}", ""]
    if dec.decision is not None:
        parts += ["## Decision", "", *headline(dec.decision), "", options_table(dec.decision), ""]
    sections = [
        ("accuracy", "Accuracy", accuracy_table([a, b]), f"On {set_name}."),
        *dec.sections[:1],
        *dec.set_sections.get(set_name, []),
        *dec.sections[1:],
    ]
    for _key, heading, table, note in sections:
        parts += [f"## {heading}", "", table, "", note, ""]
    if calibration is None:
        parts += ["Without --calibration, RUN_A's confidences are its raw probabilities.", ""]
    files: list[str] = []
    if out is not None:
        plots = out / "plots"
        plots.mkdir(parents=True, exist_ok=True)
        parts += ["## Plots", ""]
        for key, caption, png in dec.plots:
            (plots / f"{key}.png").write_bytes(png)
            parts += [f"![{caption}](plots/{key}.png)", ""]
            files.append(str(plots / f"{key}.png"))
        (out / "cascade.json").write_text(
            json.dumps(dec.summary, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
        )
        files.append(str(out / "cascade.json"))
    md = "\n".join(parts)
    if out is not None:
        (out / "cascade.md").write_text(md, encoding="utf-8")
        files.insert(0, str(out / "cascade.md"))
    return {"markdown": md, "summary": dec.summary, "files": files}
