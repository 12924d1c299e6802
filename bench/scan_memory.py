"""Peak memory of a scan against archive size: streaming should keep it flat.

Writes synthetic chat archives (JSONL, short chat messages with some long ones that need
several model windows, 2,000 authors over 24 months, a few unreadable lines), then runs
``flagger scan`` on each as its own process and reads that process's peak resident set size
from the kernel (``wait4``). The figure the batch-scanning issue bounds is the ratio of the
largest scan's peak to the smallest's (<= 1.5).

    .venv/bin/python bench/scan_memory.py --sizes 10000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [sys.executable, "-c", "from flagger.cli import main; main()"]
WORDS = (
    "the shift rota briefing report custody team sergeant meeting tomorrow room overtime "
    "women she her girls lads cover swap thanks please update case file van patrol station "
    "stupid useless kitchen emotional bossy calm typical nice good job late early again"
).split()


def write_archive(path: Path, count: int, seed: int = 0) -> None:
    """``count`` JSONL messages; every 1,000th is long (300 words), every 5,000th is broken."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(count):
            if i % 5000 == 4999:
                handle.write("{not json\n")
                continue
            length = 300 if i % 1000 == 0 else rng.randint(3, 10)
            record = {
                "id": f"m{i}",
                "author": f"officer{rng.randrange(2000)}@force.example",
                "sent_at": f"20{24 + (i * 24 // count) // 12}-{(i * 24 // count) % 12 + 1:02d}-01",
                "text": " ".join(rng.choice(WORDS) for _ in range(length)),
            }
            handle.write(json.dumps(record) + "\n")


def peak_rss_mb(command: list[str]) -> tuple[float, float]:
    """Run a command; return its peak RSS (MB) and wall time (s)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):  # 1: some records were unreadable, as planted
        raise SystemExit(f"scan failed with exit code {process.returncode}: {command}")
    return usage.ru_maxrss / 1024, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--model", type=Path, default=None, help="model directory")
    parser.add_argument("--workdir", type=Path, default=None, help="keep archives here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        work = args.workdir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        results = []
        for size in sorted(args.sizes):
            archive = work / f"chat-{size}.jsonl"
            if not archive.exists():
                write_archive(archive, size)
            command = [*CLI, "scan", str(archive), "-o", str(work / f"out-{size}.jsonl")]
            command += ["--author-field", "author", "--time-field", "sent_at", "--no-explain"]
            command += ["--overwrite"] + (["--model", str(args.model)] if args.model else [])
            rss, seconds = peak_rss_mb(command)
            results.append(
                {"messages": size, "peak_rss_mb": round(rss, 1), "seconds": round(seconds, 1)}
            )
            print(json.dumps(results[-1]), flush=True)
    ratio = results[-1]["peak_rss_mb"] / results[0]["peak_rss_mb"]
    print(json.dumps({"peak_rss_ratio_largest_to_smallest": round(ratio, 3)}))


if __name__ == "__main__":
    main()
