"""The options of the Decision, built from eval runs: every model alone (the combined model
among them), each with its cost and its joint correctness on every set.

    mcost = model_costs(by_set[decide_on], costs, train)
    candidates = candidates_of(by_set, decide_on, mcost, costs, fields)

``by_set``: set name -> eval label -> run (an EvalRun, renamed to its display name).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bizztune.eval.choose import Candidate
from bizztune.eval.combine import is_combined
from bizztune.eval.costs import CostsConfig, ModelCost, model_cost
from bizztune.eval.decision import Kind
from bizztune.eval.paired import FINETUNED_LABEL, run_name
from bizztune.eval.runs import EvalRun

Run = EvalRun


# -- per item --------------------------------------------------------------------------------------
def aligned(runs: Mapping[str, Run]) -> list[str]:
    """The item ids every run scored, in the first run's order."""
    first = next(iter(runs.values()))
    return [i for i in first.predictions if all(i in r.predictions for r in runs.values())]


def correct_of(run: Run, ids: Sequence[str], fields: Sequence[str]) -> dict[str, list[bool]]:
    return {f: [bool(run.predictions[i]["correct"].get(f)) for i in ids] for f in fields}


def joint_of(c: Mapping[str, Sequence[bool]]) -> list[bool]:
    return [all(x) for x in zip(*c.values(), strict=True)]


# -- costs -----------------------------------------------------------------------------------------
def model_costs(
    runs: Mapping[str, Run], costs: CostsConfig, train: Mapping[str, Any] | None
) -> dict[str, ModelCost]:
    """Each model's cost structure, from its run on one set; ``train``: the fine-tuned
    model's train_summary.json, whose training a combined model holding it pays too."""

    def trained(label: str) -> dict[str, Any] | None:
        holds = label == FINETUNED_LABEL or FINETUNED_LABEL in label.split("+")
        return dict(train) if holds and train else None

    return {label: model_cost(r, costs, run_name(r), trained(label)) for label, r in runs.items()}


# -- the candidates --------------------------------------------------------------------------------
def candidates_of(
    by_set: Mapping[str, Mapping[str, Run]],
    decide_on: str,
    mcost: Mapping[str, ModelCost],
    costs: CostsConfig,
    fields: Sequence[str],
) -> list[Candidate]:
    """Every model scored on the decision set, with its joint correctness on the items every
    model of a set scored."""
    v = costs.tickets_per_month
    ids = {s: aligned(runs) for s, runs in by_set.items() if runs}
    out: list[Candidate] = []
    for label, r in by_set[decide_on].items():
        correct = {
            s: joint_of(correct_of(by_set[s][label], ids[s], fields))
            for s in ids
            if label in by_set[s]
        }
        kind: Kind = "combined" if is_combined(r) else "model"
        out.append(Candidate(label, run_name(r), kind, mcost[label].per_1000(v, costs), correct))
    return out
