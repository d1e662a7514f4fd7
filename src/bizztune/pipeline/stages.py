"""The whole experiment in one command: data, baselines, fine-tuning, evaluation, report.

    bizztune run                                        # the defaults (= experiments/default.yaml)
    bizztune run --config experiments/study-gpu.yaml    # the original study's set-up on a GPU
    bizztune run --stages train,finetuned,report --force

    from bizztune.pipeline.config import RunConfig
    from bizztune.pipeline.stages import run_experiment
    result = run_experiment(RunConfig(), Path("runs/default"))

Stages, in order: ``generate`` (tickets) -> ``split`` (train/val/test) -> ``baselines`` (majority,
tfidf, the open model as is, API models whose key is set) -> ``train`` (LoRA/QLoRA adapter) ->
``finetuned`` (the open model with the adapter) -> ``report`` (Markdown + HTML). Each is a step
of its own folder (``bizztune.data``, ``bizztune.eval``, the registered trainer,
``bizztune.report``); this module plans them and hands them to the stage engine
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bizztune.core.errors import BizztuneError, MissingKeyError
from bizztune.core.interfaces import PromptStyle, ProviderConfig, Task
from bizztune.core.paths import responses_dir
from bizztune.core.registry import get_registry, load_trainer
from bizztune.data.generate import generate_dataset
from bizztune.data.split import split_dataset
from bizztune.eval.evaluate import Calls, EvalConfig, run_eval
from bizztune.eval.paired import BASE_LABEL, FINETUNED_LABEL
from bizztune.pipeline.config import RunConfig, default_out, resolved_yaml
from bizztune.pipeline.engine import (
    DONE,
    Marker,
    PrintReporter,
    Reporter,
    StageEngine,
    fingerprint,
    read_json,
)
from bizztune.report.experiment import write_experiment_report
from bizztune.tasks import load_task

STAGES = ("generate", "split", "baselines", "train", "finetuned", "report")
NEEDS: dict[str, tuple[str, ...]] = {
    "split": ("generate",),
    "baselines": ("split",),
    "train": ("split",),
    "finetuned": ("train",),
}
"""A stage needs these stages finished; the report reads whatever evals have finished."""


@dataclass
class PlannedEval:
    """One evaluation the run will make: its label (folder under eval/), its EvalConfig, the
    name the report shows, and the key it needs (None: no API; "": checked when connecting)."""

    label: str
    config: EvalConfig
    display: str
    api_key_env: str | None = None


@dataclass
class RunResult:
    dir: Path
    summary: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    """Eval label -> why it was skipped."""
    reports: list[Path] = field(default_factory=list)


# -- the pipeline ---------------------------------------------------------------------------------
class ExperimentRun(StageEngine):
    """The stages of one experiment, in order, over the stage engine."""

    def __init__(
        self,
        cfg: RunConfig,
        out: Path,
        stages: Sequence[str] | None,
        force: bool,
        reporter: Reporter,
    ) -> None:
        super().__init__(out, STAGES, NEEDS, stages, force, reporter)
        self.cfg = cfg
        self.result = RunResult(out)

    def generate(self, task: Task) -> Marker | None:
        c = self.cfg
        folder = self.dir / "data" / "raw"
        path = folder / f"{task.name}.jsonl"
        # The task's definition (labels, prompts) is part of the root of every fingerprint.
        task_def = getattr(task, "raw", None) or task.name
        fp = fingerprint("generate", task_def, asdict(c.data) | {"ratios": None}, c.seed)

        def work() -> dict[str, Any]:
            def progress(i: int, n: int) -> None:
                self.rep.progress("generate", i, n)

            provider = None
            if c.data.generator != "offline":
                provider = ProviderConfig(
                    name=c.data.generator,
                    model=c.data.model,
                    seed=c.seed,
                    cache_dir=responses_dir(),
                )
            # The same step as `bizztune generate`: rows, data card and manifest.
            generate_dataset(
                task, n=c.data.n, seed=c.seed, out=path, provider=provider, progress=progress
            )
            return {"path": self.rel(path)}

        return self.stage("generate", "generate", folder, fp, work)

    def split(self, task: Task, gen: Marker | None) -> Marker | None:
        c = self.cfg
        folder = self.dir / "data" / "split"
        fp = fingerprint("split", gen.token if gen else None, c.data.ratios, c.model.style, c.seed)

        def work() -> dict[str, Any]:
            assert gen is not None
            split_dataset(
                task,
                self.dir / gen.outputs["path"],
                folder,
                seed=c.seed,
                ratios=(c.data.ratios[0], c.data.ratios[1], c.data.ratios[2]),
                style=c.model.style,
            )
            counts = {
                s: sum(1 for line in (folder / f"{s}.jsonl").open(encoding="utf-8") if line.strip())
                for s in ("train", "val", "test")
                if (folder / f"{s}.jsonl").is_file()
            }
            return {"dir": self.rel(folder), "counts": counts}

        return self.stage("split", "split", folder, fp, work)

    def eval_config(
        self, label: str, provider: ProviderConfig, style: PromptStyle, calls: Calls = "joint"
    ) -> EvalConfig:
        c = self.cfg
        return EvalConfig(
            task=c.task,
            provider=provider,
            data=str(self.dir / "data" / "split"),
            split=c.eval.split,
            limit=c.eval.limit,
            style=style,
            calls=calls,
            out=str(self.dir / "eval" / label),
            seed=c.seed,
        )

    def plan_evals(self) -> list[PlannedEval]:
        """The baselines in config order, with the open model as is after the offline ones."""

        c = self.cfg
        reg = get_registry()
        base = PlannedEval(
            BASE_LABEL,
            self.eval_config(BASE_LABEL, c.model.provider_config(c.seed), c.model.style),
            f"{Path(c.model.name).name} (base)",
        )
        offline: list[PlannedEval] = []
        api: list[PlannedEval] = []
        for b in c.eval.baselines:
            needs = reg.get("provider", b.provider).needs  # what it declared when it registered
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
                self.eval_config(b.slug, pc, b.style, b.calls),
                b.label or b.provider,
                key_env,
            )
            (api if is_api else offline).append(job)
        return [*offline, base, *api]

    def evaluate(self, job: PlannedEval, group: str, upstream: str) -> Marker | None:
        key = f"eval:{job.label}"
        folder = Path(job.config.out or "")
        d = job.config.to_dict()
        for k in ("out",):
            d.pop(k)
        for k in ("cache_dir", "concurrency", "timeout_s", "max_retries"):
            d["provider"].pop(k)
        d["data"] = None  # the upstream token stands for the data and the adapter
        if d["provider"].get("adapter"):
            d["provider"]["adapter"] = "<train>"
        fp = fingerprint("eval", upstream, d)
        if job.api_key_env is not None and group in self.selected:
            if not self.cfg.eval.api:
                return self._skip(job, "API baselines are off (eval.api: false / --no-api)")
            if job.api_key_env and not os.environ.get(job.api_key_env, "").strip():
                old = read_json(folder / DONE)
                if not (old and old.get("fingerprint") == fp):
                    return self._skip(
                        job, f"{job.api_key_env} is not set (export it or put it in ./.env)"
                    )

        def work() -> dict[str, Any]:
            run_eval(job.config, progress=lambda i, n: self.rep.progress(key, i, n))
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
        self.rep.stage(f"eval:{job.label}", "skipped", why)
        return None

    def train(self, task: Task, split: Marker | None) -> Marker | None:
        folder = self.dir / "train"
        probe = self.cfg.train_config(Path("<split>"), Path("<out>"), resume=False).to_dict()
        for k in ("num_threads", "resume", "device"):
            probe.pop(k, None)
        fp = fingerprint("train", split.token if split else None, probe)

        def work() -> dict[str, Any]:
            assert split is not None
            resume = any(folder.glob("checkpoint-*"))
            tcfg = self.cfg.train_config(self.dir / split.outputs["dir"], folder, resume=resume)
            adapter = load_trainer(tcfg.trainer).train(task, tcfg)
            return {"adapter": self.rel(adapter), "dir": self.rel(folder), "trainer": tcfg.trainer}

        return self.stage("train", "train", folder, fp, work)

    def report(
        self, evals: list[tuple[PlannedEval, Marker]], train: Marker | None
    ) -> Marker | None:
        folder = self.dir / "report"
        fp = fingerprint(
            "report",
            asdict(self.cfg.report),
            [(j.label, j.display, m.token) for j, m in evals],
            train.token if train else None,
            sorted(self.result.skipped.items()),
        )

        def work() -> dict[str, Any]:
            out = write_experiment_report(
                self.dir,
                [(j.label, self.dir / m.outputs["dir"], j.display) for j, m in evals],
                train_dir=self.dir / train.outputs["dir"] if train else None,
                skipped=self.result.skipped,
                title=self.cfg.report.title,
                write_html=self.cfg.report.html,
                confusion=self.cfg.report.confusion,
                config=self.cfg,
            )
            return {"files": [self.rel(f) for f in out["files"]], "summary": out["summary"]}

        return self.stage("report", "report", folder, fp, work)

    # -- all of it --------------------------------------------------------------------------
    def run(self) -> RunResult:
        c = self.cfg
        task = load_task(c.task)
        with self.claimed(resolved_yaml(c)):
            self._run_stages(task)
        return self.result

    def _run_stages(self, task: Task) -> None:
        c = self.cfg
        # Every stage is visited: one that was not asked for gives its marker when it is current.
        gen = self.generate(task)
        split = self.split(task, gen)
        evals: list[tuple[PlannedEval, Marker]] = []
        if split is not None:
            for job in self.plan_evals():
                m = self.evaluate(job, "baselines", split.token)
                if m is not None:
                    evals.append((job, m))
        train = self.train(task, split) if split is not None else None
        if train is not None:
            adapter = str(self.dir / train.outputs["adapter"])
            ft = PlannedEval(
                FINETUNED_LABEL,
                self.eval_config(
                    FINETUNED_LABEL, c.model.provider_config(c.seed, adapter), c.model.style
                ),
                f"{Path(c.model.name).name} (fine-tuned, {train.outputs.get('trainer', 'lora')})",
            )
            m = self.evaluate(ft, "finetuned", train.token)
            if m is not None:
                evals.append((ft, m))
        if not evals and "report" in self.selected:
            raise BizztuneError("no evaluation has finished, so there is nothing to report")
        rep = self.report(evals, train) if evals else None
        if rep is not None:
            self.result.summary = rep.outputs.get("summary", {})
            self.result.reports = [self.dir / p for p in rep.outputs.get("files", [])]


def run_experiment(
    cfg: RunConfig,
    out: Path | None = None,
    stages: Sequence[str] | None = None,
    force: bool = False,
    reporter: Reporter | None = None,
) -> RunResult:
    """Run (or resume) the experiment in ``out`` (default ``runs/<name>``)."""
    run = ExperimentRun(cfg, out or default_out(cfg), stages, force, reporter or PrintReporter())
    return run.run()
