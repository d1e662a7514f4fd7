"""Paired comparison of two runs on the items both scored, and the verdict of the study.

    tests = paired_tests(base, finetuned)     # per field and joint: McNemar p, Δ and its interval
    summary = summarize_answer({"base": base, "finetuned": finetuned, "tfidf": tfidf})
    summary["verdict"]                        # one sentence, claims only what the data support

Runs are the dicts ``bizztune.eval.rundir.load_run`` reads. ``BASE_LABEL`` and
``FINETUNED_LABEL`` are the eval labels of the open model before and after fine-tuning in a
``bizztune run`` folder (``eval/base``, ``eval/finetuned``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bizztune.eval.metrics import mcnemar_exact, paired_diff_ci
from bizztune.eval.tables import pct

BASE_LABEL = "base"
FINETUNED_LABEL = "finetuned"


def accuracy_of(run: dict[str, Any], field: str) -> float:
    """A run's accuracy on one field, or on all of them (``"joint"``)."""
    m = run["metrics"]
    return float(m["joint"]["accuracy"] if field == "joint" else m["fields"][field]["accuracy"])


def run_name(run: dict[str, Any]) -> str:
    """The model's name as reports show it."""
    return str(run["metrics"].get("model", run["dir"].name))


def paired_tests(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """McNemar exact p and paired-bootstrap difference per field and joint, on shared items."""
    ids = [i for i in base["predictions"] if i in other["predictions"]]
    fields = list(base["metrics"]["fields"])
    out: dict[str, Any] = {"n_shared": len(ids)}
    for f in [*fields, "joint"]:

        def ok(run: dict[str, Any], i: str, f: str = f) -> bool:
            c = run["predictions"][i]["correct"]
            return all(c.values()) if f == "joint" else bool(c.get(f))

        a = [ok(base, i) for i in ids]
        b = [ok(other, i) for i in ids]
        mc = mcnemar_exact(a, b)
        d, lo, hi = paired_diff_ci(a, b)
        out[f] = {**mc, "diff": d, "diff_ci95": [lo, hi]}
    return out


def significant(test: Mapping[str, Any], alpha: float = 0.05) -> int:
    """+1 / -1 when a paired difference is supported (p < alpha and its interval excludes 0),
    else 0."""
    lo, hi = test["diff_ci95"]
    if test["p_value"] >= alpha:
        return 0
    return 1 if lo > 0 else -1 if hi < 0 else 0


def summarize_answer(runs: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The answer to the study's question, as numbers and one sentence."""
    ordered = sorted(runs.values(), key=lambda r: -accuracy_of(r, "joint"))
    out: dict[str, Any] = {
        "ranking": [
            {"model": run_name(r), "joint_accuracy": accuracy_of(r, "joint")} for r in ordered
        ]
    }
    base, ft = runs.get(BASE_LABEL), runs.get(FINETUNED_LABEL)
    if base is None or ft is None:
        out["verdict"] = "The fine-tuned model has not been evaluated yet."
        return out
    fields = [*base["metrics"]["fields"], "joint"]
    tests = paired_tests(base, ft)
    delta = {f: 100 * (accuracy_of(ft, f) - accuracy_of(base, f)) for f in fields}
    t = tests["joint"]
    # A claim only where the data support it: McNemar p < 0.05 and a paired interval without 0.
    joint_sig = significant(t)
    out.update(
        base={"model": run_name(base), **{f: accuracy_of(base, f) for f in fields}},
        finetuned={"model": run_name(ft), **{f: accuracy_of(ft, f) for f in fields}},
        delta_pp=delta,
        p_value={f: tests[f]["p_value"] for f in fields},
        finetuned_beats_base=joint_sig > 0,
    )

    def field_part(f: str) -> str:
        mark = "" if significant(tests[f]) == 0 else ", significant"
        return f"{f} {delta[f]:+.1f} pp (p={tests[f]['p_value']:.2g}{mark})"

    per_field = "; ".join(field_part(f) for f in fields if f != "joint")
    lead = {
        1: "The fine-tuned model beats its base model",
        -1: "The fine-tuned model is worse than its base model",
        0: "The data cannot tell the fine-tuned model from its base model",
    }[joint_sig]
    sentence = (
        f"{lead}: joint accuracy "
        f"{pct(accuracy_of(base, 'joint'))}% → {pct(accuracy_of(ft, 'joint'))}% ({delta['joint']:+.1f} pp, "
        f"95% CI [{100 * t['diff_ci95'][0]:+.1f}, {100 * t['diff_ci95'][1]:+.1f}], McNemar "
        f"p={t['p_value']:.3g}); per field: {per_field}."
    )
    others = [r for r in ordered if r is not ft and r is not base]
    if others:
        best = others[0]
        sig = significant(paired_tests(best, ft)["joint"])
        rel = {1: "ahead of", -1: "behind", 0: "not distinguishable from"}[sig]
        sentence += (
            f" The best other model, {run_name(best)}, reaches {pct(accuracy_of(best, 'joint'))}% "
            f"joint accuracy; the fine-tuned model is {rel} it."
        )
    out["verdict"] = sentence
    return out
