"""Read and write labelled items: JSONL, CSV, a ``datasets`` folder, or a split directory.

Row schema (the tickets task): id (optional), title, description, user, date, category,
subcategory, urgency, and optionally ``ambiguous`` (true/false). Input and label columns come
from the task, so other tasks work too; other columns are ignored.

A split directory (written by ``bizztune split``) holds ``train.jsonl``, ``val.jsonl``,
``test.jsonl`` (raw rows), ``chatml/`` (instruction data) and ``hf/`` (a DatasetDict).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bizztune.core.errors import DataError
from bizztune.core.interfaces import Example, Task
from bizztune.data.textfile import max_field_chars, max_file_bytes, text_lines
from bizztune.tasks.parsing import nearest

SPLITS = ("train", "val", "test")
AMBIGUOUS = "ambiguous"
"""Optional yes/no column: a careful second labeller could choose another label. Kept with the
item (``Example.meta``), never shown to a model; evaluations report such items separately."""
_TRUE = {"true", "1", "yes", "ja", "y"}
_FALSE = {"false", "0", "no", "nein", "n", ""}


def _flag(value: Any, where: str, name: str) -> bool:
    """A yes/no column (JSON bool, or text as CSV has it)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise DataError(f"{where}: field '{name}': expected true or false, not {value!r}")


