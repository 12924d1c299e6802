"""Load on the review API: N concurrent clients sending single messages for a fixed time.

Starts ``flagger serve`` on loopback (its own process, the shipped model unless ``--model``),
waits until it is ready, then keeps ``--clients`` connections each sending one EDOS post per
``POST /v1/classify`` request, back to back, for ``--seconds``. Prints latency percentiles,
throughput and errors (any non-2xx answer, failed connection or timeout).

The load comes from ``wrk`` (C, one thread, ``bench/api_load.lua``) when it is installed
(``make wrk``): the generator shares the machine's cores with the server, and wrk spends about
0.1 ms of CPU per request where an ``httpx`` client spends about 7 ms, which on 2 cores would be
measuring the client. Without wrk, or with ``--client httpx``, asyncio httpx clients are used.

    make wrk
    .venv/bin/python bench/api_load.py --data ../shared/data/edos/edos_train_dev.csv \
        --clients 32 --seconds 30

Side by side with an older version (its checkout, e.g. ``git worktree add ../before HEAD~1``),
alternating which goes first: ``--against ../before --rounds 4``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

KEY = "bench-key"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def posts(data: Path, n: int) -> list[str]:
    with data.open(encoding="utf-8", newline="") as handle:
        return [row["text"] for _, row in zip(range(n), csv.DictReader(handle), strict=False)]


async def client(
    http: httpx.AsyncClient, texts: list[str], offset: int, until: float, out: dict[str, list]
) -> None:
    i = offset
    while time.perf_counter() < until:
        body = {"messages": [{"id": f"q{i}", "text": texts[i % len(texts)]}]}
        started = time.perf_counter()
        try:
            response = await http.post("/v1/classify", json=body)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        out["latency" if ok else "errors"].append(time.perf_counter() - started)
        i += 7


async def drive(base: str, texts: list[str], clients: int, seconds: float) -> dict[str, list]:
    out: dict[str, list] = {"latency": [], "errors": []}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as http:
        await http.post("/v1/classify", json={"messages": [{"id": "w", "text": "warm up"}]})
        until = time.perf_counter() + seconds
        await asyncio.gather(*(client(http, texts, k, until, out) for k in range(clients)))
    return out


def drive_wrk(base: str, texts: list[str], clients: int, seconds: float) -> dict[str, float]:
    """Run wrk with one thread and ``clients`` connections; its Lua script reports JSON."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8") as bodies:
        for i, text in enumerate(texts):
            bodies.write(json.dumps({"messages": [{"id": f"q{i}", "text": text}]}) + "\n")
        bodies.flush()
        command = ["wrk", "-t1", f"-c{clients}", f"-d{seconds:g}s", "--timeout", "30s"]
        command += ["-s", str(Path(__file__).with_name("api_load.lua")), base]
        env = {**os.environ, "FLAGGER_WRK_BODIES": bodies.name, "FLAGGER_WRK_KEY": KEY}
        report = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    found = json.loads(report.stdout.strip().splitlines()[-1])
    return {
        "requests": found["requests"],
        "errors": sum(found["errors"].values()),
        "throughput_msgs_per_s": round(found["requests"] / found["duration_s"], 1),
        **{k: found[k] for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")},
    }


def drive_httpx(base: str, texts: list[str], clients: int, seconds: float) -> dict[str, float]:
    """Asyncio httpx clients; latency percentiles from every successful request."""
    out = asyncio.run(drive(base, texts, clients, seconds))
    latency = np.array(out["latency"]) * 1000
    return {
        "requests": int(latency.size),
        "errors": len(out["errors"]),
        "throughput_msgs_per_s": round(latency.size / seconds, 1),
        **{
            f"p{q}_ms": round(float(np.percentile(latency, q)), 1) if latency.size else None
            for q in (50, 95, 99)
        },
        "max_ms": round(float(latency.max()), 1) if latency.size else None,
    }


def _batching(metrics: str) -> dict[str, float]:
    """Mean messages and time per shared batch and mean queue wait, from the server's metrics."""
    values = {}
    for line in metrics.splitlines():
        name, _, value = line.partition(" ")
        if name in {
            "flagger_batch_messages_sum",
            "flagger_batch_messages_count",
            "flagger_queue_wait_seconds_sum",
            "flagger_queue_wait_seconds_count",
            "flagger_batch_seconds_sum",
            'flagger_request_seconds_sum{route="/v1/classify"}',
            'flagger_request_seconds_count{route="/v1/classify"}',
        }:
            values[name] = float(value)
    batches = values.get("flagger_batch_messages_count", 0) or 1
    waits = values.get("flagger_queue_wait_seconds_count", 0) or 1
    return {
        "mean_batch_messages": round(values.get("flagger_batch_messages_sum", 0) / batches, 1),
        "mean_queue_wait_ms": round(
            1000 * values.get("flagger_queue_wait_seconds_sum", 0) / waits, 1
        ),
        "mean_batch_ms": round(1000 * values.get("flagger_batch_seconds_sum", 0) / batches, 1),
    }


def measure(args: argparse.Namespace, source: Path | None) -> dict[str, object]:
    """Start a server (from ``source``'s ``src`` when given, else this checkout), load it."""
    port = free_port()
    env = {
        **os.environ,
        "FLAGGER_API_KEYS": f"{KEY}=classify",
        "FLAGGER_RATE_LIMIT_PER_MINUTE": "1000000",
    }
    if source is not None:
        env["PYTHONPATH"] = str(source.resolve() / "src")
    scratch = Path(tempfile.mkdtemp(prefix="flagger-bench-"))
    env.update(
        FLAGGER_DATA_DIR=str(scratch),
        FLAGGER_AUDIT_LOG=str(scratch / "audit.jsonl"),
        FLAGGER_STORE_URL=f"sqlite:///{scratch / 'labels.db'}",
    )
    command = [
        sys.executable,
        "-c",
        "from flagger.cli import main; main()",
        "serve",
        "--port",
        str(port),
    ]
    command += ["--model", str(args.model)] if args.model else []
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("the server did not become ready in 120 s")
        texts = posts(args.data, 4000)
        httpx.post(
            f"{base}/v1/classify",
            json={"messages": [{"id": "w", "text": "warm up"}]},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=30,
        )
        driver = drive_wrk if args.client == "wrk" else drive_httpx
        measured = driver(base, texts, args.clients, args.seconds)
        batching = _batching(httpx.get(f"{base}/metrics", timeout=10).text)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        "server": str(source) if source is not None else "this checkout",
        "client": args.client,
        "clients": args.clients,
        "seconds": args.seconds,
        **measured,
        **batching,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="CSV with a text column")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument(
        "--client",
        choices=["wrk", "httpx"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator (default: wrk when installed)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        default=None,
        help="another checkout (e.g. a git worktree of an older commit): its server is loaded "
        "in turn with this one's, rounds alternating, and the throughput ratio printed",
    )
    parser.add_argument("--rounds", type=int, default=1, help="runs of each server")
    args = parser.parse_args()

    runs: dict[str, list[dict[str, object]]] = {"this": [], "against": []}
    for round_ in range(args.rounds):
        order = [("this", None), ("against", args.against)]
        if round_ % 2:
            order.reverse()
        for name, source in order:
            if name == "against" and source is None:
                continue
            result = measure(args, source)
            runs[name].append(result)
            print(json.dumps(result), flush=True)
    if args.against is not None:
        mine = [float(r["throughput_msgs_per_s"]) for r in runs["this"]]  # type: ignore[arg-type]
        theirs = [float(r["throughput_msgs_per_s"]) for r in runs["against"]]  # type: ignore[arg-type]
        p99 = [float(r["p99_ms"]) for r in runs["this"]]  # type: ignore[arg-type]
        p99_theirs = [float(r["p99_ms"]) for r in runs["against"]]  # type: ignore[arg-type]
        print(
            json.dumps(
                {
                    "throughput_ratio_this_over_against": round(sum(mine) / sum(theirs), 3),
                    "p99_ratio_this_over_against": round(sum(p99) / sum(p99_theirs), 3),
                    "rounds": args.rounds,
                }
            )
        )


if __name__ == "__main__":
    main()
