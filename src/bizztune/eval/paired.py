"""Paired comparison of two runs on the items both scored, and the verdict of the study.

    tests = paired_tests(base, finetuned)     # per field and joint: McNemar p, Δ and its interval
    fam = family_tests({"base": (base, ft), "tfidf": (tfidf, ft)})   # one family, Holm-adjusted
    fam["tfidf"]["joint"]["p_adj"], fam["tfidf"]["joint"]["verdict"]  # "inferior", ...
    summary = summarize_answer({"base": base, "finetuned": finetuned, "tfidf": tfidf})
    summary["verdict"]                        # one sentence, claims only what the data support

A family is every test one table and its verdict rest on: per test set, each field and joint
of the fine-tuned model against every other model. Its McNemar p-values are adjusted together
with Holm's method; each test gets the margin verdict of ``bizztune.eval.inference`` (superior,
non-inferior, inferior, inconclusive) and, when inconclusive, the planner's numbers of items.

Runs are the EvalRuns ``bizztune.eval.rundir.load_run`` reads. ``BASE_LABEL`` and
``FINETUNED_LABEL`` are the eval labels of the open model before and after fine-tuning in a
``bizztune run`` folder (``eval/base``, ``eval/finetuned``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bizztune.eval.inference import ALPHA, Discordance, holm, margin_verdict, plan, plan_sentence
from bizztune.eval.metrics import mcnemar_exact, paired_diff_ci
from bizztune.eval.runs import EvalRun
from bizztune.eval.tables import pct

BASE_LABEL = "base"
FINETUNED_LABEL = "finetuned"
MARGIN_PP = 2.0
"""The default non-inferiority margin, the one of ``costs.margin_pp``."""


def accuracy_of(run: EvalRun, field: str) -> float:
    """A run's accuracy on one field, or on all of them (``"joint"``)."""
    return run.accuracy(field)


def run_name(run: EvalRun) -> str:
    """The model's name as reports show it."""
    return run.name


def paired_tests(base: EvalRun, other: EvalRun) -> dict[str, Any]:
    """McNemar exact p and paired-bootstrap difference per field and joint, on shared items."""
    ids = [i for i in base.predictions if i in other.predictions]
    fields = list(base.fields)
    out: dict[str, Any] = {"n_shared": len(ids)}
    for f in [*fields, "joint"]:

        def ok(run: EvalRun, i: str, f: str = f) -> bool:
            c = run.predictions[i]["correct"]
            return all(c.values()) if f == "joint" else bool(c.get(f))

        a = [ok(base, i) for i in ids]
        b = [ok(other, i) for i in ids]
        mc = mcnemar_exact(a, b)
        d, lo, hi = paired_diff_ci(a, b)
        out[f] = {**mc, "diff": d, "diff_ci95": [lo, hi]}
    return out


def family_tests(
    pairs: Mapping[str, tuple[EvalRun, EvalRun]], margin_pp: float = MARGIN_PP
) -> dict[str, dict[str, Any]]:
    """``paired_tests(a, b)`` for each named pair (Δ = b - a), as one family: every field's
    and joint's McNemar p Holm-adjusted over all of them (``p_adj``), with its ``verdict`` at
    the margin and, when inconclusive, the planner's ``plan``."""
    tests = {k: paired_tests(a, b) for k, (a, b) in pairs.items()}
    keys = [(k, f) for k, t in tests.items() for f in t if f != "n_shared"]
    adjusted = holm([tests[k][f]["p_value"] for k, f in keys])
    for (k, f), p_adj in zip(keys, adjusted, strict=True):
        judge(tests[k][f], p_adj, margin_pp, tests[k]["n_shared"], len(keys))
    return tests


def judge(test: dict[str, Any], p_adj: float, margin_pp: float, n: int, family: int) -> None:
    """Add the adjusted p, the margin verdict and (inconclusive) the plan to one test of a
    family of ``family`` tests."""
    test["p_adj"] = p_adj
    test["verdict"] = margin_verdict(test["diff_ci95"], p_adj, margin_pp / 100)
    if test["verdict"] == "inconclusive":
        d = Discordance(n, test["only_a"], test["only_b"])
        test["plan"] = plan(d, margin_pp / 100, family=family)


def significant(test: Mapping[str, Any], alpha: float = ALPHA) -> int:
    """+1 / -1 when a paired difference is supported (p < alpha and its interval excludes 0),
    else 0; p is the Holm-adjusted ``p_adj`` where the test has one."""
    lo, hi = test["diff_ci95"]
    if test.get("p_adj", test["p_value"]) >= alpha:
        return 0
    return 1 if lo > 0 else -1 if hi < 0 else 0