def example_id(row: dict[str, Any], task: Task) -> str:
    if row.get("id") not in (None, ""):
        return str(row["id"])
    text = "\x1f".join(str(row.get(k, "")) for k in task.input_fields)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def row_to_example(row: Any, task: Task, where: str, labelled: bool = True) -> Example:
    """Validate one row; raises DataError naming file, line and field."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected an object with fields {', '.join(task.input_fields)}")
    inputs: dict[str, str] = {}
    cap = max_field_chars()
    for k in task.input_fields:
        v = row.get(k)
        if v is None:
            raise DataError(f"{where}: field '{k}' is missing")
        if not isinstance(v, (str, int, float)):
            raise DataError(f"{where}: field '{k}' must be text, not {type(v).__name__}")
        inputs[k] = str(v)
        if len(inputs[k]) > cap:
            raise DataError(
                f"{where}: field '{k}' is {len(inputs[k]):,} characters, more than the {cap:,} "
                "a field may have (BIZZTUNE_MAX_FIELD_CHARS raises the limit)"
            )
    if not inputs[task.input_fields[0]].strip() and not any(v.strip() for v in inputs.values()):
        raise DataError(f"{where}: all input fields are empty")
    labels: dict[str, str] = {}
    if labelled:
        for f in task.schema.fields:
            v = row.get(f.name)
            if v is None or str(v).strip() == "":
                raise DataError(f"{where}: field '{f.name}' is missing (a gold label is needed)")
            if str(v) in f.labels:
                labels[f.name] = str(v)
                continue
            near = nearest(v, f.labels)
            hint = f"; did you mean '{near}'?" if near else ""
            raise DataError(
                f"{where}: field '{f.name}': label {str(v)!r} is not in the taxonomy "
                f"({', '.join(f.labels)}){hint}"
            )
        if task.schema.consistent(labels) is False:
            pairs = ", ".join(f"{f.name}={labels[f.name]!r}" for f in task.schema.fields)
            raise DataError(f"{where}: labels are inconsistent with the hierarchy ({pairs})")
    meta: dict[str, Any] = {}
    if row.get(AMBIGUOUS) is not None and AMBIGUOUS not in (*inputs, *labels):
        meta[AMBIGUOUS] = _flag(row[AMBIGUOUS], where, AMBIGUOUS)
    return Example(id=example_id(row, task), inputs=inputs, labels=labels, meta=meta)


def _rows_jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    # Lines end at "\n" only: a JSON string may hold U+2028 and other line breaks of splitlines.
    for i, line in text_lines(path):
        if not line.strip():
            continue
        try:
            yield f"{path}:{i}", json.loads(line)
        except json.JSONDecodeError as e:
            hint = ""
            if i == 1 and line.strip() == "[":
                hint = "; this is a JSON array: write one object a line (JSON Lines)"
            raise DataError(
                f"{path}:{i}: invalid JSON ({e.msg} at column {e.colno}){hint}"
            ) from None


CSV_DELIMITERS = (",", ";", "\t")
"""Accepted CSV delimiters; the one that splits the header into the most columns is used."""


def _rows_csv(path: Path) -> Iterator[tuple[str, Any]]:
    lines = (text for _, text in text_lines(path, keep_ends=True))
    header = next(lines, "").rstrip("\r\n")
    delimiter = max(CSV_DELIMITERS, key=lambda d: len(next(csv.reader([header], delimiter=d))))
    columns = next(csv.reader([header], delimiter=delimiter), [])
    if len(columns) < 2:
        raise DataError(
            f"{path}:1: the header has one column ({header[:60]!r}); separate the columns "
            "with ',', ';' or a tab"
        )
    csv.field_size_limit(max_field_chars())  # a longer cell is refused, naming its line
    reader = csv.DictReader(lines, fieldnames=columns, delimiter=delimiter)
    try:
        for row in reader:
            # line_num is the physical line the row ended on (+1: the header); good enough.
            where = f"{path}:{reader.line_num + 1}"
            if None in row:  # cells past the header's columns: a delimiter inside a value
                raise DataError(
                    f"{where}: {len(row[None])} more cell(s) than the header's {len(columns)} "
                    f"columns; quote a value that holds {delimiter!r}, or remove the extra cells"
                )
            yield where, dict(row)
    except csv.Error as e:
        raise DataError(f"{path}:{reader.line_num + 1}: not valid CSV ({e})") from None


def _rows_datasets(path: Path, split: str | None) -> Iterator[tuple[str, Any]]:
    from datasets import Dataset, DatasetDict, load_from_disk

    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    if size > max_file_bytes():
        raise DataError(
            f"{path}: {size / 1e6:,.0f} MB of files, more than the "
            f"{max_file_bytes() // 1_000_000:,} MB a data set may have (BIZZTUNE_MAX_DATA_MB "
            "raises the limit)"
        )
    try:
        ds = load_from_disk(str(path))
    except Exception as e:  # datasets raises many kinds for a damaged folder
        why = (str(e).strip().splitlines() or [""])[0][:160]
        raise DataError(
            f"{path}: not a readable datasets folder ({type(e).__name__}: {why})"
        ) from None
    if isinstance(ds, DatasetDict):
        if split is None or split not in ds:
            raise DataError(f"{path}: split '{split}' not found; it has: {', '.join(ds)}")
        ds = ds[split]
    assert isinstance(ds, Dataset)
    for i, row in enumerate(ds):
        yield f"{path}[{split or 'all'}]:row {i}", row


def has_split(path: Path, split: str) -> bool:
    """Whether ``path`` is a split folder (or a datasets DatasetDict) that holds ``split``."""
    if not path.is_dir():
        return False
    if (path / f"{split}.jsonl").is_file():
        return True
    for d in (path, path / "hf"):
        try:
            names = json.loads((d / "dataset_dict.json").read_text(encoding="utf-8"))["splits"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        return split in names
    return False


def iter_rows(path: Path, split: str | None = None) -> Iterator[tuple[str, Any]]:
    """(``file:line``, row) pairs from any supported source."""
    if not path.exists():
        raise DataError(f"data not found: {path}")
    if path.is_dir():
        if split and (path / f"{split}.jsonl").is_file():
            yield from _rows_jsonl(path / f"{split}.jsonl")
        elif (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            yield from _rows_datasets(path, split)
        elif (path / "hf" / "dataset_dict.json").is_file():
            yield from _rows_datasets(path / "hf", split)
        elif split:
            raise DataError(
                f"{path}: not a split directory (no {split}.jsonl) nor a datasets folder"
            )
        else:
            raise DataError(
                f"{path}: a folder, but not a datasets folder (no dataset_dict.json or "
                "state.json); give a JSONL or CSV file, or a folder saved by datasets"
            )
        return
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        yield from _rows_jsonl(path)
    elif suffix == ".csv":
        yield from _rows_csv(path)
    else:
        raise DataError(
            f"{path}: unsupported data format '{suffix}' (use .jsonl, .csv or a folder)"
        )


def load_examples(
    path: Path, task: Task, split: str | None = None, labelled: bool = True
) -> list[Example]:
    out: list[Example] = []
    seen: dict[str, str] = {}
    for where, row in iter_rows(path, split):
        ex = row_to_example(row, task, where, labelled=labelled)
        if ex.id in seen:
            raise DataError(f"{where}: duplicate id '{ex.id}' (first at {seen[ex.id]})")
        seen[ex.id] = where
        out.append(ex)
    if not out:
        raise DataError(f"{path}: no rows{f' in split {split!r}' if split else ''}")
    return out


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_text_atomic(path: Path, text: str) -> None:
    """Write a whole file so that a crash leaves the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
