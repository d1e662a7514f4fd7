"""Shared fixtures: the built-in task, a small hand-written labelled split, CLI helpers."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

# Under pytest-xdist each worker's torch (and the CLI runs it starts, which inherit the
# environment) would use every core: with -n 2 on 2 cores that is 4+ busy threads on 2 cores.
# One worker's share of the cores each, unless the caller chose; set before torch is imported.
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    for _var in THREAD_VARS:
        os.environ.setdefault(_var, str(_share))


@pytest.fixture()
def same_threads_everywhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """One thread count for this test's torch and every process it starts: for tests that
    compare runs made in different processes bit for bit (a float sum's order follows the
    thread count), which the per-worker share above would give two counts."""
    import torch

    n = os.cpu_count() or 1
    for var in THREAD_VARS:
        monkeypatch.setenv(var, str(n))
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    yield
    torch.set_num_threads(before)


# Hand-written problem phrases per subcategory, and urgency cues. Small on purpose: core tests
# need a realistic, learnable split that does not depend on the data generator under test.
PHRASES = {
    "Geräte-Setup-Probleme": [
        "Ich bekomme den neuen Router nicht eingerichtet",
        "Die Smartwatch lässt sich nicht mit dem Handy koppeln",
        "Bei der Installation des Fernsehers bricht der Assistent ab",
    ],
    "Softwarefehler": [
        "Seit dem letzten Update stürzt die App ständig ab",
        "Die Firmware zeigt einen Fehlercode beim Start",
        "Der Laptop friert nach dem Treiber-Update ein",
    ],
    "Zahlungsprobleme": [
        "Meine Kreditkarte wurde zweimal belastet",
        "Die Zahlung per PayPal wurde abgelehnt",
        "Auf der Rechnung steht ein falscher Betrag",
    ],
    "Rückerstattungsanfragen": [
        "Ich möchte mein Geld für die zurückgeschickten Kopfhörer",
        "Die Erstattung für die Stornierung fehlt noch",
        "Bitte erstatten Sie den Betrag für das defekte Kabel",
    ],
    "Produktspezifikationen": [
        "Unterstützt der Fernseher Dolby Vision",
        "Wie lange hält der Akku des Tablets",
        "Ist das Ladegerät mit USB-C Power Delivery kompatibel",
    ],
    "Garantieinformationen": [
        "Gilt die Garantie auch für Wasserschäden",
        "Wie lange läuft die Herstellergarantie für mein Notebook",
        "Deckt die Gewährleistung einen Displaybruch ab",
    ],
    "Bestellverfolgung": [
        "Wo ist meine Bestellung gerade",
        "Die Sendungsverfolgung zeigt seit Tagen nichts an",
        "Können Sie mir den Status meiner Bestellung nennen",
    ],
    "Lieferverzögerungen": [
        "Meine Lieferung ist schon eine Woche verspätet",
        "Der zugesagte Liefertermin ist verstrichen",
        "Das Paket sollte gestern kommen, ist aber nicht da",
    ],
    "Unternehmensrichtlinien": [
        "Wie lautet Ihre Rückgaberichtlinie",
        "Was steht in Ihren Datenschutzbestimmungen zu meinen Daten",
        "Welche Bedingungen gelten für Rücksendungen",
    ],
    "Feedback und Vorschläge": [
        "Ich habe einen Vorschlag für Ihre App",
        "Großes Lob an Ihren Kundendienst",
        "Es wäre schön, wenn es die Hülle in Grün gäbe",
    ],
    "Kein Zusammenhang": [
        "Haben Sie ein gutes Rezept für Apfelkuchen",
        "Ich suche die Telefonnummer meines Zahnarztes",
        "Wie wird das Wetter am Wochenende",
    ],
}
URGENCY = {
    "Hoch": ["Das ist dringend, bitte sofort helfen.", "Ich brauche heute noch eine Lösung!"],
    "Mittel": ["Eine Antwort in den nächsten Tagen wäre gut.", "Es stört, aber es geht noch."],
    "Niedrig": ["Keine Eile, nur eine Frage.", "Melden Sie sich, wann es passt."],
}
NAMES = ["Anna Schmidt", "Jonas Weber", "Lea Fischer", "Paul Wagner", "Mia Becker", "Tim Hoffmann"]


def parent_of() -> dict[str, str]:
    from bizztune.plugins import load_task

    return dict(load_task("tickets").schema.field("subcategory").parent_of)


def make_rows(n_per_cell: int = 2, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    cats = parent_of()
    rows = []
    i = 0
    for sub, phrases in PHRASES.items():
        for urg, cues in URGENCY.items():
            for _ in range(n_per_cell):
                i += 1
                rows.append(
                    {
                        "id": f"t{i:04d}",
                        "title": rng.choice(phrases)[:40],
                        "description": f"{rng.choice(phrases)}. {rng.choice(cues)} Kunde seit {2010 + i % 14}.",
                        "user": rng.choice(NAMES),
                        "date": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                        "category": cats[sub],
                        "subcategory": sub,
                        "urgency": urg,
                    }
                )
    rng.shuffle(rows)
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """``rows`` as a CSV file with a header, the first row's keys as its columns."""
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Gemma-3-shaped model built from a config (``bizztune.testing``), one per test
    module."""
    from bizztune.testing import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture()
def split_dir(tmp_path: Path) -> Path:
    """A split directory in bizztune's layout: train/val/test JSONL of hand-written tickets."""
    rows = make_rows(n_per_cell=4)
    d = tmp_path / "split"
    n = len(rows)
    write_jsonl(d / "train.jsonl", rows[: int(0.7 * n)])
    write_jsonl(d / "val.jsonl", rows[int(0.7 * n) : int(0.8 * n)])
    write_jsonl(d / "test.jsonl", rows[int(0.8 * n) :])
    return d


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Caches go to ``home``, never to the user's; no hub, no API keys."""
    monkeypatch.setenv("BIZZTUNE_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for key in ("OPENAI_API_KEY", "MISTRAL_API_KEY"):
        monkeypatch.delenv(key, raising=False)


@contextmanager
def isolated(home: Path) -> Iterator[None]:
    """A module or session fixture's environment: it is set up before a test's own
    ``_isolated_home``, so it isolates itself the same way while it builds."""
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, home)
        yield


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch, tmp_path / "bizztune-home")


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    """Run the `bizztune` entry point in a process of its own: forked from a server with torch
    and transformers imported (``clifork``), or a real subprocess where a fork cannot do."""
    import clifork

    full_env = {**os.environ, **(env or {})}
    exe = Path(sys.executable).with_name("bizztune")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "bizztune.cli"]
    return clifork.run(cmd, list(args), cwd, full_env, timeout)


