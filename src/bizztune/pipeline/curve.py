"""The learning curve and the seeds of ``bizztune run``: more trials of the same steps.

    # experiments/learning-curve.yaml
    train: {sizes: [100, 200, 400, 800], seeds: [0, 1, 2], seeds_at: largest}

    bizztune run --config experiments/learning-curve.yaml
    bizztune run --sizes 8,16 --seeds 0,1 --stages curve,report

For every size n of ``train.sizes`` (None: the whole train split) the stage ``subset:n<n>``
writes the nested, stratified subset of the run's train split (``bizztune.data.subsets``)
into ``curve/n<n>/data``. Every fittable baseline (majority, tfidf) is fitted on it and scored
on every test set (``curve/n<n>/<eval folder>/<label>``, stage ``eval:<label>-n<n>``). The open
model is fine-tuned on it with the run's recipe once per seed that size gets
(``curve/n<n>/seed<s>/train``, stage ``train:n<n>-s<s>``) and scored on every test set
(``curve/n<n>/seed<s>/<eval folder>/finetuned``, stage ``eval:n<n>-s<s>``). The first seed of
``train.seeds`` (None: the run's seed) is trained at every size, the others at the largest
only, or at every size with ``seeds_at: all``.

The point that is the run's own fine-tuning, the whole train split at the run's seed, is not
trained twice: it is the ``train`` stage and its evaluations (the subset of every item is the
train split byte for byte, so the two would be the same). So are the fittable baselines at the
whole split. Every other point is a stage of its own, with its fingerprint, in the ``curve``
group of ``--stages``; each frees its model before the next starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import Task
from bizztune.core.registry import Registry
from bizztune.data.subsets import SUBSET_SCHEMA_VERSION, write_subset
from bizztune.eval.evaluate import EvalConfig
from bizztune.eval.paired import FINETUNED_LABEL
from bizztune.pipeline.config import RunConfig
from bizztune.pipeline.engine import Marker, fingerprint
from bizztune.pipeline.plan import PlannedEval, RunHost, TestSet
from bizztune.report.curve import CurveRun
from bizztune.trainers.config import TRAIN_CONFIG_VERSION, TrainConfig

GROUP = "curve"


class Host(RunHost, Protocol):
    """What the curve needs of the run (``stages.ExperimentRun``): also its evaluations, and
    the registry that resolves its provider and trainer names."""

    plugins: Registry

    def plan_evals(self, test_set: TestSet | None = None) -> list[PlannedEval]: ...

    def evaluate(self, job: PlannedEval, group: str, upstream: str) -> Marker | None: ...


@dataclass(frozen=True)
class CurvePoint:
    """One finished evaluation of the curve, with the token the report fingerprints."""

    set_name: str
    run: CurveRun
    token: str


def plan_points(cfg: RunConfig, n_train: int) -> list[tuple[int, list[int]]]:
    """(size, seeds) per size, smallest first."""
    t = cfg.curve
    sizes = t.sizes or [n_train]
    seeds = t.seeds or [cfg.seed]
    return [(n, seeds if t.seeds_at == "all" or n == sizes[-1] else seeds[:1]) for n in sizes]


def run_curve(
    host: Host,
    task: Task,
    split: Marker,
    test_sets: Sequence[TestSet],
    train: Marker | None,
    evals: Sequence[tuple[PlannedEval, Marker]],
) -> list[CurvePoint]:
    """Every stage of the curve, in order; the evaluations that finished."""
    c = host.cfg
    if not c.curve.active:
        return []
    n_train = int(split.outputs["counts"]["train"])
    too_many = [n for n in c.curve.sizes or () if n > n_train]
    if too_many:
        raise ConfigError(
            f"train.sizes: {too_many[0]} is more than the {n_train} tickets of the train split; "
            f"use sizes up to {n_train}"
        )
    reg = host.plugins
    fittable = {b.slug for b in c.eval.baselines if reg.provider(b.provider).needs.fittable}
    main = {(j.label, j.test_set.slug if j.test_set else ""): m for j, m in evals}
    out: list[CurvePoint] = []

    def keep(ts: TestSet, model: str, display: str, n: int, seed: int, m: Marker | None) -> None:
        if m is not None:
            run = CurveRun(model, display, n, seed, host.dir / m.outputs["dir"])
            out.append(CurvePoint(ts.name, run, m.token))

    for n, seeds in plan_points(c, n_train):
        sub = subset_stage(host, task, split, n)
        if sub is None:
            continue
        full = n == n_train
        for ts in test_sets:
            for job in host.plan_evals(ts):
                if job.label not in fittable:
                    continue
                if full:
                    m = main.get((job.label, ts.slug))
                else:
                    folder = host.dir / "curve" / f"n{n}" / ts.folder() / job.label
                    cfg = replace(
                        job.config, train_data=str(host.dir / sub.outputs["dir"]), out=str(folder)
                    )
                    m = host.evaluate(_job(job, f"{job.label}-n{n}", cfg), GROUP, sub.token)
                keep(ts, job.label, job.display, n, c.seed, m)
        for s in seeds:
            if full and s == c.seed and getattr(c.train, "limit_train", None) is None:
                for ts in test_sets:  # the run's own fine-tuning is this point
                    m = main.get((FINETUNED_LABEL, ts.slug))
                    keep(ts, FINETUNED_LABEL, _display(c, train), n, s, m)
                continue
            point = train_stage(host, task, sub, n, s)
            if point is None:
                continue
            adapter = str(host.dir / point.outputs["adapter"])
            for ts in test_sets:
                job = finetuned_job(host, ts, adapter, n, s, _display(c, point))
                keep(ts, FINETUNED_LABEL, job.display, n, s, host.evaluate(job, GROUP, point.token))
    return out


def subset_stage(host: Host, task: Task, split: Marker, n: int) -> Marker | None:
    c = host.cfg
    folder = host.dir / "curve" / f"n{n}" / "data"
    fp = fingerprint("subset", SUBSET_SCHEMA_VERSION, split.token, n, c.seed)

    def work() -> dict[str, Any]:
        info = write_subset(host.dir / split.outputs["dir"], folder, task, n, c.seed)
        return {"dir": host.rel(folder), "n": n, "quota_gap": info["quota_gap"]}

    return host.stage(f"subset:n{n}", GROUP, folder, fp, work)


def train_stage(host: Host, task: Task, sub: Marker, n: int, seed: int) -> Marker | None:
    c = host.cfg
    folder = host.dir / "curve" / f"n{n}" / f"seed{seed}" / "train"
    probe = c.train_config(Path("<subset>"), Path("<out>"), resume=False, seed=seed).to_dict()
    for k in ("num_threads", "resume", "device", "limit_train", "report_to"):
        probe.pop(k, None)
    fp = fingerprint("train", TRAIN_CONFIG_VERSION, sub.token, probe)

    def work() -> dict[str, Any]:
        resume = any(folder.glob("checkpoint-*"))
        tcfg = c.train_config(host.dir / sub.outputs["dir"], folder, resume=resume, seed=seed)
        if isinstance(tcfg, TrainConfig):
            tcfg = replace(tcfg, limit_train=None)  # the subset is the training data
        adapter = host.plugins.trainer(tcfg.trainer).train(task, tcfg)
        return {
            "adapter": host.rel(adapter),
            "dir": host.rel(folder),
            "trainer": tcfg.trainer,
            "n": n,
            "seed": seed,
        }

    return host.stage(f"train:n{n}-s{seed}", GROUP, folder, fp, work)


def finetuned_job(
    host: Host, ts: TestSet, adapter: str, n: int, seed: int, display: str
) -> PlannedEval:
    """The fine-tuned model of one point, scored on one test set like the run's own."""
    c = host.cfg
    base = next(j for j in host.plan_evals(ts) if j.label == "base")
    folder = host.dir / "curve" / f"n{n}" / f"seed{seed}" / ts.folder() / FINETUNED_LABEL
    cfg = replace(base.config, provider=c.model.provider_config(c.seed, adapter), out=str(folder))
    return _job(base, f"n{n}-s{seed}", cfg, display)


def _job(like: PlannedEval, label: str, cfg: EvalConfig, display: str | None = None) -> PlannedEval:
    return PlannedEval(label, cfg, display or like.display, None, like.test_set)


def _display(cfg: RunConfig, train: Marker | None) -> str:
    trainer = (train.outputs.get("trainer") if train else None) or cfg.train.trainer
    return f"{Path(cfg.model.name).name} (fine-tuned, {trainer})"