LEAD = {
    "superior": "The fine-tuned model beats its base model",
    "inferior": "The fine-tuned model is worse than its base model",
    "non-inferior": "The fine-tuned model is not shown to beat its base model, only to be at "
    "most {m:g} pp below it",
    "inconclusive": "The data cannot tell the fine-tuned model from its base model",
}
RELATION = {
    "superior": "ahead of it",
    "inferior": "behind it",
    "non-inferior": "at most {m:g} pp behind it (non-inferior), not shown ahead of it",
    "inconclusive": "not distinguishable from it at this sample size, inconclusive at a "
    "{m:g} pp margin",
}


def cite(t: Mapping[str, Any]) -> str:
    """Δ, its interval and both p-values of one test, as the verdict cites them."""
    lo, hi = t["diff_ci95"]
    return (
        f"{100 * t['diff']:+.1f} pp, 95% CI [{100 * lo:+.1f}, {100 * hi:+.1f}], McNemar "
        f"p={t['p_value']:.3g}, Holm p={t['p_adj']:.3g}"
    )


def ranking(runs: Mapping[str, EvalRun]) -> list[dict[str, Any]]:
    """Every model by joint accuracy, best first."""
    ordered = sorted(runs.values(), key=lambda r: -accuracy_of(r, "joint"))
    return [{"model": run_name(r), "joint_accuracy": accuracy_of(r, "joint")} for r in ordered]


def summarize_answer(runs: Mapping[str, EvalRun], margin_pp: float = MARGIN_PP) -> dict[str, Any]:
    """The answer to the study's question, as numbers and one sentence. The fine-tuned model's
    tests against every other model are one family (``family_tests``); claims follow their
    Holm-adjusted p and margin verdicts."""
    out: dict[str, Any] = {"ranking": ranking(runs)}
    base, ft = runs.get(BASE_LABEL), runs.get(FINETUNED_LABEL)
    if base is None or ft is None:
        out["verdict"] = (
            "The fine-tuned model has not been evaluated yet."
            if ft is None
            else "The base model was not scored on this set (eval.base), so the fine-tuned "
            "model is not compared with it here."
        )
        return out
    fields = [*base.fields, "joint"]
    fam = family_tests(
        {label: (r, ft) for label, r in runs.items() if label != FINETUNED_LABEL}, margin_pp
    )
    tests = fam[BASE_LABEL]
    delta = {f: 100 * (accuracy_of(ft, f) - accuracy_of(base, f)) for f in fields}
    t = tests["joint"]
    m = margin_pp
    out.update(
        base={"model": run_name(base), **{f: accuracy_of(base, f) for f in fields}},
        finetuned={"model": run_name(ft), **{f: accuracy_of(ft, f) for f in fields}},
        delta_pp=delta,
        p_value={f: tests[f]["p_value"] for f in fields},
        p_adj={f: tests[f]["p_adj"] for f in fields},
        margin_verdict={f: tests[f]["verdict"] for f in fields},
        finetuned_beats_base=t["verdict"] == "superior",
        margin_pp=m,
        paired_tests={
            run_name(runs[k]): {f: v for f, v in ts.items() if f != "n_shared"}
            for k, ts in fam.items()
        },
    )

    def field_part(f: str) -> str:
        x = tests[f]
        return f"{f} {delta[f]:+.1f} pp (p={x['p_value']:.2g}, Holm p={x['p_adj']:.2g}: {x['verdict']})"

    per_field = "; ".join(field_part(f) for f in fields if f != "joint")
    sentence = (
        f"{LEAD[t['verdict']].format(m=m)}: joint accuracy "
        f"{pct(accuracy_of(base, 'joint'))}% → {pct(accuracy_of(ft, 'joint'))}% ({cite(t)})"
        f"; per field: {per_field}."
    )
    if "plan" in t:
        sentence += " " + plan_sentence(t["plan"], "the fine-tuned model")
    others = [label for label, r in runs.items() if label not in (BASE_LABEL, FINETUNED_LABEL)]
    if others:
        best = max(others, key=lambda k: accuracy_of(runs[k], "joint"))
        bt = fam[best]["joint"]
        sentence += (
            f" The best other model, {run_name(runs[best])}, reaches "
            f"{pct(accuracy_of(runs[best], 'joint'))}% joint accuracy; the fine-tuned model is "
            f"{RELATION[bt['verdict']].format(m=m)} ({cite(bt)})"
            + "."
            + (" " + plan_sentence(bt["plan"], "the fine-tuned model") if "plan" in bt else "")
        )
    out["verdict"] = sentence
    return out
