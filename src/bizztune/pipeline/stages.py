"""The whole experiment in one command: data, baselines, fine-tuning, evaluation, report.

    bizztune run                                        # the defaults (= experiments/default.yaml)
    bizztune run --config experiments/study-gpu.yaml    # the original study's set-up on a GPU
    bizztune run --stages train,finetuned,report --force

    from bizztune.pipeline.stages import RunConfig, run_experiment
    result = run_experiment(RunConfig(), Path("runs/default"))

Stages, in order: ``generate`` (tickets) -> ``split`` (train/val/test) -> ``baselines`` (majority,
tfidf, the open model as is, API models whose key is set) -> ``train`` (LoRA/QLoRA adapter) ->
``finetuned`` (the open model with the adapter) -> ``report`` (Markdown + HTML).

Every stage writes into its own folder of the run folder and finishes by writing
``stage.done.json`` (last, atomically), which holds a fingerprint of the stage's config and of
the stages it read from. A rerun skips a stage whose marker matches; a stage without a marker
was interrupted and is redone (an eval keeps the items it had scored, a trainer resumes from its
last checkpoint); a stage whose config or inputs changed is wiped and redone, and so is
everything downstream. The run folder also holds the resolved ``config.yaml`` (feed it back with
``--config``) and ``versions.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from bizztune import __version__
from bizztune.core.config import build, merge, read_yaml, to_yaml
from bizztune.core.errors import BizztuneError, ConfigError, MissingKeyError
from bizztune.core.interfaces import Decoding, PromptStyle, ProviderConfig
from bizztune.eval.evaluate import Calls, EvalConfig
from bizztune.trainers.config import TrainConfig

RUN_SCHEMA_VERSION = 1
STAGES = ("generate", "split", "baselines", "train", "finetuned", "report")
# A stage needs these stages finished; the report reads whatever evals have finished.
_NEEDS: dict[str, tuple[str, ...]] = {
    "split": ("generate",),
    "baselines": ("split",),
    "train": ("split",),
    "finetuned": ("train",),
}
DONE = "stage.done.json"
STARTED = "stage.started.json"
RUN_MARKER = "run.json"
VERSIONED = (
    "bizztune",
    "torch",
    "transformers",
    "peft",
    "trl",
    "datasets",
    "accelerate",
    "bitsandbytes",
    "numpy",
    "scikit-learn",
)
BASE_LABEL = "base"
FINETUNED_LABEL = "finetuned"
RUN_TRAIN_DEFAULTS: dict[str, Any] = {
    "r": 16,
    "alpha": 32,
    "target_modules": ["all-linear"],
    "learning_rate": 2e-3,
    "warmup_ratio": 0.03,
    "batch_size": 4,
    "max_steps": 200,
}
"""Where the run's training defaults differ from TrainConfig's (the study's r=8, alpha=8,
q/k/v/o/gate, lr 2e-4, batch 8): the CPU recipe of experiments/default.yaml. A 135M model
barely moves off its label prior with the study's recipe in the few hundred steps a 2-core CPU
affords; a larger rank on every linear layer, a 10x learning rate and batches of 4 (twice the
updates for the same compute) make it learn the task within one epoch of 800 tickets. A
config's ``train`` section is laid over these."""


# -- config ---------------------------------------------------------------------------------------
@dataclass
class DataConfig:
    """The ``generate`` and ``split`` stages."""

    n: int = 1000
    """Tickets to generate; the test split holds ``n * ratios[2]`` of them."""
    generator: str = "offline"
    """"offline": the task's built-in generator (no network). A provider name (``gpt-4``, ...)
    generates with that LLM instead, as the original study did (needs its key)."""
    model: str | None = None
    """Model for an LLM generator; None: the provider's default."""
    ratios: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    """train, val, test fractions of the stratified, leakage-free split."""

    def __post_init__(self) -> None:
        if self.n < 10:
            raise ConfigError("data.n must be at least 10 tickets")
        if len(self.ratios) != 3 or any(r < 0 for r in self.ratios):
            raise ConfigError("data.ratios must be three non-negative numbers: train, val, test")
        if abs(sum(self.ratios) - 1.0) > 1e-6:
            raise ConfigError(f"data.ratios must sum to 1, not {sum(self.ratios):g}")


