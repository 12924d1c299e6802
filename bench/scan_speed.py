"""Whole-process speed: ``flagger scan --no-explain`` against ``transformers.pipeline``, one run.

Both score the same posts with the same model: the pipeline runs the PyTorch network as a stock
text-classification model (batch 32, see ``pipeline_baseline.py``), the scan runs the model's
default backend (ONNX Runtime int8 when the model carries a measured export) with length-bucketed,
token-budgeted batches. Each is timed as a whole process, start-up and model loading included,
the two alternating ``--repeats`` times; the best time of each is compared.

    .venv/bin/python bench/scan_speed.py --data ../shared/data/edos/edos_train_dev.csv --n 8000

``--compare OTHER_MODEL`` also times the scan with another model directory, alternating with the
first, and prints the ratio (e.g. a new model against the one it replaces); ``--no-pipeline``
skips the pipeline.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

HERE = Path(__file__).resolve().parent
CLI = [sys.executable, "-c", "from flagger.cli import main; main()"]


def write_posts(data: Path, n: int, out: Path) -> int:
    """The first ``n`` posts of a CSV as ``{"id", "text"}`` JSON lines."""
    with data.open(encoding="utf-8", newline="") as handle, out.open("w") as sink:
        count = 0
        for count, row in enumerate(csv.DictReader(handle), start=1):
            sink.write(json.dumps({"id": row.get("rewire_id") or str(count), "text": row["text"]}))
            sink.write("\n")
            if count == n:
                break
    return count


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def scores(path: Path) -> dict[str, float]:
    with path.open() as handle:
        return {(row := json.loads(line))["id"]: row["score"] for line in handle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="CSV with a text column")
    parser.add_argument("--n", type=int, default=8000, help="posts to score")
    parser.add_argument("--model", type=Path, default=None, help="model directory")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of each")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--compare", type=Path, help="another model to scan with, alternating")
    parser.add_argument("--no-pipeline", action="store_true", help="skip transformers.pipeline")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        posts = work / "posts.jsonl"
        n = write_posts(args.data, args.n, posts)
        model = ["--model", str(args.model)] if args.model else []

        def scan_command(output: Path, model_args: list[str]) -> list[str]:
            flags = ["--no-explain", "--overwrite", *model_args]
            return [*CLI, "scan", str(posts), "-o", str(output), *flags]

        scan = scan_command(work / "scan.jsonl", model)
        other = scan_command(work / "other.jsonl", ["--model", str(args.compare)])
        baseline = [sys.executable, str(HERE / "pipeline_baseline.py"), str(posts)]
        baseline += [str(work / "pipeline.jsonl"), "--batch-size", "32", *model]
        scan_times, pipeline_times, other_times = [], [], []
        for _ in range(args.repeats):
            scan_times.append(timed(scan))
            if args.compare:
                other_times.append(timed(other))
            if not args.no_pipeline:
                pipeline_times.append(timed(baseline))
        rho = float("nan")
        if not args.no_pipeline:
            ours, theirs = scores(work / "scan.jsonl"), scores(work / "pipeline.jsonl")
            ids = sorted(ours)
            rho = spearmanr([ours[i] for i in ids], [theirs[i] for i in ids]).statistic
    best_scan = min(scan_times)
    result: dict[str, object] = {
        "posts": n,
        "scan_seconds": round(best_scan, 2),
        "scan_msgs_per_s": round(n / best_scan, 1),
        "runs": {"scan": np.round(scan_times, 2).tolist()},
    }
    if pipeline_times:
        best_pipeline = min(pipeline_times)
        result.update(
            pipeline_seconds=round(best_pipeline, 2),
            pipeline_msgs_per_s=round(n / best_pipeline, 1),
            speedup=round(best_pipeline / best_scan, 2),
            score_rank_correlation=round(float(rho), 4),
        )
        result["runs"]["pipeline"] = np.round(pipeline_times, 2).tolist()  # type: ignore[index]
    if other_times:
        best_other = min(other_times)
        result.update(
            compare_model=str(args.compare),
            compare_seconds=round(best_other, 2),
            compare_msgs_per_s=round(n / best_other, 1),
            scan_time_ratio=round(best_scan / best_other, 3),
        )
        result["runs"]["compare"] = np.round(other_times, 2).tolist()  # type: ignore[index]
    if args.json:
        print(json.dumps(result))
        return
    print(f"{n} posts, whole processes (best of {args.repeats}):")
    print(f"  flagger scan --no-explain  {best_scan:7.1f} s  {n / best_scan:7.1f} msg/s")
    if pipeline_times:
        print(
            f"  transformers.pipeline (32) {best_pipeline:7.1f} s  {n / best_pipeline:7.1f} msg/s"
        )
        rho = result["score_rank_correlation"]
        print(f"  speed-up {result['speedup']}x; score rank correlation {rho}")
    if other_times:
        print(f"  scan with {args.compare}  {best_other:7.1f} s  {n / best_other:7.1f} msg/s")
        print(f"  time ratio (model / compared model): {result['scan_time_ratio']}")


if __name__ == "__main__":
    main()
