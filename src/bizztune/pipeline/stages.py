"""The whole experiment in one command: data, baselines, fine-tuning, evaluation, report.

    bizztune run                                        # the defaults (= experiments/default.yaml)
    bizztune run --config experiments/study-gpu.yaml    # the original study's set-up on a GPU
    bizztune run --stages train,finetuned,report --force

    from bizztune.pipeline.config import RunConfig
    from bizztune.pipeline.stages import run_experiment
    cfg = RunConfig()
    result = run_experiment(cfg, load_task(cfg.task), registry(), Path("runs/default"))

Stages, in order: ``generate`` (tickets) -> ``split`` (train/val/test) -> ``baselines`` (majority,
tfidf, the open model as is, API models whose key is set) -> ``train`` (LoRA/QLoRA adapter) ->
``finetuned`` (the open model with the adapter) -> ``report`` (Markdown + HTML). Each is a step
of its own folder (``bizztune.data``, ``bizztune.eval``, the registered trainer,
``bizztune.report``); ``datastages.py`` holds the two data stages (generated tickets, or your own
file with ``data.file``), this module plans the rest and hands them to the stage engine
(``engine.py``), which skips what is done and redoes what changed. Which baselines need a key,
and which are paid APIs, comes from what each provider declared when it registered.

The run folder: ``data/raw`` (the generated rows, their data card and manifest), ``data/split``,
``eval/<label>`` (one eval run directory per model), ``train`` (the adapter folder), the reports
(``report.md``, ``report.html``, ``summary.json``, ``report/plots``), ``config.yaml``,
``versions.json`` and ``run.json``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bizztune.core.errors import BizztuneError, MissingKeyError
from bizztune.core.interfaces import PromptStyle, ProviderConfig, Task
from bizztune.core.paths import responses_dir
from bizztune.core.registry import Registry
from bizztune.data.io import load_examples
from bizztune.data.shift import compare_sets
from bizztune.data.sources import resolve_data
from bizztune.eval.evaluate import Calls, EvalConfig, run_eval
from bizztune.eval.paired import BASE_LABEL, FINETUNED_LABEL
from bizztune.pipeline.combined import run_combined
from bizztune.pipeline.config import FOLDS, RunConfig, default_out, resolved_yaml
from bizztune.pipeline.crossfit import run_crossfit
from bizztune.pipeline.datastages import DataStages
from bizztune.pipeline.engine import (
    DONE,
    Marker,
    PrintReporter,
    Reporter,
    content_token,
    fingerprint,
    read_json,
    read_marker,
)
from bizztune.pipeline.plan import PlannedEval, RunResult, SetPlan, TestSet, plan_sets
from bizztune.report.experiment import write_experiment_report
from bizztune.trainers.config import TRAIN_CONFIG_VERSION

STAGES = ("generate", "split", "baselines", "train", "finetuned", "folds", "report")
NEEDS: dict[str, tuple[str, ...]] = {
    "split": ("generate",),
    "baselines": ("split",),
    "train": ("split",),
    "finetuned": ("train",),
    "folds": ("split",),
}
"""A stage needs these stages finished; the report reads whatever evals have finished."""


# -- the pipeline ---------------------------------------------------------------------------------
class ExperimentRun(DataStages):
    """The stages of one experiment, in order, over the stage engine."""

    def __init__(
        self,
        cfg: RunConfig,
        task: Task,
        plugins: Registry,
        out: Path,
        stages: Sequence[str] | None,
        force: bool,
        reporter: Reporter,
    ) -> None:
        super().__init__(out, STAGES, NEEDS, stages, force, reporter)
        self.cfg = cfg
        self.task = task
        """The run's task, resolved from ``cfg.task`` by the caller."""
        self.plugins = plugins
        self.result = RunResult(out)

    def eval_config(
        self,
        label: str,
        provider: ProviderConfig,
        style: PromptStyle,
        calls: Calls = "joint",
        test_set: TestSet | None = None,
        fittable: bool = False,
    ) -> EvalConfig:
        c = self.cfg
        ts = test_set or TestSet("", "", None, c.eval.split, True)
        split_dir = str(self.dir / "data" / "split")
        return EvalConfig(
            task=c.task,
            provider=provider,
            data=ts.spec or split_dir,
            split=ts.split,
            # Train on one set, test on another: fittable baselines learn from the run's split.
            train_data=split_dir if fittable and ts.spec else None,
            limit=c.eval.limit,
            style=style,
            calls=calls,
            out=str(self.dir / ts.folder() / label),
            seed=c.seed,
        )

    def plan_evals(self, test_set: TestSet | None = None) -> list[PlannedEval]:
        """The baselines in config order, with the open model as is after the offline ones."""

        c = self.cfg
        base = PlannedEval(
            BASE_LABEL,
            self.eval_config(
                BASE_LABEL, c.model.provider_config(c.seed), c.model.style, test_set=test_set
            ),
            f"{Path(c.model.name).name} (base)",
            test_set=test_set,
        )
        offline: list[PlannedEval] = []
        api: list[PlannedEval] = []
        for b in c.eval.baselines:
            needs = self.plugins.provider(b.provider).needs  # declared when it registered
            is_api = needs.paid
            pc = ProviderConfig(
                name=b.provider,
                model=b.model,
                base_url=b.base_url,
                decoding=b.decoding,
                concurrency=b.concurrency,
                seed=c.seed,
                cache_dir=responses_dir() if is_api else None,
            )
            key_env: str | None = None
            if is_api:
                key_env = needs.key_env or ""  # "": the key is checked when connecting
                self_hosted = b.base_url or (
                    needs.base_url_env and os.environ.get(needs.base_url_env)
                )
                if self_hosted:
                    key_env = ""  # a self-hosted OpenAI-compatible server takes any key
            job = PlannedEval(
                b.slug,
                self.eval_config(b.slug, pc, b.style, b.calls, test_set, needs.fittable),
                b.label or b.provider,
                key_env,
                test_set,
            )
            (api if is_api else offline).append(job)
        return [*offline, base, *api]

    def scored(self, job: PlannedEval, plan: SetPlan) -> bool:
        """Whether ``job`` is scored on its set: the base model only on the sets the Decision
        reads, unless ``eval.base`` is ``all``."""
        if job.label != BASE_LABEL or self.cfg.eval.base == "all":
            return True
        return job.test_set in (plan.decide, plan.confirm)

    def evaluate(self, job: PlannedEval, group: str, upstream: str) -> Marker | None:
        ts = job.test_set
        key = ts.key(job.label) if ts else f"eval:{job.label}"
        folder = Path(job.config.out or "")
        d = job.config.to_dict()
        for k in ("out",):
            d.pop(k)
        for k in ("cache_dir", "concurrency", "timeout_s", "max_retries"):
            d["provider"].pop(k)
        # The upstream token stands for the run's data and the adapter; a set from outside the
        # run is stood for by its content, so editing it redoes its evaluations.
        d["data"] = content_token(self.data_path(ts)) if ts and ts.spec else None
        d["train_data"] = None
        if d["provider"].get("adapter"):
            d["provider"]["adapter"] = "<train>"
        fp = fingerprint("eval", upstream, d)
        # checked whether or not --stages names the eval group: the report lists what was skipped
        if job.api_key_env is not None:
            if not self.cfg.eval.api:
                return self._skip(job, "API baselines are off (eval.api: false / --no-api)")
            if job.api_key_env and not os.environ.get(job.api_key_env, "").strip():
                old, _ = read_marker(folder / DONE)
                if not (old and old["fingerprint"] == fp):
                    return self._skip(
                        job, f"{job.api_key_env} is not set (export it or put it in ./.env)"
                    )

        def work() -> dict[str, Any]:
            provider = self.plugins.provider(job.config.provider.name)
            run_eval(job.config, self.task, provider, lambda i, n: self.rep.progress(key, i, n))
            m = read_json(folder / "metrics.json") or {}
            return {
                "dir": self.rel(folder),
                "display": job.display,
                "n": m.get("n"),
                "joint_accuracy": (m.get("joint") or {}).get("accuracy"),
            }

        try:
            return self.stage(key, group, folder, fp, work)
        except MissingKeyError as e:
            return self._skip(job, str(e))

    def _skip(self, job: PlannedEval, why: str) -> Marker | None:
        self.result.skipped[job.label] = why
        ts = job.test_set
        self.rep.stage(ts.key(job.label) if ts else f"eval:{job.label}", "skipped", why)
        return None

    def data_path(self, ts: TestSet) -> Path:
        return resolve_data(self.task, ts.spec)

    def train(self, task: Task, split: Marker | None) -> Marker | None:
        folder = self.dir / "train"
        probe = self.cfg.train_config(Path("<split>"), Path("<out>"), resume=False).to_dict()
        for k in ("num_threads", "resume", "device", "report_to"):  # not what is trained
            probe.pop(k, None)
        fp = fingerprint("train", TRAIN_CONFIG_VERSION, split.token if split else None, probe)

        def work() -> dict[str, Any]:
            assert split is not None
            resume = any(folder.glob("checkpoint-*"))
            tcfg = self.cfg.train_config(self.dir / split.outputs["dir"], folder, resume=resume)
            adapter = self.plugins.trainer(tcfg.trainer).train(task, tcfg)
            return {"adapter": self.rel(adapter), "dir": self.rel(folder), "trainer": tcfg.trainer}

        return self.stage("train", "train", folder, fp, work)

    def report(
        self,
        task: Task,
        evals: list[tuple[PlannedEval, Marker]],
        train: Marker | None,
        split: Marker | None,
        plan: SetPlan | None = None,
    ) -> Marker | None:
        folder = self.dir / "report"
        sets: dict[str, list[tuple[str, Path, str]]] = {}
        for j, m in evals:
            name = j.test_set.name if j.test_set else f"{self.cfg.eval.split} split"
            sets.setdefault(name, []).append((j.label, self.dir / m.outputs["dir"], j.display))
        fp = fingerprint(
            "report",
            asdict(self.cfg.report),
            [(j.label, j.test_set and j.test_set.slug, j.display, m.token) for j, m in evals],
            train.token if train else None,
            split.token if split else None,
            sorted(self.result.skipped.items()),
            asdict(self.cfg.costs),
            *([asdict(plan.roles())] if plan else []),
        )

        def work() -> dict[str, Any]:
            shift = self.data_shift(task, split, [j.test_set for j, _ in evals if j.test_set])
            out = write_experiment_report(
                self.dir,
                sets,
                train_dir=self.dir / train.outputs["dir"] if train else None,
                skipped=self.result.skipped,
                title=self.cfg.report.title,
                write_html=self.cfg.report.html,
                confusion=self.cfg.report.confusion,
                config=self.cfg,
                shift=shift,
                costs=self.cfg.costs,
                sets=plan.roles() if plan else None,
            )
            return {"files": [self.rel(f) for f in out["files"]], "summary": out["summary"]}

        return self.stage("report", "report", folder, fp, work)

    def data_shift(
        self, task: Task, split: Marker | None, test_sets: Sequence[TestSet]
    ) -> dict[str, dict[str, Any]]:
        """Each test set against the run's train split (bizztune.data.shift), by set name."""
        if split is None:
            return {}
        split_dir = self.dir / split.outputs["dir"]
        train = [e.to_record() for e in load_examples(split_dir, task, "train")]
        out: dict[str, dict[str, Any]] = {}
        for ts in dict.fromkeys(test_sets):
            if ts.split == FOLDS:  # the train split's own tickets: nothing to compare
                continue
            path = self.data_path(ts) if ts.spec else split_dir
            rows = [
                e.to_record()
                for e in load_examples(path, task, ts.split if path.is_dir() else None)
            ]
            out[ts.name] = compare_sets(train, rows, task.schema, seed=self.cfg.seed)
        return out

    # -- all of it --------------------------------------------------------------------------
    def run(self) -> RunResult:
        c = self.cfg
        task = self.task
        # a bad data.file fails before the folder is claimed: checked here, once, and handed
        # to the generate stage; and so do bad eval.test_sets and decision sets
        own = self.own_source(task) if c.data.file is not None else None
        plan = plan_sets(c, task, self.n_own if own is not None else None)
        inputs = [("--data", own), *(("eval.test_sets", t.spec) for t in plan.sets if t.spec)]
        with self.claimed(resolved_yaml(c), inputs, self.run_data(own)):
            self._run_stages(task, plan, own)
        return self.result

    def _run_stages(self, task: Task, plan: SetPlan, own: Path | None) -> None:
        c = self.cfg
        test_sets = plan.sets
        # Every stage is visited: one that was not asked for gives its marker when it is current.
        gen = self.generate(task, own)
        split = self.split(task, gen)
        evals: list[tuple[PlannedEval, Marker]] = []
        if split is not None:
            for ts in test_sets:
                for job in self.plan_evals(ts):
                    if not self.scored(job, plan):
                        continue
                    m = self.evaluate(job, "baselines", split.token)
                    if m is not None:
                        evals.append((job, m))
        train = self.train(task, split) if split is not None else None
        if train is not None:
            adapter = str(self.dir / train.outputs["adapter"])
            for ts in test_sets:
                ft = PlannedEval(
                    FINETUNED_LABEL,
                    self.eval_config(
                        FINETUNED_LABEL,
                        c.model.provider_config(c.seed, adapter),
                        c.model.style,
                        test_set=ts,
                    ),
                    f"{Path(c.model.name).name} (fine-tuned, {train.outputs.get('trainer', 'lora')})",
                    test_set=ts,
                )
                m = self.evaluate(ft, "finetuned", train.token)
                if m is not None:
                    evals.append((ft, m))
        crossfit = [plan.decide] if plan.decide.split == FOLDS else []
        if crossfit and split is not None:  # the Decision chooses on cross-fitted folds
            display = f"{Path(c.model.name).name} (fine-tuned, {c.train.trainer})"
            evals += run_crossfit(self, task, plan.decide, split, gen, display)
        # The combined model (eval.combine) on every set its members finished: seconds.
        evals += run_combined(self, task, [*test_sets, *crossfit], evals)
        if not evals and "report" in self.selected:
            raise BizztuneError("no evaluation has finished, so there is nothing to report")
        rep = self.report(task, evals, train, split, plan) if evals else None
        if rep is not None:
            self.result.summary = rep.outputs.get("summary", {})
            self.result.reports = [self.dir / p for p in rep.outputs.get("files", [])]


def run_experiment(
    cfg: RunConfig,
    task: Task,
    plugins: Registry,
    out: Path | None = None,
    stages: Sequence[str] | None = None,
    force: bool = False,
    reporter: Reporter | None = None,
) -> RunResult:
    """Run (or resume) the experiment in ``out`` (default ``runs/<name>``): ``task`` is
    ``cfg.task`` resolved, ``plugins`` resolves its provider and trainer names."""
    folder = out or default_out(cfg)
    run = ExperimentRun(cfg, task, plugins, folder, stages, force, reporter or PrintReporter())
    return run.run()
