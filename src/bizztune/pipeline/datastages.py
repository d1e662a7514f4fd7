"""The run's data stages: ``generate`` (the generator's tickets, or your own file with
``data.file``, and generated ones beside it with ``data.add_generated``) and ``split``.

    bizztune run                              # generated tickets (data.n, data.generator)
    bizztune run --data my-tickets.csv        # your own labelled tickets instead
    bizztune run --data my-tickets.csv --add-generated 2000   # and generated ones in train only
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from bizztune.core.errors import DataError
from bizztune.core.interfaces import ProviderConfig, Task
from bizztune.core.paths import responses_dir
from bizztune.core.registry import Registry
from bizztune.data.generate import generate_dataset
from bizztune.data.io import iter_rows, load_examples, write_jsonl
from bizztune.data.locks import real_path
from bizztune.data.sources import resolve_train_data
from bizztune.data.split import check_rows, split_dataset
from bizztune.pipeline.config import RunConfig
from bizztune.pipeline.engine import Marker, StageEngine, content_token, fingerprint


class DataStages(StageEngine):
    """``generate`` and ``split`` of one run (``ExperimentRun`` adds the others)."""

    cfg: RunConfig
    plugins: Registry
    """Resolves the run's provider names (the generator's LLM, the baselines) and trainer."""
    n_own: int = 0
    """How many tickets ``data.file`` holds (``own_source`` counts them)."""

    def generate(self, task: Task, own: Path | None = None) -> Marker | None:
        """Generated tickets, or ``own``: ``data.file`` as ``own_source`` resolved and checked it."""
        c = self.cfg
        folder = self.dir / "data" / "raw"
        path = folder / f"{task.name}.jsonl"
        # The task's definition (labels, prompts) is part of the root of every fingerprint.
        task_def = getattr(task, "raw", None) or task.name
        if own is not None:
            return self.own_data(task, path, task_def, own)
        data = asdict(c.data) | {"ratios": None}
        for k in ("generator_options", "file", "add_generated"):
            if not data[k]:
                del data[k]  # keeps the fingerprints of runs made before it
        fp = fingerprint("generate", task_def, data, c.seed)
        return self.stage("generate", "generate", folder, fp, lambda: self.generated(task, path))

    def generated(self, task: Task, path: Path, n: int | None = None) -> dict[str, Any]:
        """``n`` (None: ``data.n``) tickets of the run's generator into ``path``."""
        c = self.cfg

        def progress(i: int, total: int) -> None:
            self.rep.progress("generate", i, total)

        provider = writer = None
        if c.data.generator != "offline":
            provider = ProviderConfig(
                name=c.data.generator, model=c.data.model, seed=c.seed, cache_dir=responses_dir()
            )
            writer = self.plugins.provider(provider.name)
        # The same step as `bizztune generate`: rows, data card and manifest.
        n = c.data.n if n is None else n
        options = c.data.generator_options
        generate_dataset(
            task, n, c.seed, path, provider, progress=progress, options=options, writer=writer
        )
        return {"path": self.rel(path)}

    def own_data(self, task: Task, path: Path, task_def: Any, src: Path) -> Marker | None:
        """``data.file`` (``src``, checked): the user's labelled tickets copied into the run as
        the ``generate`` stage's output (redone when the file's content changes); with
        ``data.add_generated``, generated tickets beside them for the train split."""
        c = self.cfg
        extra = path.with_name(f"{path.stem}-generated.jsonl") if c.data.add_generated else None
        what: dict[str, Any] = {"file": content_token(src)}
        if extra is not None:
            what |= {k: v for k, v in asdict(c.data).items() if k not in ("file", "n", "ratios")}
            what["seed"] = c.seed

        def work() -> dict[str, Any]:
            rows = [row for _, row in iter_rows(src)]
            write_jsonl(path, rows)
            out = {"path": self.rel(path), "source": str(src), "rows": len(rows)}
            if extra is not None:
                out["generated"] = self.generated(task, extra, c.data.add_generated)["path"]
            return out

        return self.stage(
            "generate", "generate", path.parent, fingerprint("generate", task_def, what), work
        )

    def own_source(self, task: Task) -> Path:
        """``data.file`` resolved and every row checked: one line for a measuring set, a
        missing file, a split, or a bad row (naming its file, line and field)."""
        spec = self.cfg.data.file
        assert spec is not None
        src = resolve_train_data(task, spec, flag="data.file")
        if not src.exists():
            raise DataError(f"data.file {spec}: no such file or folder")
        if src.is_dir() and (src / "train.jsonl").is_file():
            raise DataError(
                f"data.file {spec}: is a split already; give the labelled file it was split "
                "from (the run splits it itself)"
            )
        self.n_own = len(load_examples(src, task))
        check_rows(self.n_own, self.cfg.data.ratios, f"data.file {spec}")
        return src

    def run_data(self, own: Path | None) -> dict[str, Any]:
        """What the run learns from, as ``run.json`` records it: a run of other data refuses
        the folder (``StageEngine.claimed``)."""
        if own is None:
            return {"kind": "generated", "generator": self.cfg.data.generator}
        return {"kind": "file", "path": str(real_path(own)), "content": content_token(own)}

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
                train_extra=self.dir / gen.outputs["generated"]
                if gen.outputs.get("generated")
                else None,
            )
            counts = {
                s: sum(1 for line in (folder / f"{s}.jsonl").open(encoding="utf-8") if line.strip())
                for s in ("train", "val", "test")
                if (folder / f"{s}.jsonl").is_file()
            }
            return {"dir": self.rel(folder), "counts": counts}

        return self.stage("split", "split", folder, fp, work)
