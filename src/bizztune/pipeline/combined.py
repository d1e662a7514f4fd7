"""The combined model of ``bizztune run``: ``eval.combine``'s models pooled into one.

    eval: {combine: [finetuned, tfidf]}    # the default when tfidf is a baseline

On every set where all the members finished, the stage ``eval:finetuned+tfidf``
(``eval@<set>:...`` on the other sets) combines their recorded answers
(``bizztune.eval.combine``) into ``<eval folder>/finetuned+tfidf``. It belongs to the ``finetuned`` group of ``--stages``, is
redone whenever a member is, and asks no model anything: it takes seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bizztune.core.interfaces import ProviderConfig, Task
from bizztune.eval.combine import PROVIDER, combine_runs
from bizztune.eval.evaluate import EvalConfig
from bizztune.pipeline.engine import Marker, fingerprint
from bizztune.pipeline.plan import PlannedEval, RunHost, TestSet

GROUP = "finetuned"

Evals = list[tuple[PlannedEval, Marker]]


def run_combined(host: RunHost, task: Task, sets: Sequence[TestSet], done: Evals) -> Evals:
    """The combined model's evaluation on each of ``sets`` whose members are all in ``done``."""
    labels = host.cfg.eval.combine_labels()
    if not labels:
        return []
    label = "+".join(labels)
    out: Evals = []
    for ts in sets:
        found = {j.label: (j, m) for j, m in done if j.test_set == ts}
        if any(x not in found for x in labels):
            continue
        members = [found[x] for x in labels]
        folder = host.dir / ts.folder() / label
        display = " × ".join(j.display for j, _ in members)
        fp = fingerprint("combine", [(j.label, m.token) for j, m in members])

        def work(
            members: Evals = members, folder: Path = folder, display: str = display
        ) -> dict[str, Any]:
            dirs = [host.dir / m.outputs["dir"] for _, m in members]
            combine_runs(task, dirs, folder, name=display, seed=host.cfg.seed)
            return {"dir": host.rel(folder), "display": display, "members": labels}

        m = host.stage(ts.key(label), GROUP, folder, fp, work)
        if m is not None:
            cfg = EvalConfig(
                task=host.cfg.task, provider=ProviderConfig(name=PROVIDER), out=str(folder)
            )
            out.append((PlannedEval(label, cfg, display, test_set=ts), m))
    return out
