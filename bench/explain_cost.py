"""What an explanation costs: time per flagged message to find its evidence, against scoring it.

Each flagged message is timed alone, as the live API sees it: scoring it (one forward pass, no
explanation), then finding its evidence with the shipped search (targets set aside, phrases
widened), then with the search as it was before targets existed, side by side in one run. The
median of the per-message ratio is the figure the evidence issue bounds (<= 20x); p90 beside it.
The batched figures show the same work on a whole batch, as a scan does it.

    .venv/bin/python bench/explain_cost.py --data ../shared/data/edos/edos_train_dev.csv --split dev
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from flagger import Flagger
from flagger.data import load_examples, select_split
from flagger.explain import find_spans


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="CSV/JSONL/Parquet of messages")
    parser.add_argument("--split", default=None, help="only rows of this split (e.g. dev)")
    parser.add_argument("--model", type=Path, default=None, help="model directory")
    parser.add_argument("--limit", type=int, default=200, help="flagged messages to time")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()

    flagger = Flagger.load(args.model, num_threads=args.threads)
    texts = [e.text for e in select_split(load_examples(args.data), args.split)]
    probs = flagger.probabilities(texts)
    threshold = flagger.resolve_threshold(None).value
    flagged = [t for t, s in zip(texts, probs.sexist, strict=True) if s >= threshold]
    flagged = flagged[: args.limit]
    flagger.score(flagged[:8])  # warm-up: allocator, thread pool

    passes: list[int] = []

    def counting(batch: Sequence[str]) -> np.ndarray:
        passes[-1] += len(batch)
        return flagger.sexist_scores(batch)

    before = flagger.span_search.before_targets()
    score_s, explain_s, ratios, before_ratios = [], [], [], []
    for text in flagged:
        started = time.perf_counter()
        one = flagger.probabilities([text])
        scored = time.perf_counter()
        passes.append(0)
        find_spans(
            counting,
            [text],
            one.sexist.tolist(),
            threshold,
            focus=one.focus,
            search=flagger.span_search,
        )
        done = time.perf_counter()
        find_spans(
            flagger.sexist_scores,
            [text],
            one.sexist.tolist(),
            threshold,
            focus=one.focus,
            search=before,
        )
        old_done = time.perf_counter()
        score_s.append(scored - started)
        explain_s.append(done - scored)
        ratios.append((done - scored) / (scored - started))
        before_ratios.append((old_done - done) / (scored - started))

    started = time.perf_counter()
    flagger.score(flagged, explain=False)
    batch_score = time.perf_counter() - started
    started = time.perf_counter()
    flagger.score(flagged, explain=True)
    batch_explained = time.perf_counter() - started

    report = {
        "model": flagger.version,
        "threads": flagger.num_threads,
        "flagged_messages_timed": len(flagged),
        "median_score_ms": 1000 * statistics.median(score_s),
        "median_explain_ms": 1000 * statistics.median(explain_s),
        "p90_explain_ms": 1000 * _percentile(explain_s, 90),
        "median_ratio": statistics.median(ratios),
        "p90_ratio": _percentile(ratios, 90),
        "before_targets_median_ratio": statistics.median(before_ratios),
        "before_targets_p90_ratio": _percentile(before_ratios, 90),
        "median_texts_scored_per_explanation": statistics.median(passes),
        "batch_score_ms_per_message": 1000 * batch_score / len(flagged),
        "batch_score_and_explain_ms_per_message": 1000 * batch_explained / len(flagged),
        "batch_ratio": (batch_explained - batch_score) / batch_score,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{flagger.version}, {flagger.num_threads} threads, {len(flagged)} flagged messages")
    print(
        f"  one message:  score {report['median_score_ms']:.1f} ms (median), explain "
        f"{report['median_explain_ms']:.1f} ms (median, p90 {report['p90_explain_ms']:.1f})"
    )
    print(
        f"  explain / score per message: median {report['median_ratio']:.1f}x, "
        f"p90 {report['p90_ratio']:.1f}x; "
        f"{report['median_texts_scored_per_explanation']:.0f} texts scored (median)"
    )
    print(
        f"  the search before targets, same messages: median "
        f"{report['before_targets_median_ratio']:.1f}x, "
        f"p90 {report['before_targets_p90_ratio']:.1f}x"
    )
    print(
        f"  batched: score {report['batch_score_ms_per_message']:.1f} ms/message, score + "
        f"explain {report['batch_score_and_explain_ms_per_message']:.1f} ms/message "
        f"(explain = {report['batch_ratio']:.1f}x score)"
    )


if __name__ == "__main__":
    main()
