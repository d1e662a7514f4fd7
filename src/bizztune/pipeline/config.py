"""The experiment file of ``bizztune run``: one typed config per section, read from YAML.

    cfg = load_run_config(Path("experiments/study-gpu.yaml"), registry(), {"seed": 1})
    cfg.train.learning_rate, cfg.eval.baselines[0].provider

CLI flags override the YAML file, which overrides these defaults; ``experiments/default.yaml``
is the defaults written out. Sections: ``data`` (the generate and split stages), ``model``
(the open model: its provider, prompt style and decoding), ``eval`` (the baselines, the sets
they are scored on), ``train`` (the
trainer's config, from a named recipe), ``costs`` (prices, volume and
the margin of the Decision; ``bizztune.eval.costs.CostsConfig``) and ``report``. A run folder
keeps the resolved file as ``config.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from bizztune.core.config import build, merge, read_yaml, to_yaml
from bizztune.core.errors import ConfigError
from bizztune.core.interfaces import Decoding, PromptStyle, ProviderConfig
from bizztune.core.registry import Registry
from bizztune.data.sources import DEFAULT_N, slug
from bizztune.eval.costs import CostsConfig
from bizztune.eval.evaluate import Calls
from bizztune.eval.paired import BASE_LABEL, FINETUNED_LABEL
from bizztune.trainers.config import HeadConfig, TrainJob, build_config
from bizztune.trainers.recipes import DEFAULT, resolve_values

DEFAULT_MODEL = str(DEFAULT.params["model"])
"""The run's open model when a config names none: the default recipe's (chosen on
tickets:foreign-dev, docs/research/)."""


@dataclass
class DataConfig:
    """The ``generate`` and ``split`` stages."""

    n: int = DEFAULT_N
    """Tickets to generate; the test split holds ``n * ratios[2]`` of them. 2,000, the
    embedded default's: the head recipe's 200 steps of 8 see each of the 1,600 training
    tickets once (docs/research/)."""
    generator: str = "offline"
    """"offline": the task's built-in generator (no network). A provider name (``gpt-4``, ...)
    generates with that LLM instead, as the original study did (needs its key)."""
    model: str | None = None
    """Model for an LLM generator; None: the provider's default."""
    generator_options: dict[str, Any] = field(default_factory=dict)
    """Options of the offline generator, over the task's ``generator_options`` (tickets:
    ``prior: realistic`` or ``uniform``)."""
    ratios: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    """train, val, test fractions of the stratified, leakage-free split."""
    file: str | None = None
    """Your own labelled tickets (JSON Lines, CSV or a ``datasets`` folder, in the task's input
    fields with gold labels) to split and learn from instead of generated ones; ``n``, the
    generator and its options then do not apply. ``bizztune run --data FILE`` sets it. The
    task's measuring sets (``tickets:foreign``, ``tickets:foreign-dev``) are refused."""
    add_generated: int = 0
    """With ``file``: this many generated tickets (``generator``, ``model``,
    ``generator_options``, the run's seed) join the training split only; validation and test
    stay your own tickets. ``bizztune run --add-generated N`` sets it."""

    def __post_init__(self) -> None:
        if self.n < 10:
            raise ConfigError("data.n must be at least 10 tickets")
        if self.add_generated < 0:
            raise ConfigError("data.add_generated must be 0 or more tickets")
        if self.add_generated and self.file is None:
            raise ConfigError(
                "data.add_generated adds generated tickets to your own (data.file / --data); "
                "without them, data.n sets how many are generated"
            )
        if self.file is not None and not self.add_generated:
            other = [
                k
                for k, v in (
                    ("generator", self.generator != "offline"),
                    ("model", self.model is not None),
                    ("generator_options", bool(self.generator_options)),
                )
                if v
            ]
            if other:
                raise ConfigError(
                    f"data.file: your own tickets replace the generator; remove "
                    f"{', '.join('data.' + k for k in other)} (or set data.add_generated to "
                    "train on generated tickets beside yours)"
                )
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

    name: str = DEFAULT_MODEL
    """Embedded model (``gemma3-270m``, ``smollm2-135m``) or a local Hugging Face folder; also
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


DEFAULT_COMBINED = "tfidf"
"""The baseline the fine-tuned model is combined with when ``eval.combine`` is unset."""


def _default_baselines() -> list[BaselineConfig]:
    names = ("majority", "tfidf", "gpt-4", "gpt-3.5-turbo", "open-mistral-7b")
    return [BaselineConfig(n) for n in names]


@dataclass
class EvalSection:
    """The `eval:` section of an experiment: the baselines and the split every model is scored
    on (the `baselines` and `finetuned` stages). Each model becomes one EvalConfig."""

    split: str = "test"
    """Split of the run's own data that is its first test set (when ``test_sets`` is unset)."""
    test_sets: list[str] | None = None
    """Sets every model is scored on, each in a report section of its own: ``test``/``val``
    (the run's own split), a set the task ships (``tickets:foreign``), or a labelled file or
    split folder of yours. None: ``split``, then every set the task ships for testing (role
    ``test``). Fittable baselines (tfidf) learn from the run's train split for every set."""
    limit: int | None = None
    """Score only the first N items of each test set (None: all)."""
    baselines: list[BaselineConfig] = field(default_factory=_default_baselines)
    """Models benchmarked besides the open model, which is always included."""
    api: bool = True
    """Benchmark API baselines whose key is set; false: skip them all (fully offline)."""
    base: Literal["decision", "all"] = "decision"
    """Where the open model as it ships (the base model) is scored: ``decision``, on the sets
    the Decision reads (the decision and confirmation sets), where it is an option and where
    the fine-tuned model is compared with it; ``all``, on every test set too (about 45 s per
    200 tickets on 2 CPU cores)."""
    combine: list[str] | None = None
    """Models whose recorded answers are also combined into one, scored on every set as a
    model of its own (``bizztune.eval.combine``: the product of their probabilities, equal
    weights; folder and label ``finetuned+tfidf``). None: the fine-tuned model with tfidf,
    when tfidf is a baseline (chosen on tickets:foreign-dev, docs/research/); ``[]``: none;
    or a list of labels of this run's models (``finetuned``, ``base``, baseline labels)."""

    def combine_labels(self) -> list[str]:
        """The labels ``combine`` resolves to ([] when there is nothing to combine)."""
        if self.combine is not None:
            return list(self.combine)
        slugs = [b.slug for b in self.baselines]  # BaselineConfigs since __post_init__
        return [FINETUNED_LABEL, DEFAULT_COMBINED] if DEFAULT_COMBINED in slugs else []

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise ConfigError("eval.limit must be a positive number of items")
        if self.base not in ("decision", "all"):
            raise ConfigError(f"eval.base must be 'decision' or 'all', not {self.base!r}")
        if self.test_sets is not None:
            if not isinstance(self.test_sets, list) or not self.test_sets:
                raise ConfigError("eval.test_sets must be a non-empty list of data sets")
            self.test_sets = [str(x) for x in self.test_sets]
            dup = {x for x in self.test_sets if self.test_sets.count(x) > 1}
            if dup:
                raise ConfigError(f"eval.test_sets lists {', '.join(sorted(dup))} twice")
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
        if self.combine is not None:
            if not isinstance(self.combine, list) or any(
                not isinstance(x, str) for x in self.combine
            ):
                raise ConfigError("eval.combine must be a list of model labels, or null")
            known = [BASE_LABEL, FINETUNED_LABEL, *slugs]
            unknown = [x for x in self.combine if x not in known]
            if unknown:
                raise ConfigError(
                    f"eval.combine: '{unknown[0]}' is not a model of this run; "
                    f"choose from {', '.join(known)}"
                )
            if len(set(self.combine)) != len(self.combine) or len(self.combine) == 1:
                raise ConfigError(
                    f"eval.combine needs two or more different models, not {self.combine}"
                )


