"""``bizztune plan``: how many test items a comparison needs, from two finished eval runs.

    bizztune plan runs/eval/tfidf runs/eval/ft --delta 3 --power 0.8   # B = ft against A = tfidf
    bizztune plan runs/default --field all        # a run folder: the fine-tuned model against
                                                  # every other model in its eval/

    out = plan_runs(Path("runs/eval/tfidf"), Path("runs/eval/ft"), PlanRequest(delta_pp=3))
    out["markdown"], out["plans"]

From the items both runs scored it takes the share of discordant items (exactly one of the two
right) and the measured difference B - A, and gives, at the requested power and level, the
number of test items with which McNemar's test would find a difference of ``delta`` pp
(Connor 1987), and with which B could be shown non-inferior to A at the margin (the lower end of
the 95% interval of B - A above -margin), if the measured difference is the true one. The
formulas and their assumptions: ``bizztune.eval.inference`` and docs/method.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizztune.core.errors import ConfigError, DataError
from bizztune.eval.inference import ALPHA, POWER, Discordance, plan
from bizztune.eval.paired import BASE_LABEL, FINETUNED_LABEL, MARGIN_PP, paired_tests, run_name
from bizztune.eval.rundir import load_run
from bizztune.eval.runs import EvalRun
from bizztune.eval.tables import field_title, md_header
from bizztune.report.pair import check_pair


@dataclass
class PlanRequest:
    """What ``bizztune plan`` is asked (its flags)."""

    delta_pp: float = 3.0
    """The difference to detect, in percentage points."""
    power: float = POWER
    alpha: float = ALPHA
    """Two-sided level of the test; the non-inferiority bound is the (1 - alpha) interval's."""
    margin_pp: float = MARGIN_PP
    """The non-inferiority margin (``costs.margin_pp``)."""
    field: str = "joint"
    """A field of the task, ``joint`` (all fields right) or ``all`` (each field and joint)."""

    def __post_init__(self) -> None:
        if not 0 < self.delta_pp < 100:
            raise ConfigError(f"--delta must be between 0 and 100 pp, not {self.delta_pp:g}")
        if not 0 < self.power < 1:
            raise ConfigError(f"--power must be between 0 and 1, not {self.power:g}")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"--alpha must be between 0 and 1, not {self.alpha:g}")
        if not 0 <= self.margin_pp < 100:
            raise ConfigError(f"--margin-pp must be between 0 and 100, not {self.margin_pp:g}")


def _pairs(run_a: Path, run_b: Path | None) -> list[tuple[str, EvalRun, str, EvalRun]]:
    """(name A, run A, name B, run B) for two eval folders, or for a ``bizztune run`` folder
    the fine-tuned model (else the base model) as B against every other model in its eval/."""
    if run_b is not None:
        a, b = load_run(run_a), load_run(run_b)
        check_pair(a, b)
        return [(run_name(a), a, run_name(b), b)]
    evals = run_a / "eval"
    if not evals.is_dir():
        raise DataError(
            f"{run_a}: not a bizztune run folder (no eval/); pass two eval run folders, "
            f"RUN_A and RUN_B"
        )
    runs = {d.name: load_run(d) for d in sorted(evals.iterdir()) if (d / "metrics.json").is_file()}
    ref = next((x for x in (FINETUNED_LABEL, BASE_LABEL) if x in runs), None)
    if ref is None or len(runs) < 2:
        raise DataError(
            f"{evals}: needs the finished eval of '{FINETUNED_LABEL}' (or '{BASE_LABEL}') and "
            f"of one other model"
        )
    return [(label, r, ref, runs[ref]) for label, r in runs.items() if label != ref]


def plan_runs(run_a: Path, run_b: Path | None, req: PlanRequest) -> dict[str, Any]:
    """The planner's table for B against A (module docstring); ``markdown`` and ``plans``."""
    pairs = _pairs(run_a, run_b)
    fields = [*pairs[0][1].fields, "joint"]
    if req.field != "all" and req.field not in fields:
        raise ConfigError(
            f"--field {req.field!r} is not a field of these runs: one of {', '.join(fields)}, all"
        )
    chosen = fields if req.field == "all" else [req.field]
    m = req.margin_pp
    head = [
        "B vs A",
        "Field",
        "Shared items",
        "Discordant %",
        "Δ B - A pp",
        f"N to detect {req.delta_pp:g} pp",
        "N to detect the measured Δ",
        f"N to show B within {m:g} pp of A",
    ]
    lines = md_header(head)
    plans: list[dict[str, Any]] = []
    for name_a, a, name_b, b in pairs:
        tests = paired_tests(a, b)
        n = tests["n_shared"]
        for f in chosen:
            d = Discordance(n, tests[f]["only_a"], tests[f]["only_b"])
            asked = plan(d, m / 100, req.delta_pp / 100, req.power, req.alpha)
            seen = plan(d, m / 100, None, req.power, req.alpha)
            plans.append(
                {
                    "a": name_a,
                    "b": name_b,
                    "field": f,
                    **asked,
                    "n_detect_measured": seen["n_detect"],
                }
            )
            lines.append(
                "| "
                + " | ".join(
                    [
                        f"{name_b} vs {name_a}",
                        field_title(f),
                        str(n),
                        f"{100 * d.rate:.1f}",
                        f"{100 * d.diff:+.1f}",
                        _n(asked["n_detect"]),
                        _n(seen["n_detect"]),
                        _n(asked["n_non_inferior"]),
                    ]
                )
                + " |"
            )
    note = (
        f"Test items needed for power {req.power:g} at a two-sided level of {req.alpha:g}, with "
        f"the share of discordant items (exactly one of A and B right) measured here. Detect: "
        f"McNemar's test finds a difference of that size (Connor 1987; a discordance below the "
        f"difference is raised to it). Within {m:g} pp: the lower end of the "
        f"{100 * (1 - req.alpha):g}% interval of B - A lies above -{m:g} pp, if the measured "
        f"difference is the true one; 'never' when it is -{m:g} pp or worse. Normal "
        f"approximations: below a few dozen discordant items the exact test needs somewhat more "
        f"(docs/method.md)."
    )
    md = "\n".join(["# Sample-size plan", "", *lines, "", note, ""])
    return {"markdown": md, "plans": plans}


def _n(n: int | None) -> str:
    return "never" if n is None else f"{n:,}"