@dataclass
class BaselineConfig:
    """One model to benchmark next to the open model. YAML: a provider name, or a mapping."""

    provider: str
    """Provider name or alias (``majority``, ``tfidf``, ``gpt-4``, ``open-mistral-7b``...)."""
    model: str | None = None
    """Model id for providers that take one (``litellm``, ``openai`` with ``base_url``)."""
    label: str | None = None
    """Folder name under ``eval/`` and report name; None: derived from provider and model."""
    style: PromptStyle = "long"
    """Prompt style; API models need the long prompt, which lists the taxonomy."""
    calls: Calls = "joint"
    decoding: Decoding = "free"
    base_url: str | None = None
    """OpenAI-compatible server (vLLM, Ollama): no real key needed."""
    concurrency: int = 4

    @property
    def slug(self) -> str:
        if self.label:
            return self.label
        name = self.provider if not self.model else f"{self.provider}-{Path(self.model).name}"
        return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


@dataclass
class ModelConfig:
    """The open model: benchmarked as is, fine-tuned, and benchmarked again with its adapter."""

    name: str = "smollm2-135m"
    """Embedded model (``smollm2-135m``, ``gemma3-270m``) or a local Hugging Face folder; also
    the trainer's base model."""
    provider: str = "hf"
    """Local provider that runs it for evaluation."""
    style: PromptStyle = "compact"
    """Prompt style for training and for both evaluations of this model (they must match)."""
    decoding: Decoding = "constrained"
    """"constrained": only valid labels can be generated; "free": generated text is parsed."""
    batch_size: int = 8
    max_new_tokens: int = 64
    load_in_4bit: bool = False
    """Evaluate in 4-bit NF4 (bitsandbytes, GPU), as QLoRA trains."""
    device: str | None = None
    dtype: str | None = None

    def provider_config(self, seed: int, adapter: str | None = None) -> ProviderConfig:
        return ProviderConfig(
            name=self.provider,
            model=self.name,
            adapter=adapter,
            decoding=self.decoding,
            batch_size=self.batch_size,
            max_new_tokens=self.max_new_tokens,
            load_in_4bit=self.load_in_4bit,
            device=self.device,
            dtype=self.dtype,
            seed=seed,
        )


def _default_baselines() -> list[BaselineConfig]:
    names = ("majority", "tfidf", "gpt-4", "gpt-3.5-turbo", "open-mistral-7b")
    return [BaselineConfig(n) for n in names]


@dataclass
class EvalSettings:
    """The ``baselines`` and ``finetuned`` stages."""

    split: str = "test"
    limit: int | None = None
    """Score only the first N test items (None: all)."""
    baselines: list[BaselineConfig] = field(default_factory=_default_baselines)
    """Models benchmarked besides the open model, which is always included."""
    api: bool = True
    """Benchmark API baselines whose key is set; false: skip them all (fully offline)."""

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise ConfigError("eval.limit must be a positive number of items")
        items: list[BaselineConfig] = []
        for i, b in enumerate(self.baselines or []):
            if isinstance(b, str):
                b = BaselineConfig(b)
            elif isinstance(b, dict):
                b = build(BaselineConfig, b, f"eval.baselines[{i}]")
            elif not isinstance(b, BaselineConfig):
                raise ConfigError(
                    f"eval.baselines[{i}]: expected a provider name or a mapping, not {b!r}"
                )
            items.append(b)
        slugs = [b.slug for b in items]
        for s in slugs:
            if s in (BASE_LABEL, FINETUNED_LABEL) or slugs.count(s) > 1:
                raise ConfigError(
                    f"eval.baselines: the name '{s}' is taken; give the baseline a unique 'label'"
                )
        self.baselines = items


@dataclass
class ReportConfig:
    """The ``report`` stage."""

    title: str = "Does task-specific fine-tuning beat the foundation models?"
    html: bool = True
    """Also write the self-contained ``report.html``."""
    confusion: Literal["all", "open"] = "all"
    """Confusion matrices for every model, or only the open model before and after."""