OWN_SPLITS = ("val", "test")
FOLDS = "folds"


@dataclass
class DecisionConfig:
    """The ``decision:`` section: the set the options are chosen on, and the set that confirms
    the choice. Picking on the set one reports on inflates the winner (the best of several
    noisy scores is biased upwards), so the two are different sets (docs/method.md)."""

    choose_on: str | None = None
    """Where the options are compared and one is chosen:
    ``val`` (the run's validation split), ``folds`` (your own tickets, cross-fitted: every
    train and validation ticket scored by models trained without it), a set the task ships
    (``tickets:foreign-dev``) or a labelled file. None: with your own tickets (``data.file``),
    ``folds`` when there are fewer than ``crossfit_below`` of them, else ``val``; without, the
    task's set for choosing (role ``dev``) when it ships one, else ``val``."""
    confirm_on: str | None = None
    """Where the chosen option's accuracy and its paired comparisons are reported, with no
    further choice: ``test`` (the run's test split), a set the task ships or a labelled file.
    None: ``test`` with your own tickets; without, the task's test set (role ``test``) when it
    ships one, else ``test``."""
    folds: int = 5
    """k of the cross-fitting (``choose_on: folds``): every fittable baseline and the
    fine-tuned model are trained k more times, each on all but one fold."""
    crossfit_below: int = 500
    """With your own tickets, fewer than this many are cross-fitted when ``choose_on`` is
    unset (0: never)."""

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ConfigError(f"decision.folds must be at least 2, not {self.folds}")
        if self.crossfit_below < 0:
            raise ConfigError("decision.crossfit_below must be 0 or more tickets")
        for key in ("choose_on", "confirm_on"):
            v = getattr(self, key)
            if v is not None and (not isinstance(v, str) or not v.strip()):
                raise ConfigError(
                    f"decision.{key} must be a set: val, test, folds, TASK:NAME or a file"
                )
        if self.confirm_on == FOLDS:
            raise ConfigError(
                "decision.confirm_on: folds are for choosing; confirm on a set no choice was "
                "made on (test, TASK:NAME or a file)"
            )
        if self.choose_on == "train" or self.confirm_on == "train":
            raise ConfigError("decision: 'train' is what the models learn from")
        if self.choose_on is not None and self.choose_on == self.confirm_on:
            raise ConfigError(
                f"decision.choose_on and decision.confirm_on are both {self.choose_on}: picking "
                "on the set you report on inflates the winner; confirm on another set"
            )


