"""Plugins: the built-in modules register through the same hooks as a third-party plugin, in
one assembly point; a plugin installed by pip shows up in `bizztune plugins` and works in
`bizztune eval`; the wheel ships the task YAML; the import graph has no circle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bizztune.plugins import registry

from chat_server import ChatServer, Reply
from conftest import REPO, run_cli


def _pip(*args: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip-installs plugins/bizztune-keywords into a private site dir used via PYTHONPATH."""
    site = tmp_path_factory.mktemp("site")
    _pip(
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--target",
        str(site),
        str(REPO / "plugins" / "bizztune-keywords"),
    )
    return site


def test_builtins_register_through_the_hooks_of_their_own_modules() -> None:
    from bizztune import plugins

    reg = registry()
    assert reg.components["task"]["tickets"].distribution == "bizztune"
    assert reg.components["provider"]["tfidf"].distribution == "bizztune"
    assert {"majority", "tfidf"} <= set(reg.names("provider"))
    # each built-in module implements the hooks itself, as a third-party plugin does
    pm, _ = plugins.plugin_manager()
    names = {impl.plugin_name for impl in pm.hook.register_providers.get_hookimpls()}
    assert {"bizztune.providers.baselines", "bizztune.providers.local"} <= names


def test_a_factory_that_returns_no_provider_is_an_error_naming_the_plugin() -> None:
    from bizztune.core.errors import PluginError
    from bizztune.core.interfaces import Provider
    from bizztune.core.registry import Component, check_built

    comp = Component("provider", "broken", object, "", "some-plugin")
    with pytest.raises(PluginError, match=r"provider 'broken' \(from some-plugin\).*no complete"):
        check_built(comp, object(), Provider)

    class Quiet:  # only what is called: attributes stay duck-typed, as before
        def complete(self, requests: object, schema: object) -> list[object]:
            return []

    check_built(comp, Quiet(), Provider)