@dataclass
class RunConfig:
    """One experiment. CLI flags override the YAML file, which overrides these defaults."""

    name: str = "default"
    """Experiment name; the run folder defaults to ``runs/<name>``."""
    task: str = "tickets"
    """Registered task name or task YAML path."""
    seed: int = 0
    """Seeds everything: generation, split, training, bootstrap intervals, decoding."""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    eval: EvalSettings = field(default_factory=EvalSettings)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(**RUN_TRAIN_DEFAULTS))
    """The trainer's config: TrainConfig's defaults except ``RUN_TRAIN_DEFAULTS``. ``model``,
    ``data``, ``out``, ``task``, ``style`` and ``seed`` are filled in from this run and may not
    be set here."""
    report: ReportConfig = field(default_factory=ReportConfig)

    def train_config(self, split_dir: Path, out: Path, resume: bool) -> TrainConfig:
        return replace(
            self.train,
            model=self.model.name,
            data=str(split_dir),
            out=str(out),
            task=self.task,
            style=self.model.style,
            seed=self.seed,
            resume=resume,
        )


_RUN_FILLED = ("model", "data", "out", "task", "style", "seed", "resume")


def load_run_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """RunConfig from a YAML file (or the defaults), with CLI overrides on top."""
    data = read_yaml(path) if path else {}
    where = str(path or "defaults")
    train = data.get("train")
    if isinstance(train, dict):
        for k in _RUN_FILLED:
            if k in train:
                alt = {"model": "model.name", "style": "model.style"}.get(k, k)
                raise ConfigError(
                    f"{where}: train.{k} is filled in by the run; set '{alt}' at the top level "
                    f"instead (or remove it)"
                )
    if path and "name" not in data:
        data["name"] = path.stem
    if isinstance(train, dict):
        data["train"] = {**RUN_TRAIN_DEFAULTS, **train}
    return build(RunConfig, merge(data, overrides or {}), where)


def resolved_yaml(cfg: RunConfig) -> str:
    """Every value of ``cfg`` as an experiment file that ``--config`` reads back."""
    import yaml

    data = yaml.safe_load(to_yaml(cfg))
    for k in _RUN_FILLED:
        data["train"].pop(k, None)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return f"# The resolved config of this run; rerun it with --config this-file.\n{body}"


def default_out(cfg: RunConfig) -> Path:
    return Path("runs") / cfg.name


# -- progress -------------------------------------------------------------------------------------
Status = Literal["start", "cached", "done", "skipped", "redo"]


class Reporter(Protocol):
    """Where the pipeline tells what it is doing; the CLI shows it with rich."""

    def stage(self, key: str, status: Status, detail: str = "") -> None: ...

    def progress(self, key: str, done: int, total: int) -> None: ...


class PrintReporter:
    """Plain lines on stderr (for library use and logs)."""

    def stage(self, key: str, status: Status, detail: str = "") -> None:
        print(f"[{status}] {key}{': ' + detail if detail else ''}", file=sys.stderr, flush=True)

    def progress(self, key: str, done: int, total: int) -> None:
        return None


# -- markers --------------------------------------------------------------------------------------
def _fingerprint(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: Any) -> None:
    """Write atomically: a crash leaves the old file or none, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def versions() -> dict[str, Any]:
    """Versions of bizztune, its key dependencies (None: not installed) and the platform."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, Any] = {}
    for pkg in VERSIONED:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    out["bizztune"] = __version__
    out["python"] = platform.python_version()
    out["platform"] = platform.platform()
    out["machine"] = platform.machine()
    out["cpu_count"] = os.cpu_count()
    return out


@dataclass
class Marker:
    """A finished stage: what it was given (fingerprint) and what it made."""

    key: str
    fingerprint: str
    finished_at: str
    seconds: float
    outputs: dict[str, Any]

    @property
    def token(self) -> str:
        """What downstream stages fingerprint: a redo of this stage invalidates them."""
        return f"{self.fingerprint}@{self.finished_at}"


