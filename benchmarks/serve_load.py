"""``bizztune serve`` under load against ``bizztune eval`` of the same model, in one run.

    python benchmarks/serve_load.py --adapter runs/default/train --requests 96
    python benchmarks/serve_load.py --adapter runs/default/train --combine-with tfidf \\
        --train-data runs/default/data/split
    python benchmarks/serve_load.py --model smollm2-135m --requests 32   # a base model, constrained

Three arms on the same tickets (the first ``--requests`` of ``--data``'s test split; by default
the adapter's run folder's ``data/split``, else the embedded default), one after the other,
each through the real CLI in a subprocess:

(offline) ``bizztune eval`` of the model with the settings the server loads it with (provider,
    decoding, prompt style): tickets per second of its scoring loop (``metrics.json``'s
    ``usage.items_per_s``; loading excluded). With ``--combine-with tfidf`` tfidf is evaluated
    too, and a combined ticket costs both: 1 / (1 / the model's rate + tfidf's mean latency).
(1 client) one client, one request at a time, against ``bizztune serve`` as deployed
    (``--max-batch 16 --max-wait-ms 10`` unless given);
(N clients) ``--clients`` clients against the same server.

A request is one ticket on ``/v1/classify`` with httpx (``--client openai``: the same ticket as
a chat completion with the openai client). Prints requests/s, p50/p95/p99 latency and errors of
each served arm, the served-versus-offline ratio at N clients (target on a CPU: at least 0.9
with 0 errors), the batching gain (N clients over one; a GPU figure: on a few CPU cores one
forward pass already keeps them busy) and the CPU; ``--out`` writes the same as JSON. Figures
on a shared machine move with its load (the load average before and after is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bizztune.core.machine import cpu_line

TARGET = 0.9
"""Served throughput at N clients over offline, on a CPU (issue 32)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adapter", type=Path, help="a training folder (the run's train/)")
    ap.add_argument("--model", help="embedded name or HF folder (default: the adapter's base)")
    ap.add_argument("--data", help="split folder or labelled file (default: see above)")
    ap.add_argument("--combine-with", help="serve the model pooled with this provider (tfidf)")
    ap.add_argument("--train-data", help="what --combine-with learns from (the run's data/split)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=200, help="tickets per arm")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per served arm")
    ap.add_argument("--warmup", type=int, default=2, help="requests before each served arm")
    ap.add_argument("--max-batch", type=int, default=16, help="the server's --max-batch")
    ap.add_argument("--max-wait-ms", type=float, default=10.0, help="the server's --max-wait-ms")
    ap.add_argument("--decoding", choices=["constrained", "free"], default="constrained")
    ap.add_argument("--device", help="cpu, cuda (default: cuda if present), for both sides")
    ap.add_argument("--client", choices=["httpx", "openai"], default="httpx")
    ap.add_argument("--out", type=Path, help="write the results here as JSON")
    args = ap.parse_args(argv)
    if args.adapter is None and args.model is None:
        ap.error("pass --adapter (a training folder) or --model")
    if args.adapter is not None and not args.adapter.is_dir():
        ap.error(f"--adapter {args.adapter}: no such folder")
    if args.train_data and not args.combine_with:
        ap.error("--train-data goes with --combine-with")
    if min(args.clients, args.requests, args.max_batch) < 1 or args.warmup < 0:
        ap.error("--clients, --requests and --max-batch must be at least 1, --warmup at least 0")
    return args


def setup(args: argparse.Namespace) -> dict[str, Any]:
    """The model, data and prompt style both sides use, and the tickets."""
    from bizztune.data.io import load_examples
    from bizztune.data.sources import resolve_data
    from bizztune.models.adapters import adapter_style
    from bizztune.models.loading import adapter_base
    from bizztune.plugins import load_task

    adapter = str(args.adapter) if args.adapter else None
    model = args.model or (adapter_base(args.adapter) if args.adapter else None)
    if model is None:
        raise SystemExit(f"--adapter {adapter} does not name its base model: pass --model")
    data = args.data
    if data is None and args.adapter is not None:
        run_split = args.adapter.resolve().parent / "data" / "split"
        data = str(run_split) if run_split.is_dir() else None
    task = load_task("tickets")
    path = resolve_data(task, data)
    examples = load_examples(path, task, "test" if path.is_dir() else None)
    need = args.warmup + args.requests
    tickets = [dict(ex.inputs) for ex in examples]
    tickets = (tickets * (need // max(1, len(tickets)) + 1))[:need]
    style = adapter_style(adapter) or "long"
    return {
        "model": model,
        "adapter": adapter,
        "data": str(path),
        "style": style,
        "tickets": tickets,
    }


def cli() -> list[str]:
    exe = Path(sys.executable).with_name("bizztune")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "bizztune.cli"]


def offline(args: argparse.Namespace, s: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """``bizztune eval`` of the served model (and of --combine-with) on the same tickets."""

    def run_eval(name: str, *flags: str) -> dict[str, Any]:
        out = tmp / name
        cmd = [*cli(), "eval", *flags, "--data", s["data"], "--limit", str(args.requests)]
        cmd += ["--out", str(out)]
        if Path(s["data"]).is_dir():
            cmd += ["--split", "test"]
        done = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"bizztune eval ({name}) failed: {done.stderr.strip()[-500:]}")
        return dict(json.loads((out / "metrics.json").read_text())["usage"])

    flags = ["--provider", "hf", "--model", s["model"], "--decoding", args.decoding]
    flags += ["--style", s["style"], "--batch-size", str(args.max_batch)]
    flags += ["--device", args.device] if args.device else []
    usage = run_eval("model", *flags, *(["--adapter", s["adapter"]] if s["adapter"] else []))
    res = {"model_items_per_s": round(usage["items_per_s"], 3)}
    rate = usage["items_per_s"]
    if args.combine_with:
        train = ["--train-data", args.train_data] if args.train_data else []
        other = run_eval("other", "--provider", args.combine_with, *train)
        res["other_latency_mean_s"] = round(other["latency_mean_s"], 5)
        rate = 1 / (1 / rate + other["latency_mean_s"])
    res["items_per_s"] = round(rate, 3)
    return res


def _env() -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("BIZZTUNE_SERVE_KEY", None)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(args: argparse.Namespace, s: dict[str, Any]) -> Iterator[str]:
    port = free_port()
    flags = ["--model", s["model"], "--port", str(port), "--log-level", "warning"]
    flags += ["--max-batch", str(args.max_batch), "--max-wait-ms", str(args.max_wait_ms)]
    flags += ["--decoding", args.decoding, "--style", s["style"]]
    flags += ["--device", args.device] if args.device else []
    flags += ["--adapter", s["adapter"]] if s["adapter"] else []
    flags += ["--combine-with", args.combine_with] if args.combine_with else []
    flags += ["--train-data", args.train_data] if args.train_data else []
    proc = subprocess.Popen(
        [*cli(), "serve", *flags], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise SystemExit(f"bizztune serve exited: {err.strip()[-500:]}")
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=120)


def caller(kind: str, url: str, model_id: str) -> Callable[[dict[str, str]], bool]:
    """One client (not shared between threads): a call per ticket, True when it succeeded."""
    if kind == "openai":
        import openai

        from bizztune.core.interfaces import Example
        from bizztune.plugins import load_task

        task = load_task("tickets")
        client = openai.OpenAI(base_url=url + "/v1", api_key="EMPTY", max_retries=0, timeout=300)

        def chat(t: dict[str, str]) -> bool:
            msgs: Any = task.messages(Example("x", t), style="long")
            r = client.chat.completions.create(model=model_id, messages=msgs)
            return bool(r.choices and r.choices[0].message.content)

        return chat
    http = httpx.Client(base_url=url, timeout=300)

    def classify(t: dict[str, str]) -> bool:
        r = http.post("/v1/classify", json=t)
        return r.status_code == 200 and bool(r.json()["results"][0]["labels"])

    return classify


def arm(url: str, args: argparse.Namespace, clients: int, items: list[dict[str, str]]) -> dict:
    """``clients`` threads calling until ``items`` (after the warm-up ones) or time run out."""
    model_id = httpx.get(url + "/v1/models", timeout=10).json()["data"][0]["id"]
    warm = caller(args.client, url, model_id)
    for t in items[: args.warmup]:
        warm(t)
    todo = iter(items[args.warmup :])
    lock = threading.Lock()
    lat: list[float] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + args.time_limit

    def worker() -> None:
        call = caller(args.client, url, model_id)
        while time.perf_counter() < stop_at:
            with lock:
                t = next(todo, None)
            if t is None:
                return
            t0 = time.perf_counter()
            try:
                err = None if call(t) else "bad answer"
            except Exception as e:  # counted, not raised: the run goes on
                err = f"{type(e).__name__}: {e}"[:200]
            dt = time.perf_counter() - t0
            with lock:
                (errors.append(err) if err else lat.append(dt))

    before = httpx.get(url + "/health", timeout=10).json()["batches"]
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    after = httpx.get(url + "/health", timeout=10).json()["batches"]
    batches = after["count"] - before["count"]
    return {
        "clients": clients,
        "requests": len(lat),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(lat) / wall, 3) if wall else 0.0,
        "p50_ms": round(1000 * pct(lat, 50), 1),
        "p95_ms": round(1000 * pct(lat, 95), 1),
        "p99_ms": round(1000 * pct(lat, 99), 1),
        "server_batches": batches,
        "items_per_batch": round((after["items"] - before["items"]) / batches, 2)
        if batches
        else None,
    }


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[int(p) - 1]


def verdict(res: dict[str, Any], clients: int) -> str:
    many, one = res["served"][str(clients)], res["served"]["1"]
    res["served_vs_offline"] = round(many["throughput_rps"] / res["offline"]["items_per_s"], 2)
    res["batching_gain"] = round(many["throughput_rps"] / one["throughput_rps"], 2)
    errors = many["errors"] + one["errors"]
    met = res["served_vs_offline"] >= TARGET and errors == 0
    return (
        f"served {many['throughput_rps']:.2f} req/s with {clients} clients = "
        f"{res['served_vs_offline']}x offline ({res['offline']['items_per_s']:.2f} tickets/s); "
        f"errors {errors}; CPU target >= {TARGET}x with 0 errors: {'met' if met else 'NOT met'}. "
        f"Batching gain ({clients} clients / 1): {res['batching_gain']}x (a GPU figure)"
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    s = setup(args)
    res: dict[str, Any] = {"cpu": cpu_line(), **{k: v for k, v in s.items() if k != "tickets"}}
    res |= {"combine_with": args.combine_with, "client": args.client}
    res["load_average_before"] = os.getloadavg()[0]
    print(f"CPU: {res['cpu']}; load average {res['load_average_before']}", flush=True)
    print(f"model {s['model']}, adapter {s['adapter']}, data {s['data']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        res["offline"] = offline(args, s, Path(tmp))
    print("offline (bizztune eval):", json.dumps(res["offline"]), flush=True)
    res["served"] = {}
    with server(args, s) as url:
        for clients in (1, args.clients):
            res["served"][str(clients)] = arm(url, args, clients, s["tickets"])
            print(
                f"served, {clients} clients:", json.dumps(res["served"][str(clients)]), flush=True
            )
    print(verdict(res, args.clients))
    res["load_average_after"] = os.getloadavg()[0]
    print(
        f"load average (1 min) before {res['load_average_before']}, after {res['load_average_after']}"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