@dataclass
class ReportConfig:
    """The ``report`` stage."""

    title: str = "Does task-specific fine-tuning beat the foundation models?"
    html: bool = True
    """Also write the self-contained ``report.html``."""
    confusion: Literal["all", "open"] = "all"
    """Confusion matrices for every model, or only the open model before and after."""


def default_train() -> TrainJob:
    """The default recipe (``trainers/recipes.py``) as its trainer's config."""
    return build_config(HeadConfig, DEFAULT.values(), "the default recipe")


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
    eval: EvalSection = field(default_factory=EvalSection)
    train: TrainJob = field(default_factory=default_train)
    """The trainer's config, of the type its trainer takes: its recipe (``recipe``; none named:
    the one its trainer is tuned by, ``trainers/recipes.py``) and the keys given over it.
    ``model``, ``data``, ``out``, ``task``, ``style``, ``seed`` and ``resume`` are filled in
    from this run and may not be set here."""
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    """Where the Decision chooses and where it is confirmed (``DecisionConfig``)."""
    costs: CostsConfig = field(default_factory=CostsConfig)
    """What machines, API tokens and training cost, the monthly volume and the margin the
    report's Decision uses (``bizztune.eval.costs``)."""
    report: ReportConfig = field(default_factory=ReportConfig)

    def train_config(
        self, split_dir: Path, out: Path, resume: bool, seed: int | None = None
    ) -> TrainJob:
        """What the trainer gets: ``seed`` (None: the run's) seeds initialisation and order."""
        return replace(
            self.train,
            model=self.model.name,
            data=str(split_dir),
            out=str(out),
            task=self.task,
            style=self.model.style,
            seed=self.seed if seed is None else seed,
            resume=resume,
        )


RUN_FILLED = ("model", "data", "out", "task", "style", "seed", "resume")


def load_run_config(
    path: Path | None, plugins: Registry, overrides: dict[str, Any] | None = None
) -> RunConfig:
    """RunConfig from a YAML file (or the defaults), with CLI overrides on top; ``plugins``
    says which config type the trainer of the ``train:`` section takes."""
    data = read_yaml(path) if path else {}
    where = str(path or "defaults")
    if not isinstance(data.get("train") or {}, dict):
        raise ConfigError(f"{where}: train must be a mapping of the trainer's parameters")
    for k in RUN_FILLED:
        if k in (data.get("train") or {}):
            alt = {"model": "model.name", "style": "model.style"}.get(k, k)
            raise ConfigError(
                f"{where}: train.{k} is filled in by the run; set '{alt}' at the top level "
                f"instead (or remove it)"
            )
    if path and "name" not in data:
        data["name"] = path.stem
    data = merge(data, overrides or {})
    train = dict(data.pop("train", None) or {})
    cfg = build(RunConfig, data, where)
    values = resolve_values(train)  # the recipe's model and style give way to the run's
    config_type = plugins.trainer(values["trainer"]).config_type
    cfg.train = build_config(config_type, values, f"{where}: train")
    return cfg


def resolved_yaml(cfg: RunConfig) -> str:
    """Every value of ``cfg`` as an experiment file that ``--config`` reads back."""
    import yaml

    data = yaml.safe_load(to_yaml(cfg))
    for k in RUN_FILLED:
        data["train"].pop(k, None)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return f"# The resolved config of this run; rerun it with --config this-file.\n{body}"


def default_out(cfg: RunConfig) -> Path:
    """``runs/<name>``; with ``data.file``, ``runs/<name>-<file stem>[-gen<N>]``: a study of
    your own tickets never lands in (and never wipes) the default study's folder, nor one
    of other tickets (docs/data.md)."""
    if cfg.data.file is None:
        return Path("runs") / cfg.name
    spec = Path(cfg.data.file)
    name = f"{cfg.name}-{slug(spec.stem if spec.suffix else spec.name)}"
    if cfg.data.add_generated:
        name += f"-gen{cfg.data.add_generated}"
    return Path("runs") / name
