"""Load on the review API: N concurrent clients sending single messages for a fixed time.

Starts ``flagger serve`` on loopback (its own process, the shipped model unless ``--model``),
waits until it is ready, then runs ``--clients`` asyncio clients that each send one EDOS post per
``POST /v1/classify`` request, back to back, for ``--seconds``. Prints latency percentiles,
throughput and errors (any non-200 answer or failed connection).

    .venv/bin/python bench/api_load.py --data ../shared/data/edos/edos_train_dev.csv \
        --clients 32 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import socket
import subprocess
import sys
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


def _batching(metrics: str) -> dict[str, float]:
    """Mean messages per forward pass and mean queue wait, from the server's own metrics."""
    values = {}
    for line in metrics.splitlines():
        name, _, value = line.partition(" ")
        if name in {
            "flagger_batch_messages_sum",
            "flagger_batch_messages_count",
            "flagger_queue_wait_seconds_sum",
            "flagger_queue_wait_seconds_count",
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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="CSV with a text column")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()

    port = free_port()
    env = {
        **os.environ,
        "FLAGGER_API_KEYS": f"{KEY}=classify",
        "FLAGGER_RATE_LIMIT_PER_MINUTE": "1000000",
    }
    scratch = Path(os.environ.get("TMPDIR", "/tmp"))
    env.update(
        FLAGGER_AUDIT_LOG=str(scratch / f"flagger-bench-audit-{port}.jsonl"),
        FLAGGER_STORE_URL=f"sqlite:///{scratch / f'flagger-bench-{port}.db'}",
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
        out = asyncio.run(drive(base, posts(args.data, 4000), args.clients, args.seconds))
        batching = _batching(httpx.get(f"{base}/metrics", timeout=10).text)
    finally:
        server.terminate()
        server.wait(timeout=30)
    latency = np.array(out["latency"]) * 1000
    result = {
        "clients": args.clients,
        "seconds": args.seconds,
        "requests": int(latency.size),
        "errors": len(out["errors"]),
        "throughput_msgs_per_s": round(latency.size / args.seconds, 1),
        "p50_ms": round(float(np.percentile(latency, 50)), 1),
        "p95_ms": round(float(np.percentile(latency, 95)), 1),
        "p99_ms": round(float(np.percentile(latency, 99)), 1),
        **batching,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
