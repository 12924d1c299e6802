"""How much an organisation's own labels buy: the learning curve of fast adaptation.

The organisation's labelled file (``id,text,label_sexist``) is split by the fixed hash of the id
(``flagger.generalisation.org_half``) into a pool half, where labels come from, and a test half,
where figures come from. For each size, picker and seed, that many labels are taken from the
pool, stored in a fresh label store and the shipped model is adapted through the same code path
as ``flagger retrain --fast``; the adapted model is measured on the test half.

Pickers: ``random`` (uniform), or ``queue`` (the order the review queue would show the pool to
reviewers, from the serving model's scores computed once). Both get the same number of extra
uniformly random *audit* picks (``--audit-share`` of all picks), marked as such in the store:
the candidate is calibrated on them when there are at least 10 of each class (and they are then
not trained on).

    .venv/bin/python bench/org_adaptation.py --org ../shared/data/workplace/workplace_visible.csv \\
        --sizes 50 100 200 --pickers random queue --seeds 3 --json --plot curve.png

With ``--json`` one object is printed: ``{"org", "pool_size", "test_size", "baseline":
{"macro_f1", "recall", "fpr", "ece", "edos_dev_task_a"}, "runs": [{"picker", "labels", "seed",
"trained_on", "macro_f1", "recall", "fpr", "ece", "edos_dev_task_a", "seconds", ...}]}``.
``edos_dev_task_a`` is Task A at the best threshold on EDOS dev (threshold-free), the guard
against forgetting; ``seconds`` is the whole adaptation (training, calibration, export, frozen-set
evaluation). ``--summarise REPORT.json`` prints a saved report as the README's table.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flagger.data import Example, load_examples, select_split
from flagger.generalisation import POOL, TEST, org_half
from flagger.metrics import best_f1_threshold, expected_calibration_error, task_a_f1
from flagger.model import Flagger
from flagger.registry import Registry
from flagger.review_queue import pick_for_review
from flagger.store import AUDIT, QUEUE, Feedback, LabelStore
from flagger.training.retrain import retrain

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "flagger-edos"
CORPUS = ROOT / "training" / "corpus"


def halves(path: Path) -> tuple[list[Example], list[Example]]:
    """The pool and test halves of a labelled file."""
    rows = [e for e in load_examples(path) if e.sexist is not None]
    pool = [e for e in rows if org_half(e.id) == POOL]
    test = [e for e in rows if org_half(e.id) == TEST]
    if not pool or not test:
        raise SystemExit(
            f"{path}: both halves need labelled rows (pool {len(pool)}, test {len(test)})"
        )
    return pool, test


def ece_floor(scores: np.ndarray, draws: int = 200, seed: int = 0) -> float:
    """The ECE a perfectly calibrated model with these scores would show on this many messages.

    Labels are drawn as Bernoulli(score), so the scores are exactly right on average; what ECE
    still measures is binning noise. It says how far a measured ECE can fall on a test set this
    small.
    """
    rng = np.random.default_rng(seed)
    return float(
        np.mean(
            [
                expected_calibration_error(scores, (rng.random(scores.size) < scores).astype(int))
                for _ in range(draws)
            ]
        )
    )


def test_figures(model: Flagger, test: Sequence[Example]) -> dict[str, float]:
    """Macro-F1, recall and false-positive rate at the default point, ECE (and the ECE a
    perfectly calibrated model would show on as many messages), and macro-F1 at the best
    threshold (how well the scores rank, whatever the operating point), on ``test``."""
    scores = model.sexist_scores([e.text for e in test])
    gold = np.array([e.sexist for e in test], dtype=int)
    flagged = (scores >= model.info.threshold).astype(int)
    return {
        "macro_f1": round(task_a_f1(gold, flagged), 4),
        "recall": round(float(flagged[gold == 1].mean()), 4),
        "fpr": round(float(flagged[gold == 0].mean()), 4),
        "ece": round(expected_calibration_error(scores, gold), 4),
        "ece_floor": round(ece_floor(scores), 4),
        "macro_f1_best_threshold": round(best_f1_threshold(scores, gold)[1], 4),
    }


def edos_dev_task_a(model: Flagger, dev: Sequence[Example]) -> float:
    """Task A macro-F1 at the best threshold on EDOS dev."""
    scores = model.sexist_scores([e.text for e in dev])
    return round(best_f1_threshold(scores, np.array([e.sexist for e in dev], dtype=int))[1], 4)


def audit_count(labels: int, share: float) -> int:
    """Audit picks added to ``labels`` picked ones so that they are ``share`` of all picks."""
    return round(labels * share / (1 - share)) if share < 1 else 0


def pick(
    picker: str,
    pool: Sequence[Example],
    queue_rows: list[dict[str, Any]],
    labels: int,
    audit: int,
    seed: int,
) -> list[tuple[Example, str | None]]:
    """``labels`` picks of ``picker`` plus ``audit`` uniformly random audit picks."""
    by_id = {e.id: e for e in pool}
    if picker == "random":
        chosen = random.Random(seed).sample(list(pool), min(labels + audit, len(pool)))
        return [(e, AUDIT if i < audit else None) for i, e in enumerate(chosen)]
    total = min(labels + audit, len(pool))
    rows = pick_for_review(queue_rows, set(), total, audit_share=audit / total, seed=seed)
    return [(by_id[row["id"]], AUDIT if row["picked"] == AUDIT else QUEUE) for row in rows]


def adapt_and_measure(
    picks: list[tuple[Example, str | None]],
    base_data: Path,
    replay: Sequence[Path],
    seed: int,
    test: Sequence[Example],
    dev: Sequence[Example],
    org_weight: int | None = None,
    model: Path = SHIPPED,
) -> dict[str, Any]:
    """Store the picks, adapt the shipped model as ``flagger retrain --fast`` does, measure."""
    with tempfile.TemporaryDirectory(prefix="flagger-org-") as scratch:
        store = LabelStore(f"sqlite:///{Path(scratch) / 'labels.db'}")
        for example, picked in picks:
            store.add(
                Feedback(
                    message_id=example.id,
                    text=example.text,
                    label="sexist" if example.sexist else "not sexist",
                    reviewer="bench",
                    source="bench",
                    picked=picked,
                )
            )
        result = retrain(
            Path(scratch) / "registry",
            base_data,
            store,
            fast=True,
            init_model=model,
            replay=replay,
            seed=seed,
            org_weight=org_weight,
            progress=False,
        )
        adapted = Flagger.load(Registry(Path(scratch) / "registry").path(result.version.id))
        figures = test_figures(adapted, test)
        return {
            "trained_on": result.trained_on,
            **figures,
            "edos_dev_task_a": edos_dev_task_a(adapted, dev),
            "seconds": result.seconds,
            "audit_labels": sum(p == AUDIT for _, p in picks),
            "calibrated_on": result.calibrated_on["source"],
            "backend": adapted.backend.name,
        }


def plot(report: dict[str, Any], path: Path) -> None:
    """Macro-F1 against labels per picker: mean over seeds, with the min-max spread."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for picker in sorted({r["picker"] for r in report["runs"]}):
        sizes = sorted({r["labels"] for r in report["runs"] if r["picker"] == picker})
        values = [
            [r["macro_f1"] for r in report["runs"] if r["picker"] == picker and r["labels"] == n]
            for n in sizes
        ]
        means = [statistics.mean(v) for v in values]
        axes.plot(sizes, means, marker="o", label=picker)
        axes.fill_between(sizes, [min(v) for v in values], [max(v) for v in values], alpha=0.2)
    axes.axhline(report["baseline"]["macro_f1"], color="grey", linestyle="--", label="shipped")
    axes.set_xlabel("labels from the organisation (plus audit picks)")
    axes.set_ylabel("macro-F1 on the test half")
    axes.set_title(f"Adapting to {Path(report['org']).name}")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def summary(report: dict[str, Any]) -> str:
    """A markdown table of a report: per size and picker, the mean and range over seeds."""
    base = report["baseline"]
    lines = [
        "| labels (+ audit) | picker | macro-F1 | recall | FPR | ECE | ECE floor | "
        "EDOS dev Task A | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| 0 | shipped model | {base['macro_f1']:.3f} | {base['recall']:.3f} | "
        f"{base['fpr']:.3f} | {base['ece']:.3f} | {base.get('ece_floor', float('nan')):.3f} | "
        f"{base['edos_dev_task_a']:.3f} | |",
    ]
    sizes = sorted({r["labels"] for r in report["runs"]})
    pickers = sorted({r["picker"] for r in report["runs"]})
    for labels in sizes:
        for picker in pickers:
            runs = [r for r in report["runs"] if r["labels"] == labels and r["picker"] == picker]
            if not runs:
                continue

            def cell(key: str, runs: list[dict[str, Any]] = runs) -> str:
                values = [float(r.get(key, "nan")) for r in runs]
                spread = f" ({min(values):.3f}-{max(values):.3f})" if len(values) > 1 else ""
                return f"{statistics.mean(values):.3f}{spread}"

            audit = runs[0].get("audit_labels", 0)
            seconds = [float(r["seconds"]) for r in runs]
            lines.append(
                f"| {labels} (+{audit}) | {picker} | {cell('macro_f1')} | {cell('recall')} | "
                f"{cell('fpr')} | {cell('ece')} | {cell('ece_floor')} | "
                f"{cell('edos_dev_task_a')} | "
                f"{statistics.mean(seconds):.0f} (max {max(seconds):.0f}) |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--org", type=Path, help="id,text,label_sexist file")
    parser.add_argument(
        "--summarise", type=Path, help="print a saved --json report as a markdown table, and stop"
    )
    parser.add_argument(
        "--base-data",
        type=Path,
        default=ROOT.parent / "shared" / "data" / "edos" / "edos_train_dev.csv",
        help="the base training data (EDOS train+dev)",
    )
    parser.add_argument("--model", type=Path, default=SHIPPED, help="the serving model")
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument(
        "--pickers", nargs="+", choices=["random", "queue"], default=["random", "queue"]
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--audit-share", type=float, default=0.2)
    parser.add_argument(
        "--replay", type=Path, nargs="*", default=[CORPUS], help="replayed besides the base data"
    )
    parser.add_argument(
        "--org-weight",
        type=int,
        default=None,
        help="times each org label is repeated (default: retrain --fast's)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--plot", type=Path, default=None, help="PNG of the curve")
    args = parser.parse_args(argv)
    if args.summarise:
        try:
            saved = json.loads(args.summarise.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            parser.error(f"{args.summarise}: not a readable --json report ({exc})")
        print(summary(saved))
        return
    if args.org is None:
        parser.error("--org is required (or --summarise REPORT)")

    pool, test = halves(args.org)
    dev = [e for e in select_split(load_examples(args.base_data), "dev") if e.sexist is not None]
    shipped = Flagger.load(args.model)
    queue_rows = [  # what a scan of the pool with the serving model would have written
        {
            "id": e.id,
            "text": e.text,
            "score": r.score,
            "threshold": {"value": r.threshold.value},
            "category": r.category,
        }
        for e, r in zip(pool, shipped.score([e.text for e in pool]), strict=True)
    ]
    report: dict[str, Any] = {
        "org": str(args.org),
        "pool_size": len(pool),
        "test_size": len(test),
        "audit_share": args.audit_share,
        "baseline": {
            **test_figures(shipped, test),
            "edos_dev_task_a": edos_dev_task_a(shipped, dev),
        },
        "runs": [],
    }
    if not args.json:
        print(json.dumps({k: v for k, v in report.items() if k != "runs"}), flush=True)
    for labels in args.sizes:
        for picker in args.pickers:
            for seed in range(args.seeds):
                started = time.monotonic()
                picks = pick(
                    picker, pool, queue_rows, labels, audit_count(labels, args.audit_share), seed
                )
                run = {
                    "picker": picker,
                    "labels": labels,
                    "seed": seed,
                    **adapt_and_measure(
                        picks,
                        args.base_data,
                        args.replay,
                        13 + seed,
                        test,
                        dev,
                        args.org_weight,
                        args.model,
                    ),
                }
                run["wall_seconds"] = round(time.monotonic() - started, 1)
                report["runs"].append(run)
                if not args.json:
                    print(json.dumps(run), flush=True)
                else:
                    print(json.dumps(run), file=sys.stderr, flush=True)
    if args.plot:
        plot(report, args.plot)
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
