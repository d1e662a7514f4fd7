"""Cross-fitting in ``bizztune run``: with few tickets of your own, the Decision rests on all of
the train and val tickets rather than on the val split's tenth.

    bizztune run --data my-tickets.csv                 # under 500 tickets: 5 folds by default
    bizztune run --data my-tickets.csv --choose-on folds --folds 10

The stage ``folds`` deals the split's own train and val tickets into ``decision.folds`` (k)
stratified folds (``bizztune.data.folds``; generated tickets added with ``data.add_generated``
stay in every training part) under ``crossfit/data/fold<i>``. For every fold i, each model of
the run is scored on fold i's tickets: every fittable baseline fitted on the other folds, the
fine-tuned model trained on them with the run's recipe (stage ``train:fold<i>``), a model that
learns nothing (the base model, API models) as it is; stage ``eval@fold<i>:<label>``. Then
``eval@folds:<label>`` puts each model's k runs together into ``eval-folds/<label>``: one eval
run that scored every own train and val ticket once, with a model that never saw it. That set
is where the Decision chooses; the test split, scored by the run's own models, confirms.

Each model is trained k more times: the cost of cross-fitting is about k fine-tunings on
(k-1)/k of the data, and k scorings of a fold each (docs/method.md gives the measured cost).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from bizztune.core.interfaces import Task
from bizztune.core.registry import Registry
from bizztune.data.folds import FOLDS_SCHEMA_VERSION, write_folds
from bizztune.eval.combine import concat_runs
from bizztune.eval.paired import FINETUNED_LABEL
from bizztune.pipeline.engine import Marker, fingerprint
from bizztune.pipeline.plan import PlannedEval, RunHost, TestSet
from bizztune.trainers.config import TRAIN_CONFIG_VERSION

GROUP = "folds"

Evals = list[tuple[PlannedEval, Marker]]


class Host(RunHost, Protocol):
    """What cross-fitting needs of the run (``stages.ExperimentRun``)."""

    plugins: Registry

    def plan_evals(self, test_set: TestSet | None = None) -> list[PlannedEval]: ...

    def evaluate(self, job: PlannedEval, group: str, upstream: str) -> Marker | None: ...


def run_crossfit(
    host: Host, task: Task, ts: TestSet, split: Marker, gen: Marker | None, display_ft: str
) -> Evals:
    """Every stage of the cross-fitting, in order; the merged evaluation of each model on
    ``ts`` (the folds set) that finished on every fold."""
    c = host.cfg
    k = c.decision.folds
    folds = folds_stage(host, task, split, gen)
    if folds is None:
        return []
    fittable = {
        b.slug for b in c.eval.baselines if host.plugins.provider(b.provider).needs.fittable
    }
    per_label: dict[str, list[Marker]] = {}
    jobs: dict[str, PlannedEval] = {}
    for i in range(k):
        fold = TestSet(f"fold {i}", f"fold{i}", None, "test", False)
        data = host.dir / folds.outputs["dir"] / f"fold{i}"
        for job in host.plan_evals(fold):
            if job.api_key_env is not None and not c.eval.api:
                continue
            folder = host.dir / "crossfit" / f"fold{i}" / "eval" / job.label
            cfg = replace(
                job.config,
                data=str(data),
                split="test",
                train_data=str(data) if job.label in fittable else None,
                out=str(folder),
            )
            m = host.evaluate(_job(job, cfg, fold), GROUP, folds.token)
            if m is not None:
                per_label.setdefault(job.label, []).append(m)
                jobs[job.label] = job
        tr = train_stage(host, task, folds, i)
        if tr is not None:
            base = next(j for j in host.plan_evals(fold) if j.label == "base")
            folder = host.dir / "crossfit" / f"fold{i}" / "eval" / FINETUNED_LABEL
            provider = c.model.provider_config(c.seed, str(host.dir / tr.outputs["adapter"]))
            cfg = replace(
                base.config, data=str(data), split="test", provider=provider, out=str(folder)
            )
            ft = PlannedEval(FINETUNED_LABEL, cfg, display_ft, None, fold)
            m = host.evaluate(ft, GROUP, tr.token)
            if m is not None:
                per_label.setdefault(FINETUNED_LABEL, []).append(m)
                jobs[FINETUNED_LABEL] = ft
    out: Evals = []
    for label, markers in per_label.items():
        if len(markers) == k:
            m = merge_stage(host, task, ts, label, jobs[label].display, markers)
            if m is not None:
                out.append(
                    (PlannedEval(label, jobs[label].config, jobs[label].display, None, ts), m)
                )
    return out


def _job(like: PlannedEval, cfg: Any, fold: TestSet) -> PlannedEval:
    return PlannedEval(like.label, cfg, like.display, like.api_key_env, fold)


def generated_ids(host: Host, gen: Marker | None) -> list[str]:
    """The ids of the generated tickets ``data.add_generated`` put in the train split."""
    rel = gen.outputs.get("generated") if gen else None
    if not rel:
        return []
    lines = (host.dir / rel).read_text(encoding="utf-8").splitlines()
    return [str(json.loads(x)["id"]) for x in lines if x.strip()]


def folds_stage(host: Host, task: Task, split: Marker, gen: Marker | None) -> Marker | None:
    c = host.cfg
    folder = host.dir / "crossfit" / "data"
    fp = fingerprint("folds", FOLDS_SCHEMA_VERSION, split.token, c.decision.folds, c.seed)

    def work() -> dict[str, Any]:
        keep = generated_ids(host, gen)
        info = write_folds(
            host.dir / split.outputs["dir"], folder, task, c.decision.folds, c.seed, keep
        )
        return {
            "dir": host.rel(folder),
            "k": info["k"],
            "tickets": info["tickets"],
            "sizes": info["sizes"],
        }

    return host.stage("folds", GROUP, folder, fp, work)


def train_stage(host: Host, task: Task, folds: Marker, i: int) -> Marker | None:
    c = host.cfg
    folder = host.dir / "crossfit" / f"fold{i}" / "train"
    probe = c.train_config(Path("<fold>"), Path("<out>"), resume=False).to_dict()
    for k in ("num_threads", "resume", "device", "report_to"):
        probe.pop(k, None)
    fp = fingerprint("train", TRAIN_CONFIG_VERSION, folds.token, i, probe)

    def work() -> dict[str, Any]:
        resume = any(folder.glob("checkpoint-*"))
        data = host.dir / folds.outputs["dir"] / f"fold{i}"
        tcfg = c.train_config(data, folder, resume=resume)
        adapter = host.plugins.trainer(tcfg.trainer).train(task, tcfg)
        return {"adapter": host.rel(adapter), "dir": host.rel(folder), "trainer": tcfg.trainer}

    return host.stage(f"train:fold{i}", GROUP, folder, fp, work)


def merge_stage(
    host: Host, task: Task, ts: TestSet, label: str, display: str, markers: Sequence[Marker]
) -> Marker | None:
    folder = host.dir / ts.folder() / label
    fp = fingerprint("crossfit", [m.token for m in markers])

    def work() -> dict[str, Any]:
        dirs = [host.dir / m.outputs["dir"] for m in markers]
        concat_runs(task, dirs, folder, display, seed=host.cfg.seed)
        return {"dir": host.rel(folder), "display": display}

    return host.stage(ts.key(label), GROUP, folder, fp, work)
