"""Load on ``bizztune serve``: N concurrent clients with micro-batching against one request at a
time, in one run, on the same model and tickets.

    python benchmarks/serve_load.py --model smollm2-135m --clients 16 --requests 96
    python benchmarks/serve_load.py --model path/to/tiny --requests 32 --time-limit 30

Three arms, each a real ``bizztune serve`` subprocess on 127.0.0.1 called with a real client
(httpx on ``/v1/classify``, one ticket per request; ``--client openai`` sends the same ticket
as an OpenAI chat completion with the openai client):

(a) sequential: one client, one request at a time, server ``--max-batch 1`` (no batching wait);
(b) concurrent, unbatched: ``--clients`` clients against the same ``--max-batch 1`` server;
(c) concurrent, batched: ``--clients`` clients against a server with ``--max-batch N
    --max-wait-ms W``.

Each arm stops after ``--requests`` requests or ``--time-limit`` seconds, whichever comes
first, after ``--warmup`` requests that are not counted. Prints requests/s, p50/p95/p99
latency, errors, the ratios (c)/(a) and (c)/(b), and the CPU model and flags; ``--out``
writes the same as JSON. Figures on a shared machine move with its load: compare arms of
one run, not runs; the 1-minute load average before and after is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bizztune.core.machine import cpu_line

REPO = Path(__file__).resolve().parents[1]


def tickets(n: int) -> list[dict[str, str]]:
    """``n`` tickets of the tickets task's offline generator (seed 1), inputs only."""
    from bizztune.tasks import load_task
    from bizztune.tasks.tickets.generator import generate

    task = load_task("tickets")
    rows = list(generate(task, n, 1))
    return [{k: str(r[k]) for k in task.input_fields} for r in rows]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(model: str, *flags: str) -> Iterator[str]:
    port = free_port()
    exe = Path(sys.executable).with_name("bizztune")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "bizztune.cli"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("BIZZTUNE_SERVE_KEY", None)
    proc = subprocess.Popen(
        [*cmd, "serve", "--model", model, "--port", str(port), "--log-level", "warning", *flags],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(
                    f"bizztune serve exited: {proc.stderr.read() if proc.stderr else ''}"
                )
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
        from bizztune.tasks import load_task

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


def arm(
    url: str, kind: str, clients: int, items: list[dict[str, str]], limit_s: float, warmup: int
) -> dict[str, Any]:
    model_id = httpx.get(url + "/v1/models", timeout=10).json()["data"][0]["id"]
    warm = caller(kind, url, model_id)
    for t in items[:warmup]:
        warm(t)
    todo = iter(items[warmup:])
    lock = threading.Lock()
    lat: list[float] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + limit_s

    def worker() -> None:
        call = caller(kind, url, model_id)
        while time.perf_counter() < stop_at:
            with lock:
                t = next(todo, None)
            if t is None:
                return
            t0 = time.perf_counter()
            try:
                ok = call(t)
                err = None if ok else "bad answer"
            except Exception as e:  # counted, not raised: the run goes on
                err = f"{type(e).__name__}: {e}"[:200]
            dt = time.perf_counter() - t0
            with lock:
                (errors.append(err) if err else lat.append(dt))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    health = httpx.get(url + "/health", timeout=10).json()["batches"]
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
        "server_batches": health,
    }


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[int(p) - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m", help="embedded name or HF folder")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=96, help="per concurrent arm")
    ap.add_argument("--sequential-requests", type=int, default=24)
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per arm, at most")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--max-batch", type=int, default=16)
    ap.add_argument("--max-wait-ms", type=float, default=20.0)
    ap.add_argument("--client", choices=["httpx", "openai"], default="httpx")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    items = tickets(args.warmup + max(args.requests, args.sequential_requests))
    warm, rest = args.warmup, items[args.warmup :]
    res: dict[str, Any] = {"cpu": cpu_line(), "model": args.model, "client": args.client}
    res["load_average_before"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(
        f"CPU: {res['cpu']}; load average {res['load_average_before']}; model {args.model}; "
        f"client {args.client}",
        flush=True,
    )
    with server(args.model, "--max-batch", "1") as url:
        seq = items[:warm] + rest[: args.sequential_requests]
        res["sequential"] = arm(url, args.client, 1, seq, args.time_limit, warm)
        print("sequential:", json.dumps(res["sequential"]), flush=True)
        conc = items[:warm] + rest[: args.requests]
        res["unbatched"] = arm(url, args.client, args.clients, conc, args.time_limit, warm)
        print("concurrent, unbatched:", json.dumps(res["unbatched"]), flush=True)
    flags = ["--max-batch", str(args.max_batch), "--max-wait-ms", str(args.max_wait_ms)]
    with server(args.model, *flags) as url:
        conc = items[:warm] + rest[: args.requests]
        res["batched"] = arm(url, args.client, args.clients, conc, args.time_limit, warm)
        print("concurrent, batched:", json.dumps(res["batched"]), flush=True)
    b = res["batched"]["throughput_rps"]
    res["ratio_vs_sequential"] = round(b / res["sequential"]["throughput_rps"], 2)
    res["ratio_vs_unbatched"] = round(b / res["unbatched"]["throughput_rps"], 2)
    errors = sum(res[k]["errors"] for k in ("sequential", "unbatched", "batched"))
    print(
        f"batched {b:.2f} req/s with {args.clients} clients = "
        f"{res['ratio_vs_sequential']}x one-at-a-time, {res['ratio_vs_unbatched']}x unbatched "
        f"with the same clients; errors {errors}; target >= 3x with 0 errors: "
        f"{'met' if res['ratio_vs_sequential'] >= 3 and errors == 0 else 'NOT met'}"
    )
    res["load_average_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(
        f"load average (1 min) before {res['load_average_before']}, after {res['load_average_after']}"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
