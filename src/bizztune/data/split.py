"""Split a labelled file into train/val/test without leaking near-duplicates across splits.

bizztune split data/tickets.jsonl --out data/split --seed 0 --ratios 0.8,0.1,0.1

from bizztune.data.split import split_dataset
summary = split_dataset(task, Path("data/tickets.jsonl"), Path("data/split"), seed=0)

Near-duplicate pairs (character 5-gram Jaccard >= 0.5 over title and description, see
``bizztune.data.datacard``) are joined into clusters with union-find; a cluster always lands in one
split. Clusters are stratified by their label combination (subcategory, urgency, ...) and
assigned greedily to the split furthest below its target share, in a seeded order, so the same
file and seed always give the same split, whatever the row order of the file.

Writes ``train/val/test.jsonl`` (raw rows), ``chatml/{split}.jsonl`` (``{"id", "messages"}``
in the task's prompt format with the gold answer), ``hf/`` (a ``datasets`` DatasetDict with
``id``, ``messages`` and the raw fields), ``datacard.md`` and ``split.json``. The card checks
the labels against the prior the generator promised, when ``bizztune generate`` left one in the
manifest next to the source (``<stem>.generate.json``), and for balance otherwise.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bizztune.core.errors import ConfigError, DataError
from bizztune.core.interfaces import Example, PromptStyle, Task
from bizztune.data.datacard import (
    NEAR_DUP_THRESHOLD,
    TEXT_FIELDS,
    CardStats,
    card_stats,
    near_duplicate_pairs,
    render_markdown,
)
from bizztune.data.io import SPLITS, load_examples, write_jsonl
from bizztune.data.locks import output_guard

SPLIT_SCHEMA_VERSION = 1


@dataclass
class SplitSummary:
    out_dir: Path
    seed: int
    ratios: tuple[float, float, float]
    style: str
    counts: dict[str, int]
    clusters: int
    """Groups of near-duplicates (size >= 2), each kept inside one split."""
    near_duplicate_pairs: int
    crossing_pairs: int
    """Near-duplicate pairs with the two items in different splits: 0 by construction."""
    source_sha256: str
    train_extra: int = 0
    """Rows of ``train_extra`` added to the train split only (already in ``counts``)."""
    card: CardStats | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("card")
        d["out_dir"] = str(self.out_dir)
        return d


def parse_ratios(text: str | Sequence[float]) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` -> (0.8, 0.1, 0.1); they must be three shares >= 0 that sum to 1."""
    try:
        parts = [float(x) for x in (text.split(",") if isinstance(text, str) else text)]
    except ValueError:
        raise ConfigError(
            f"--ratios must be three numbers like 0.8,0.1,0.1, not {text!r}"
        ) from None
    if len(parts) != 3 or any(p < 0 for p in parts) or abs(sum(parts) - 1.0) > 1e-6:
        raise ConfigError(
            f"--ratios must be three shares >= 0 for train,val,test that sum to 1, not {text!r}"
        )
    if parts[0] == 0:
        raise ConfigError("--ratios: the train share must be above 0")
    return parts[0], parts[1], parts[2]


def min_rows(ratios: Sequence[float]) -> int:
    """The fewest rows that give every split with a share above 0 at least one row, by the
    split's own largest-remainder rule (7 at 0.8,0.1,0.1)."""
    share = dict(zip(SPLITS, ratios, strict=True))
    n = 1
    while any(
        t < 1 for s, t in _allocate(n, share, dict.fromkeys(SPLITS, 0.0)).items() if share[s]
    ):
        n += 1
    return n


def check_rows(n: int, ratios: Sequence[float], where: str) -> None:
    """A DataError naming ``where`` when ``n`` rows are too few to split at ``ratios``."""
    need = min_rows(ratios)
    if n < need:
        shares = ",".join(f"{r:g}" for r in ratios)
        raise DataError(
            f"{where}: {n} row{'s' * (n != 1)} are too few to split {shares} (train,val,test): "
            f"give at least {need} rows, so that every split gets one"
        )


def _dedup_text(ex: Example, task: Task) -> str:
    fields = [f for f in task.input_fields if f in TEXT_FIELDS] or list(task.input_fields)
    return "\n".join(ex.inputs[f] for f in fields)


def clusters_of(n: int, pairs: Sequence[tuple[int, int, float]]) -> list[list[int]]:
    """Connected components of the near-duplicate graph (union-find), each sorted."""
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[find(i)].append(i)
    return sorted(groups.values())


