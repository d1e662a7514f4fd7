"""Dataset I/O errors name file, line and field; custom YAML tasks work like the built-in one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bizztune.core.errors import ConfigError, DataError
from bizztune.core.interfaces import Example
from bizztune.data.io import load_examples
from bizztune.plugins import load_task
from bizztune.tasks.tickets import TASK_FILE
from bizztune.tasks.yaml_task import load_task_file

from conftest import make_rows, write_csv, write_jsonl

TASK = load_task("tickets")


def test_jsonl_csv_and_datasets_read_the_same(tmp_path: Path) -> None:
    rows = make_rows(1)[:12]
    jl = write_jsonl(tmp_path / "t.jsonl", rows)
    write_csv(tmp_path / "t.csv", rows)
    from datasets import Dataset, DatasetDict

    DatasetDict({"test": Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "hf"))
    a = load_examples(jl, TASK)
    b = load_examples(tmp_path / "t.csv", TASK)
    c = load_examples(tmp_path / "hf", TASK, "test")
    assert [e.to_record() for e in a] == [e.to_record() for e in b] == [e.to_record() for e in c]
    assert a[0].labels["subcategory"] == rows[0]["subcategory"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("title"), "bad.jsonl:3: field 'title' is missing"),
        (
            lambda r: r.update(category="Billing"),
            "bad.jsonl:3: field 'category': label 'Billing' is not in the taxonomy",
        ),
        (lambda r: r.update(urgency="hoch"), "did you mean 'Hoch'?"),
        (
            lambda r: r.update(subcategory="Softwarefehler", category="Bestellverwaltung"),
            "bad.jsonl:3: labels are inconsistent",
        ),
        (lambda r: r.update(description={"x": 1}), "bad.jsonl:3: field 'description' must be text"),
        (lambda r: r.update(id="t9999"), None),
    ],
)
def test_bad_rows_name_file_line_field(tmp_path: Path, mutate, message) -> None:  # type: ignore[no-untyped-def]
    rows = make_rows(1)[:5]
    mutate(rows[2])
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    if message is None:
        assert len(load_examples(path, TASK)) == 5
        return
    with pytest.raises(DataError) as e:
        load_examples(path, TASK)
    assert str(path) in str(e.value) and message in str(e.value)


def test_invalid_json_line_and_duplicates(tmp_path: Path) -> None:
    rows = make_rows(1)[:3]
    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps(rows[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"x.jsonl:2: invalid JSON"):
        load_examples(p, TASK)
    write_jsonl(p, [rows[0], rows[0]])
    with pytest.raises(DataError, match=r"x.jsonl:2: duplicate id"):
        load_examples(p, TASK)
    with pytest.raises(DataError, match="data not found"):
        load_examples(tmp_path / "nope.jsonl", TASK)


def test_builtin_task_knows_hierarchy_and_prompt() -> None:
    sub = TASK.schema.field("subcategory")
    assert len(sub.labels) == 11 and sub.parent == "category"
    assert sub.parent_of["Kein Zusammenhang"] == "Ungewiss"
    assert TASK.schema.field("urgency").labels == ("Hoch", "Mittel", "Niedrig")
    ex = Example(
        "1",
        {"title": "T", "description": "D", "user": "U", "date": "2024-01-01"},
        {"category": "Ungewiss", "subcategory": "Kein Zusammenhang", "urgency": "Niedrig"},
    )
    msgs = TASK.messages(ex, with_answer=True)
    assert [m["role"] for m in msgs] == ["user", "assistant"]
    for label in sub.labels:
        assert label in msgs[0]["content"]
    assert "Titel: T" in msgs[0]["content"] and "Datum: 2024-01-01" in msgs[0]["content"]
    assert json.loads(msgs[1]["content"]) == ex.labels
    assert TASK_FILE.is_file() and TASK_FILE.name == "tickets.yaml"


CUSTOM = """
name: reviews
inputs: {text: Text}
fields:
  - name: sentiment
    labels: [positiv, neutral, negativ]
  - name: aspect
    labels: [Preis, Qualität, Lieferung]
prompt:
  long: "Bewerte: {text}. {taxonomy} Antworte mit {format}"
"""


def test_custom_task_yaml(tmp_path: Path) -> None:
    path = tmp_path / "reviews.yaml"
    path.write_text(CUSTOM + "generator_options: {prior: uniform, rate: 0.5}\n", encoding="utf-8")
    task = load_task(str(path))
    assert task.generator_options == {"prior": "uniform", "rate": 0.5}
    assert load_task("tickets").generator_options == {}
    assert task.schema.names == ("sentiment", "aspect")
    ex = Example("1", {"text": "Zu teuer"}, {"sentiment": "negativ", "aspect": "Preis"})
    assert "Preis, Qualität, Lieferung" in task.messages(ex)[0]["content"]
    assert task.parse("{'sentiment': 'Negativ', 'aspect': 'preis'}").labels == ex.labels


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\n  bad: [", "line"),
        ("name: x\ninputs: {a: A}\nprompt: {long: hi}\n", "missing required key 'fields'"),
        (
            "name: x\ninputs: {a: A}\nfields: [{name: f, labels: [a, b]}]\nprompt: {long: '{zzz}'}\n",
            "uses '{zzz}'",
        ),
        (
            "name: x\ninputs: {a: A}\nfields: [{name: f, labels: [a, b]}, {name: g, parent: h, hierarchy: {}}]\nprompt: {long: hi}\n",
            "parent 'h' must be an earlier field",
        ),
        (
            "name: x\ninputs: {a: A}\nfields: [{name: f, labels: [a, a]}]\nprompt: {long: hi}\n",
            "labels must be unique",
        ),
        (
            "name: x\ninputs: {a: A}\nfields: [{name: f, labels: [a, b]}]\nprompt: {long: hi}\n"
            "generator_options: [prior, uniform]\n",
            "'generator_options' must be a mapping",
        ),
    ],
)
def test_bad_task_yaml(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_task_file(path)
    assert str(path) in str(e.value) and message in str(e.value)


def test_the_tickets_task_has_one_file_and_names_its_generator_directly() -> None:
    """One ``tickets.yaml`` in the repository (the packaged one, which ``--task tickets``
    reads), and its ``generator:`` names the generator's own module: no second copy to drift
    apart, no import path kept only for an old name."""
    import subprocess

    from bizztune.data.generate import offline_generator
    from bizztune.tasks.tickets import generator

    root = Path(__file__).resolve().parents[1]
    tracked = subprocess.run(
        ["git", "ls-files", "*tickets.yaml"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked == ["src/bizztune/tasks/tickets/tickets.yaml"]
    assert Path(TASK.source).resolve() == (root / tracked[0]).resolve() == TASK_FILE.resolve()
    assert TASK.generator == "bizztune.tasks.tickets.generator:generate"
    assert offline_generator(TASK) is generator.generate
