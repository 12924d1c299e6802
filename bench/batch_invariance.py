"""Does a message's score depend on what else is in its batch? Scores and speed, both ways.

The int8 ONNX network quantises its activations dynamically, with one scale per input tensor, so
in a padded batch each sequence's score moves with its neighbours'. Two ways of running the same
network are compared side by side in one run:

- ``batched``: each pass's padded batch as one tensor (flagger up to 1.3.1's code);
- ``one per run``: each sequence on its own, unpadded (``OnnxBackend.one_sequence_per_run``).

For each: EDOS dev posts scored in one scan-sized call (2,048 messages) and each scored alone;
the largest and mean difference in probability, the verdicts that change at each operating
point, Task A macro-F1 at ``default``; then messages per second (best of ``--repeats``, the two
ways alternating) on the posts in chunks of 16 (an API batch under load) and 2,048 (a scan), and
on the authored long messages of ``training/long_messages/``.

    .venv/bin/python bench/batch_invariance.py --data ../shared/data/edos/edos_train_dev.csv \\
        --json bench/results/batch_invariance.json
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from flagger import Flagger
from flagger.backends import OnnxBackend
from flagger.metrics import task_a_f1
from flagger.passes import PassRunner

HERE = Path(__file__).resolve().parent
AUTHORED = HERE.parent / "training" / "long_messages"
WAYS = {"batched": False, "one per run": True}
SCAN_CHUNK = 2048


def _flagger(path: Path | None, one_sequence_per_run: bool) -> Flagger:
    flagger = Flagger.load(path, backend="onnx")
    assert flagger.path is not None and flagger.info.onnx is not None
    backend = OnnxBackend(
        flagger.path / flagger.info.onnx.file,
        flagger.num_threads,
        one_sequence_per_run=one_sequence_per_run,
    )
    flagger.run_passes = PassRunner(
        backend, flagger.pad_id, batch_size=flagger.batch_size, max_tokens=flagger.max_tokens
    )
    return flagger


def _in_chunks(flagger: Flagger, texts: Sequence[str], chunk: int) -> np.ndarray:
    return np.concatenate(
        [flagger.sexist_scores(texts[i : i + chunk]) for i in range(0, len(texts), chunk)]
    )


def _invariance(flagger: Flagger, texts: list[str], labels: np.ndarray) -> dict[str, object]:
    together = _in_chunks(flagger, texts, SCAN_CHUNK)
    alone = np.concatenate([flagger.sexist_scores([t]) for t in texts])
    gap = np.abs(together - alone)
    changed = {}
    for name in ("review", "default", "alert"):
        t = flagger.resolve_threshold(name).value
        changed[name] = int(((together >= t) != (alone >= t)).sum())
    t = flagger.resolve_threshold("default").value
    return {
        "max_probability_difference": round(float(gap.max()), 4),
        "mean_probability_difference": round(float(gap.mean()), 5),
        "verdicts_changed": changed,
        "task_a_macro_f1_in_scan": round(task_a_f1(labels, together >= t), 4),
        "task_a_macro_f1_alone": round(task_a_f1(labels, alone >= t), 4),
    }


def _speeds(
    flagger: dict[str, Flagger], sets: dict[str, tuple[list[str], int]], repeats: int
) -> dict[str, dict[str, float]]:
    best: dict[str, dict[str, float]] = {way: {} for way in flagger}
    for _ in range(repeats):
        for name, (texts, chunk) in sets.items():
            for way, model in flagger.items():
                start = time.perf_counter()
                _in_chunks(model, texts, chunk)
                rate = len(texts) / (time.perf_counter() - start)
                best[way][name] = round(max(best[way].get(name, 0.0), rate), 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="EDOS CSV (the dev split)")
    parser.add_argument("--model", type=Path, default=None, help="model directory (shipped)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with args.data.open(encoding="utf-8", newline="") as handle:
        dev = [r for r in csv.DictReader(handle) if r.get("split") == "dev"]
    texts = [r["text"] for r in dev]
    labels = np.array([r["label_sexist"] == "sexist" for r in dev])
    long_texts: list[str] = []
    for file in sorted(AUTHORED.glob("*.csv")):
        with file.open(encoding="utf-8", newline="") as handle:
            long_texts += [r["text"] for r in csv.DictReader(handle)]

    flaggers = {way: _flagger(args.model, value) for way, value in WAYS.items()}
    for model in flaggers.values():
        model.sexist_scores(texts[:64])  # warm up
    report: dict[str, object] = {
        "model": next(iter(flaggers.values())).version,
        "posts": len(texts),
        "invariance": {way: _invariance(m, texts, labels) for way, m in flaggers.items()},
    }
    sets = {
        "posts, chunks of 16": (texts, 16),
        f"posts, chunks of {SCAN_CHUNK}": (texts, SCAN_CHUNK),
        f"{len(long_texts)} long messages, one chunk": (long_texts, SCAN_CHUNK),
    }
    report["messages_per_second"] = _speeds(flaggers, sets, args.repeats)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