def train_head(model: Path, data: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`bizztune train --trainer head` on a tiny model with the tests' small-step settings."""
    return run_cli(
        "train", "--recipe", "none", "--trainer", "head", "--model", str(model), "--data", str(data),
        "--out", str(out), "--batch-size", "4", "--lr", "3e-3", "--dropout", "0",
        *extra,
    )  # fmt: skip


def eval_adapter_answers(model: Path, adapter: Path, data: Path, out: Path) -> None:
    """`bizztune eval` of a trained adapter on 8 items: it runs, and every answer is valid."""
    r = run_cli("eval", "--provider", "hf", "--model", str(model), "--adapter", str(adapter),
                "--data", str(data), "--out", str(out), "--limit", "8")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((out / "metrics.json").read_text())["invalid_rate"] == 0.0


def run_eval(cfg: Any, progress: Any = None) -> Path:
    """``bizztune.eval.evaluate.run_eval`` with the task and provider resolved from ``cfg``,
    as ``bizztune eval`` resolves them."""
    from bizztune.eval.evaluate import run_eval as evaluate
    from bizztune.plugins import load_task, registry

    return evaluate(cfg, load_task(cfg.task), registry().provider(cfg.provider.name), progress)


def run_experiment(cfg: Any, out: Path | None = None, **kw: Any) -> Any:
    """``bizztune.pipeline.stages.run_experiment`` with the task and the registry resolved, as
    ``bizztune run`` resolves them."""
    from bizztune.pipeline.stages import run_experiment as run
    from bizztune.plugins import load_task, registry

    return run(cfg, load_task(cfg.task), registry(), out, **kw)


# The longest test files, longest first (measured with -n 2 --durations=0, summed per file).
# pytest-xdist's --dist loadfile hands whole files to the workers in collection order, so a
# long file collected last would run alone at the end while the other worker sits idle.
LONGEST_FIRST = (
    "test_run.py",
    "test_hf_provider.py",
    "test_train.py",
    "test_fault_injection.py",
    "test_decide_sets.py",
    "test_memory.py",
    "test_export.py",
    "test_head.py",
    "test_cli_eval.py",
    "test_decision.py",
    "test_serve.py",
    "test_fsdp.py",
    "test_head_refit.py",
    "test_serve_adapter.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: file order kept
