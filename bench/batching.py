"""How much padding a batch should tolerate: model-only speed by batch size and tolerance.

Tokenises EDOS posts once, then runs only the network (the model's own backend, int8 ONNX by
default, with its passes spread over the cores as ``Flagger`` does) over them in chunks of
``--chunks`` messages (16 is what the review API gathers under load, 2048 what a scan reads at
once). Each chunk is split by ``plan_passes`` with each ``--tolerances`` value ("none" = only the
batch-size and token limits). Best of ``--repeats`` runs, messages per second.

    .venv/bin/python bench/batching.py --data ../shared/data/edos/edos_train_dev.csv
    .venv/bin/python bench/batching.py --data ../shared/data/edos/edos_train_dev.csv \
        --threads-per-pass 2   # one pass at a time on both cores, for comparison
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from flagger import Flagger
from flagger.backends import OnnxBackend
from flagger.passes import PassRunner, plan_passes

NO_LIMIT = sys.maxsize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="CSV with a text column")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--chunks", type=int, nargs="+", default=[16, 2048])
    parser.add_argument("--tolerances", nargs="+", default=["none", "0", "8", "16", "32", "64"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None, help="model directory (shipped)")
    parser.add_argument(
        "--threads-per-pass",
        type=int,
        default=1,
        help="ONNX Runtime threads per forward pass: 1 runs passes side by side (as flagger "
        "does), 2 runs one pass at a time on both cores",
    )
    args = parser.parse_args()

    flagger = Flagger.load(args.model)
    if args.threads_per_pass != 1:
        if flagger.info.onnx is None or flagger.path is None:
            raise SystemExit("--threads-per-pass needs a model with an ONNX export")
        backend = OnnxBackend(
            flagger.path / flagger.info.onnx.file, flagger.num_threads, args.threads_per_pass
        )
        flagger.run_passes = PassRunner(
            backend, flagger.pad_id, batch_size=flagger.batch_size, max_tokens=flagger.max_tokens
        )
    with args.data.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        texts = [row["text"] for _, row in zip(range(args.messages), rows, strict=False)]
    window = flagger.info.max_length
    ids = [e.ids[:window] for e in flagger.tokenizer.encode_batch(texts)]

    def run(chunk: int, tolerance: int) -> tuple[float, int]:
        calls, started = 0, time.perf_counter()
        runner = flagger.run_passes
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            lengths = [len(p) for p in part]
            plan = plan_passes(
                lengths, runner.batch_size, runner.max_tokens, runner.workers, tolerance
            )
            calls += len(plan)
            runner(part, padding_tolerance=tolerance)
        return len(ids) / (time.perf_counter() - started), calls

    run(64, 16)  # warm up
    for chunk in args.chunks:
        for name in args.tolerances:
            tolerance = NO_LIMIT if name == "none" else int(name)
            rates = []
            for _ in range(args.repeats):
                rate, calls = run(chunk, tolerance)
                rates.append(rate)
            print(
                json.dumps(
                    {
                        "threads_per_pass": args.threads_per_pass,
                        "chunk": chunk,
                        "tolerance": name,
                        "forward_passes": calls,
                        "msgs_per_s": round(max(rates), 1),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
