"""Which open model and which fine-tuning approach transfer: model x approach, trained on the
same generated split, scored on the generated test split and on hand-written tickets.

    python benchmarks/model_comparison.py --data runs/default/data/split
    python benchmarks/model_comparison.py --arms gemma3-270m:head,smollm2-135m:lora --sets test,tickets:foreign-dev
    python benchmarks/model_comparison.py --table runs/compare      # print the table of a finished run

Each arm is ``MODEL:TRAINER[:KEY=VALUE+...]`` (extra ``bizztune train`` flags, e.g.
``gemma3-270m:head:max-steps=300+lr=1e-3``); arms are separated by commas. Every arm trains with ``bizztune train`` in its own
process on the same split with the same seed, then ``bizztune eval`` scores it on every set
(``--sets``: ``test`` is the split's test split; ``tickets:foreign-dev`` is where choices are
made; ``tickets:foreign`` is reported, never chosen on). The table gives per-field accuracy,
joint accuracy and training minutes, with the CPU model and flags; everything lands in
``--out`` (one folder per arm: the adapter, its eval runs, ``arm.json``), and an arm already
finished there is not run again. Never run it beside another heavy job on the same cores: the
minutes are part of the result.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bizztune.core.machine import cpu_line

DEFAULT_ARMS = "smollm2-135m:lora,gemma3-270m:lora,smollm2-135m:head,gemma3-270m:head"
DEFAULT_SETS = "test,tickets:foreign-dev,tickets:foreign"


def recipe_flags(trainer: str) -> list[str]:
    """The ``bizztune train`` flags of the run's CPU recipe for ``trainer`` (the one
    ``bizztune run`` trains with: ``pipeline.config.run_train_defaults``)."""
    from bizztune.pipeline.config import run_train_defaults

    flags: list[str] = []
    for key, value in run_train_defaults(trainer).items():
        if key != "trainer":
            v = ",".join(value) if isinstance(value, list) else str(value)
            flags += [f"--{key.replace('_', '-')}", v]
    return flags


def bizztune(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("bizztune")
    r = subprocess.run([str(exe), *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"bizztune {' '.join(args)} failed:\n{r.stderr[-3000:]}")
    return r


def _pairs(flags: str) -> list[str]:
    """An arm's KEY=VALUE pairs: "+" separates them, not a "+" inside a value
    (head-pooling=mean+embed)."""
    return [kv for kv in re.split(r"\+(?=[\w-]+=)", flags) if kv]


def parse_arm(spec: str) -> tuple[str, str, list[str]]:
    model, trainer, *rest = spec.split(":")
    extra: list[str] = []
    for kv in _pairs(":".join(rest)):
        k, _, v = kv.partition("=")
        extra += [f"--{k}", v]
    return model, trainer, extra


def run_arm(spec: str, data: str, sets: list[str], out: Path, seed: int) -> dict[str, Any]:
    folder = out / spec.replace(":", "_").replace("=", "-").replace("+", "_")
    done = folder / "arm.json"
    if done.is_file():
        return dict(json.loads(done.read_text()))
    model, trainer, extra = parse_arm(spec)
    adapter = folder / "adapter"
    recipe = recipe_flags(trainer)
    t0 = time.perf_counter()
    bizztune("train", "--trainer", trainer, "--model", model, "--data", data,
             "--out", str(adapter), "--seed", str(seed), *recipe, *extra)  # fmt: skip
    wall = time.perf_counter() - t0
    summary = json.loads((adapter / "train_summary.json").read_text())
    style = summary.get("style", "compact")
    result: dict[str, Any] = {
        "arm": spec, "model": model, "trainer": trainer, "train_wall_s": round(wall, 1),
        "train_s": summary.get("train_time_s"), "tokens_per_s": summary.get("tokens_per_s"),
        "peak_rss_mb": summary.get("peak_rss_mb"), "sets": {},
    }  # fmt: skip
    for s in sets:
        ev = folder / "eval" / s.replace(":", "_")
        args = ["eval", "--provider", "hf", "--model", model, "--adapter", str(adapter),
                "--style", style, "--decoding", "constrained", "--out", str(ev), "--seed", str(seed)]  # fmt: skip
        args += ["--data", data, "--split", "test"] if s == "test" else ["--data", s]
        t1 = time.perf_counter()
        bizztune(*args)
        m = json.loads((ev / "metrics.json").read_text())
        result["sets"][s] = {
            **{f: m["fields"][f]["accuracy"] for f in m["fields"]},
            "joint": m["joint"]["accuracy"],
            "n": m["n"],
            "eval_s": round(time.perf_counter() - t1, 1),
        }
    done.write_text(json.dumps(result, indent=2))
    return result


def table(results: list[dict[str, Any]], sets: list[str]) -> str:
    lines = [
        "| model | approach | train min | tokens/s | peak RSS GiB | "
        + " | ".join(f"{s}: cat / sub / urg / joint" for s in sets)
        + " |",
        "|" + "---|" * (5 + len(sets)),
    ]
    for r in results:
        extra = r["arm"].split(":", 2)[2:]  # the arm's own flags, e.g. head-pooling=mean
        peak = r.get("peak_rss_mb")
        cells = [
            r["model"],
            r["trainer"] + (f" ({', '.join(_pairs(extra[0]))})" if extra else ""),
            f"{(r['train_s'] or 0) / 60:.1f}",
            f"{r['tokens_per_s'] or 0:.0f}",
            f"{peak / 1024:.2f}" if peak else "n/a",
        ]
        for s in sets:
            x = r["sets"].get(s)
            cells.append(
                " / ".join(
                    f"{100 * x[k]:.1f}" for k in ("category", "subcategory", "urgency", "joint")
                )
                if x
                else "n/a"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", help="split folder to train on (default: the embedded default set)")
    ap.add_argument("--arms", default=DEFAULT_ARMS)
    ap.add_argument("--sets", default=DEFAULT_SETS)
    ap.add_argument("--out", type=Path, default=Path("runs/model-comparison"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--table", type=Path, help="only print the table of the arms finished here")
    a = ap.parse_args()
    sets = a.sets.split(",")
    if a.table:
        results = [json.loads(p.read_text()) for p in sorted(a.table.glob("*/arm.json"))]
    else:
        if a.data is None:
            from bizztune.data.sources import resolve_data
            from bizztune.tasks import load_task

            a.data = str(resolve_data(load_task("tickets"), None))
        a.out.mkdir(parents=True, exist_ok=True)
        results = []
        for spec in a.arms.split(","):
            print(f"arm {spec} ...", file=sys.stderr, flush=True)
            results.append(run_arm(spec, a.data, sets, a.out, a.seed))
            print(table(results[-1:], sets), file=sys.stderr, flush=True)
    print(f"CPU: {cpu_line()}; data: {a.data or a.table}")
    print(table(results, sets))


if __name__ == "__main__":
    main()