def test_installed_plugin_is_listed_and_usable(
    plugin_site: Path, split_dir: Path, tmp_path: Path
) -> None:
    env = {"PYTHONPATH": os.pathsep.join([str(plugin_site), os.environ.get("PYTHONPATH", "")])}
    listing = run_cli("plugins", env=env)
    assert listing.returncode == 0, listing.stderr
    rows = [line for line in listing.stdout.splitlines() if "bizztune-keywords" in line]
    assert any("keywords" in r and "provider" in r for r in rows)
    assert any("tickets-urgency" in r and "task" in r for r in rows)

    out = tmp_path / "kw"
    r = run_cli(
        "eval",
        "--provider",
        "keywords",
        "--task",
        "tickets",
        "--data",
        str(split_dir),
        "--out",
        str(out),
        env=env,
    )
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["invalid_rate"] == 0.0 and m["n"] > 0
    # the plugin's own task works through the same evaluator
    r = run_cli(
        "eval",
        "--provider",
        "keywords",
        "--task",
        "tickets-urgency",
        "--data",
        str(split_dir),
        "--out",
        str(tmp_path / "kwu"),
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert list(json.loads((tmp_path / "kwu" / "metrics.json").read_text())["fields"]) == [
        "urgency"
    ]

    # without the plugin on the path, the provider is unknown
    assert run_cli("eval", "--provider", "keywords", "--data", str(split_dir)).returncode != 0


def test_run_treats_a_plugin_api_provider_like_the_built_ins(
    plugin_site: Path, tmp_path: Path
) -> None:
    """The plugin's 'acme' declares its key variable and that it is paid when it registers;
    'bizztune run' reads that: skipped without ACME_API_KEY, skipped with --no-api, and scored
    through bizztune's API engine against a self-hosted server (base_url: any key will do)."""
    from bizztune.testing import make_tiny_model

    STAGES = "generate,split,baselines"  # the base model is scored too; no training
    tiny = make_tiny_model(tmp_path / "tiny")
    answer = '{"category": "Ungewiss", "subcategory": "Kein Zusammenhang", "urgency": "Niedrig"}'
    env = {"PYTHONPATH": os.pathsep.join([str(plugin_site), os.environ.get("PYTHONPATH", "")])}
    with ChatServer(lambda body, n: Reply(content=answer)) as srv:
        local = {"provider": "acme", "label": "acme-local", "base_url": srv.url + "/v1"}
        cfg = tmp_path / "plugin-run.yaml"
        cfg.write_text(
            yaml.safe_dump(
                {
                    "name": "plugin-run",
                    "data": {"n": 60},
                    "model": {"name": str(tiny), "provider": "hf", "style": "compact"},
                    "eval": {"baselines": ["majority", "acme", local], "test_sets": ["test"]},
                    "decision": {"choose_on": "val", "confirm_on": "test"},
                }
            ),
            encoding="utf-8",
        )
        out = tmp_path / "run"
        r = run_cli("run", "--config", str(cfg), "--out", str(out), "--stages", STAGES, env=env)
        assert r.returncode == 0, r.stderr[-3000:]
        assert "eval:acme skipped: ACME_API_KEY is not set" in r.stderr
        assert "eval:acme-local done" in r.stderr and "eval:majority done" in r.stderr
        n_test = len((out / "data" / "split" / "test.jsonl").read_text().splitlines())
        n_val = len((out / "data" / "split" / "val.jsonl").read_text().splitlines())
        # scored on the test split and on the val split, where the Decision chooses
        assert len(srv.requests) == n_test + n_val and srv.requests[0]["model"] == "acme-small"
        m = json.loads((out / "eval" / "acme-local" / "metrics.json").read_text())
        assert m["n"] == n_test and m["invalid_rate"] == 0.0
        assert not (out / "eval" / "acme" / "stage.done.json").exists()

        r = run_cli(
            "run", "--config", str(cfg), "--out", str(out), "--stages", STAGES, "--no-api",
            env=env,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr[-3000:]
        for label in ("acme", "acme-local"):
            assert f"eval:{label} skipped: API baselines are off" in r.stderr
        assert "eval:majority cached" in r.stderr
        assert len(srv.requests) == n_test + n_val  # --no-api: not one request more


def test_non_editable_wheel_ships_the_task(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    _pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(REPO))
    site = tmp_path / "site"
    _pip("install", "--quiet", "--no-deps", "--target", str(site), *map(str, wheels.glob("*.whl")))
    code = (
        "import bizztune.plugins as p, bizztune.tasks.tickets as tickets; "
        "task = p.load_task('tickets'); "
        "print(tickets.TASK_FILE); print(len(task.schema.field('subcategory').labels))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    where, n = out.stdout.split()
    assert where.startswith(str(site)) and n == "11"


def test_the_import_graph_has_no_circle_and_the_core_imports_nothing_above_it() -> None:
    """No module of the package reaches itself through imports (any depth, function-level
    imports and those for type checking only included), and ``core/`` imports nothing of the package above it, by name either
    (``importlib.import_module("bizztune...")``, which import-linter cannot see)."""
    import re

    import grimp

    graph = grimp.build_graph("bizztune", exclude_type_checking_imports=False)
    circles = [
        (m, other)
        for m in graph.modules
        for other in graph.find_modules_directly_imported_by(m)
        if m != other and graph.chain_exists(importer=other, imported=m)
    ]
    assert circles == [], circles[:3]
    core = REPO / "src" / "bizztune" / "core"
    for path in core.glob("*.py"):
        by_name = re.findall(
            r"""(?:import_module|__import__)\(\s*["'](bizztune[\w.]*)""", path.read_text()
        )
        assert [n for n in by_name if not n.startswith("bizztune.core")] == [], path
        module = "bizztune.core" + ("" if path.stem == "__init__" else f".{path.stem}")
        for m in graph.find_modules_directly_imported_by(module):
            assert m.startswith("bizztune.core"), (path.name, m)