@dataclass
class EvalJob:
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
class _Runner:
    def __init__(
        self,
        cfg: RunConfig,
        out: Path,
        stages: Sequence[str] | None,
        force: bool,
        reporter: Reporter,
    ) -> None:
        unknown = [s for s in stages or () if s not in STAGES]
        if unknown:
            raise ConfigError(
                f"--stages: unknown stage {', '.join(map(repr, unknown))}; "
                f"choose from {', '.join(STAGES)}"
            )
        self.cfg, self.dir, self.force, self.rep = cfg, out, force, reporter
        self.selected = set(stages or STAGES)
        needed = set(self.selected)
        for s in reversed(STAGES):  # the dependency closure of what was asked for
            if s in needed:
                needed.update(_NEEDS.get(s, ()))
        self.needed = needed
        self.result = RunResult(out)

    def stage(
        self, key: str, group: str, folder: Path, fp: str, work: Callable[[], dict[str, Any]]
    ) -> Marker | None:
        """Run one stage unless its marker is current; None when it is neither run nor done."""
        old = _read_json(folder / DONE)
        fresh = old is not None and old.get("fingerprint") == fp
        if fresh and not (self.force and group in self.selected):
            assert old is not None
            self.rep.stage(key, "cached", f"finished {old.get('finished_at')}")
            return Marker(
                **{k: old[k] for k in ("key", "fingerprint", "finished_at", "seconds", "outputs")}
            )
        if group not in self.selected:
            if group in self.needed:
                state = "is out of date for this config" if old else "has not finished"
                raise ConfigError(
                    f"stage '{key}' {state}, and the stages you asked for need it: "
                    f"add '{group}' to --stages or drop --stages"
                )
            return None
        started = _read_json(folder / STARTED)
        resumable = old is None and started is not None and started.get("fingerprint") == fp
        if folder.exists() and not resumable:
            if old is not None and not fresh:
                self.rep.stage(key, "redo", "its config or inputs changed")
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        _write_json(folder / STARTED, {"key": key, "fingerprint": fp, "started_at": _now()})
        self.rep.stage(key, "start", "resuming" if resumable else "")
        t0 = time.perf_counter()
        outputs = work()
        marker = Marker(key, fp, _now(), round(time.perf_counter() - t0, 3), outputs)
        _write_json(folder / DONE, {**asdict(marker), "versions": versions()})
        self.rep.stage(key, "done", f"{marker.seconds:.1f} s")
        return marker

    def rel(self, path: Path | str) -> str:
        """A path as stored in markers: relative to the run folder, so the folder can move."""
        p = Path(path).resolve()
        try:
            return p.relative_to(self.dir.resolve()).as_posix()
        except ValueError:
            return str(p)

    # -- stages -----------------------------------------------------------------------------
    def generate(self, task: Any) -> Marker | None:
        c = self.cfg
        folder = self.dir / "data" / "raw"
        path = folder / f"{task.name}.jsonl"
        # The task's definition (labels, prompts) is part of the root of every fingerprint.
        task_def = getattr(task, "raw", None) or task.name
        fp = _fingerprint("generate", task_def, asdict(c.data) | {"ratios": None}, c.seed)

        def work() -> dict[str, Any]:
            from bizztune.core.paths import responses_dir
            from bizztune.data.generate import generate_dataset

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

    def split(self, task: Any, gen: Marker | None) -> Marker | None:
        c = self.cfg
        folder = self.dir / "data" / "split"
        fp = _fingerprint("split", gen.token if gen else None, c.data.ratios, c.model.style, c.seed)

        def work() -> dict[str, Any]:
            from bizztune.data.split import split_dataset

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

    def eval_jobs(self) -> list[EvalJob]:
        """The baselines in config order, with the open model as is after the offline ones."""
        from bizztune.core.paths import responses_dir
        from bizztune.core.registry import get_registry

        c = self.cfg
        reg = get_registry()
        base = EvalJob(
            BASE_LABEL,
            self.eval_config(BASE_LABEL, c.model.provider_config(c.seed), c.model.style),
            f"{Path(c.model.name).name} (base)",
        )
        offline: list[EvalJob] = []
        api: list[EvalJob] = []
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
            job = EvalJob(
                b.slug,
                self.eval_config(b.slug, pc, b.style, b.calls),
                b.label or b.provider,
                key_env,
            )
            (api if is_api else offline).append(job)
        return [*offline, base, *api]

    def evaluate(self, job: EvalJob, group: str, upstream: str) -> Marker | None:
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
        fp = _fingerprint("eval", upstream, d)
        if job.api_key_env is not None and group in self.selected:
            if not self.cfg.eval.api:
                return self._skip(job, "API baselines are off (eval.api: false / --no-api)")
            if job.api_key_env and not os.environ.get(job.api_key_env, "").strip():
                old = _read_json(folder / DONE)
                if not (old and old.get("fingerprint") == fp):
                    return self._skip(
                        job, f"{job.api_key_env} is not set (export it or put it in ./.env)"
                    )

        def work() -> dict[str, Any]:
            from bizztune.eval.evaluate import run_eval

            run_eval(job.config, progress=lambda i, n: self.rep.progress(key, i, n))
            m = _read_json(folder / "metrics.json") or {}
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

    def _skip(self, job: EvalJob, why: str) -> Marker | None:
        self.result.skipped[job.label] = why
        self.rep.stage(f"eval:{job.label}", "skipped", why)
        return None

    def train(self, task: Any, split: Marker | None) -> Marker | None:
        folder = self.dir / "train"
        probe = self.cfg.train_config(Path("<split>"), Path("<out>"), resume=False).to_dict()
        for k in ("num_threads", "resume", "device"):
            probe.pop(k, None)
        fp = _fingerprint("train", split.token if split else None, probe)

        def work() -> dict[str, Any]:
            from bizztune.core.registry import load_trainer

            assert split is not None
            resume = any(folder.glob("checkpoint-*"))
            tcfg = self.cfg.train_config(self.dir / split.outputs["dir"], folder, resume=resume)
            adapter = load_trainer(tcfg.trainer).train(task, tcfg)
            return {"adapter": self.rel(adapter), "dir": self.rel(folder), "trainer": tcfg.trainer}

        return self.stage("train", "train", folder, fp, work)

    def report(self, evals: list[tuple[EvalJob, Marker]], train: Marker | None) -> Marker | None:
        folder = self.dir / "report"
        fp = _fingerprint(
            "report",
            asdict(self.cfg.report),
            [(j.label, j.display, m.token) for j, m in evals],
            train.token if train else None,
            sorted(self.result.skipped.items()),
        )

        def work() -> dict[str, Any]:
            from bizztune.report.experiment import write_experiment_report

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
        from bizztune.tasks import load_task

        c = self.cfg
        task = load_task(c.task)
        self._claim_folder()
        # Every stage is visited: one that was not asked for gives its marker when it is current.
        gen = self.generate(task)
        split = self.split(task, gen)
        evals: list[tuple[EvalJob, Marker]] = []
        if split is not None:
            for job in self.eval_jobs():
                m = self.evaluate(job, "baselines", split.token)
                if m is not None:
                    evals.append((job, m))
        train = self.train(task, split) if split is not None else None
        if train is not None:
            adapter = str(self.dir / train.outputs["adapter"])
            ft = EvalJob(
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
        return self.result

    def _claim_folder(self) -> None:
        """Refuse to write into a folder that holds something else; record config and versions."""
        marker = self.dir / RUN_MARKER
        if self.dir.exists() and any(self.dir.iterdir()) and not marker.is_file():
            raise ConfigError(
                f"--out {self.dir}: the folder exists and is not a bizztune run folder; "
                f"pass another --out or empty it"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        if not marker.is_file():
            _write_json(marker, {"schema_version": RUN_SCHEMA_VERSION, "created": _now()})
        (self.dir / "config.yaml").write_text(resolved_yaml(self.cfg), encoding="utf-8")
        _write_json(self.dir / "versions.json", versions())


def run_experiment(
    cfg: RunConfig,
    out: Path | None = None,
    stages: Sequence[str] | None = None,
    force: bool = False,
    reporter: Reporter | None = None,
) -> RunResult:
    """Run (or resume) the experiment in ``out`` (default ``runs/<name>``)."""
    return _Runner(cfg, out or default_out(cfg), stages, force, reporter or PrintReporter()).run()