def assign_splits(
    strata: Sequence[tuple[str, ...]],
    clusters: Sequence[list[int]],
    ratios: tuple[float, float, float],
    seed: int,
) -> list[str]:
    """The split of every item. Whole clusters, stratified by their first item's labels.

    Each stratum gets integer targets by largest remainder, with the remainders carried from
    stratum to stratum, so the overall counts are within one item of the ratios.
    """
    by_stratum: dict[tuple[str, ...], list[list[int]]] = defaultdict(list)
    for c in clusters:
        by_stratum[strata[c[0]]].append(c)
    rng = random.Random(seed)
    carry = dict.fromkeys(SPLITS, 0.0)
    share = dict(zip(SPLITS, ratios, strict=True))
    out = [""] * len(strata)
    for key in sorted(by_stratum):
        group = by_stratum[key]
        rng.shuffle(group)
        target = _allocate(sum(len(c) for c in group), share, carry)
        have = dict.fromkeys(SPLITS, 0)
        # Big clusters first, so they do not overshoot a small split at the end.
        for c in sorted(group, key=len, reverse=True):
            open_ = [s for s in SPLITS if share[s] > 0]
            best = max(open_, key=lambda s: (target[s] - have[s], share[s]))
            have[best] += len(c)
            for i in c:
                out[i] = best
    return out


def _allocate(size: int, share: Mapping[str, float], carry: dict[str, float]) -> dict[str, int]:
    """Integer targets of ``size`` items by largest remainder, the remainders carried on in
    ``carry`` (updated)."""
    target = {s: math.floor(share[s] * size) for s in SPLITS}
    for s in SPLITS:
        carry[s] += share[s] * size - target[s]
    for _ in range(size - sum(target.values())):
        s = max(SPLITS, key=lambda s: carry[s])
        target[s] += 1
        carry[s] -= 1
    return target


def declared_prior(src: Path) -> dict[str, dict[str, float]] | None:
    """The label prior in the manifest ``bizztune generate`` wrote next to ``src``, if any."""
    manifest = src.with_name(src.stem + ".generate.json")
    if not src.is_file() or not manifest.is_file():
        return None
    try:
        prior = json.loads(manifest.read_text(encoding="utf-8")).get("label_prior")
    except (OSError, ValueError, AttributeError):
        return None
    return prior if isinstance(prior, dict) else None


def split_dataset(
    task: Task,
    src: Path,
    out_dir: Path,
    seed: int = 0,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    style: str = "long",
    expected: Mapping[str, Mapping[str, float]] | None = None,
    train_extra: Path | None = None,
) -> SplitSummary:
    """Split ``src`` into ``out_dir`` (see the module docstring for what is written).

    ``expected``: the label prior the card checks the rows against; by default the one in the
    generate manifest next to ``src``. ``train_extra``: rows added to the train split only
    (generated tickets beside your own: val and test stay ``src``'s); the card is ``src``'s."""
    r3 = parse_ratios(ratios)
    if style not in ("long", "compact"):
        raise ConfigError(f"--style must be 'long' or 'compact', not {style!r}")
    # One writer, never over its source: a second split, or an --out that holds SRC, fails
    # at once; a refused split leaves no folder behind.
    with output_guard(out_dir, folder=True, inputs=[("SRC", src), ("train_extra", train_extra)]):
        loaded = load_examples(src, task)
        check_rows(len(loaded), r3, str(src))
        extra = load_examples(train_extra, task) if train_extra is not None else []
        ids = {e.id for e in loaded}
        clash = next((e.id for e in extra if e.id in ids), None)
        if clash is not None:
            raise DataError(
                f"{train_extra}: id '{clash}' is also in {src}; the rows added to train need "
                "ids of their own"
            )
        return _write_split(task, src, loaded, out_dir, seed, r3, style, expected, extra)


def _write_split(
    task: Task,
    src: Path,
    loaded: list[Example],
    out_dir: Path,
    seed: int,
    r3: tuple[float, float, float],
    style: str,
    expected: Mapping[str, Mapping[str, float]] | None,
    extra: Sequence[Example] = (),
) -> SplitSummary:
    prompt_style: PromptStyle = "long" if style == "long" else "compact"
    examples = sorted(loaded, key=lambda e: e.id)
    pairs = near_duplicate_pairs([_dedup_text(e, task) for e in examples], NEAR_DUP_THRESHOLD)
    clusters = clusters_of(len(examples), pairs)
    strata = [tuple(e.labels[f] for f in task.schema.names) for e in examples]
    which = assign_splits(strata, clusters, r3, seed)
    crossing = sum(1 for i, j, _ in pairs if which[i] != which[j])
    assert crossing == 0, "a near-duplicate cluster was split"
    empty = [s for s, r in zip(SPLITS, r3, strict=True) if r > 0 and s not in which]
    if empty:  # near-duplicates are kept together, so a few big clusters can leave one empty
        raise DataError(
            f"{src}: the {' and '.join(empty)} split would be empty ({len(examples)} rows in "
            f"{len(clusters)} groups of near-duplicates); give more rows"
        )

    parts: dict[str, list[Example]] = {s: [] for s in SPLITS}
    for e, s in zip(examples, which, strict=True):
        parts[s].append(e)
    parts["train"] += sorted(extra, key=lambda e: e.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    chat: dict[str, list[dict[str, Any]]] = {}
    for s in SPLITS:
        write_jsonl(out_dir / f"{s}.jsonl", (e.to_record() for e in parts[s]))
        chat[s] = [
            {"id": e.id, "messages": task.messages(e, style=prompt_style, with_answer=True)}
            for e in parts[s]
        ]
        write_jsonl(out_dir / "chatml" / f"{s}.jsonl", chat[s])
    _save_hf(out_dir / "hf", parts, chat)

    digest = hashlib.sha256(src.read_bytes()).hexdigest() if src.is_file() else ""
    summary = SplitSummary(
        out_dir=out_dir,
        seed=seed,
        ratios=r3,
        style=style,
        counts={s: len(parts[s]) for s in SPLITS},
        clusters=sum(1 for c in clusters if len(c) > 1),
        near_duplicate_pairs=len(pairs),
        crossing_pairs=crossing,
        source_sha256=digest,
        train_extra=len(extra),
    )
    rows = [e.to_record() for e in examples]
    prior = expected if expected is not None else declared_prior(src)
    summary.card = card_stats(rows, task.schema, expected=prior)
    md = render_markdown(summary.card, f"{task.name} from {src.name}, seed {seed}")
    md += _split_section(summary, parts, task)
    (out_dir / "datacard.md").write_text(md, encoding="utf-8")
    meta = {
        "schema_version": SPLIT_SCHEMA_VERSION,
        "task": task.name,
        "source": str(src),
        **summary.to_dict(),
        "near_duplicate_threshold": NEAR_DUP_THRESHOLD,
    }
    meta.pop("out_dir")
    (out_dir / "split.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return summary


def _split_section(summary: SplitSummary, parts: dict[str, list[Example]], task: Task) -> str:
    lines = [
        "## Split",
        "",
        f"Seed {summary.seed}, ratios {', '.join(f'{r:g}' for r in summary.ratios)}, "
        f"prompt style {summary.style}. {summary.clusters} near-duplicate clusters kept whole; "
        f"near-duplicate pairs crossing a split: {summary.crossing_pairs}."
        + (
            f" The train split also holds {summary.train_extra} rows added to it only "
            "(generated beside the source's; the card above is the source's alone)."
            if summary.train_extra
            else ""
        ),
        "",
        "| split | n | " + " | ".join(f"{f} labels" for f in task.schema.names) + " |",
        "|---|---|" + "---|" * len(task.schema.names),
    ]
    for s in SPLITS:
        distinct = [len({e.labels[f] for e in parts[s]}) for f in task.schema.names]
        lines.append(f"| {s} | {len(parts[s])} | " + " | ".join(map(str, distinct)) + " |")
    return "\n".join(lines) + "\n"


def _save_hf(
    path: Path, parts: dict[str, list[Example]], chat: dict[str, list[dict[str, Any]]]
) -> None:
    import datasets
    from datasets import Dataset, DatasetDict

    quiet = not datasets.are_progress_bars_disabled()
    if quiet:
        datasets.disable_progress_bars()
    dd = {}
    for s in SPLITS:
        records = [
            {"id": e.id, "messages": c["messages"], **e.inputs, **e.labels}
            for e, c in zip(parts[s], chat[s], strict=True)
        ]
        dd[s] = Dataset.from_list(records) if records else Dataset.from_dict({"id": []})
    try:
        DatasetDict(dd).save_to_disk(str(path))
    finally:
        if quiet:
            datasets.enable_progress_bars()
