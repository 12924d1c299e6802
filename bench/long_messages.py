"""Long messages: false flags on benign ones, recall on ones with one sexist post, by length.

``before`` is 1.3.0's decision (overlapping token windows, the most severe one calibrated as if it
were a post); ``after`` is the length-aware one (paragraphs and sentences packed into parts, the
most severe part's logit lowered by the fitted length penalty; ``flagger.length``).

Three sets, each split in halves (EDOS dev by a hash of the post id, the authored long messages
of ``training/long_messages/`` by a hash of theirs); the length rule's penalty is fitted on one
half and reported on the other, then the other way round (cross-fitted, never in-sample):

- **benign**: the authored long messages (minutes, status reports, rotas, technical threads,
  handovers, policy and newsletters; 150-1,500 words);
- **mixed**: the same with one sexist EDOS dev post inserted between two paragraphs at random;
  recall is set against the recall on the same posts alone (the single-post recall);
- **k-part**: k not-sexist EDOS dev posts joined by blank lines, k = 1, 2, 4, 8, 16 (hard: EDOS
  negatives are often about women and often rude).

The penalty is chosen on the fitting half as the one with the fewest benign flags at ``default``
among those that keep mixed recall at least ``--keep`` (0.9) of single-post recall. Each message
is scored once; penalties are applied to the stored logits, so every figure comes from one run.

    .venv/bin/python bench/long_messages.py --data ../shared/data/edos/edos_train_dev.csv
    .venv/bin/python bench/long_messages.py --data ... --record   # fit on all, store in the model
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flagger import Flagger
from flagger.length import LengthRule
from flagger.model_dir import rewrite_info
from flagger.training.card import render_card

HERE = Path(__file__).resolve().parent
AUTHORED = HERE.parent / "training" / "long_messages"
PENALTIES = tuple(round(float(p), 2) for p in np.arange(0.0, 2.01, 0.05))
REFERENCE_TOKENS = 96
KS = (1, 2, 4, 8, 16)
BUCKETS = ((0, 300), (300, 600), (600, 1000), (1000, 10_000))  # words


def _half(key: str) -> int:
    return int(hashlib.sha256(f"long:{key}".encode()).hexdigest(), 16) % 2


@dataclass
class Scored:
    """Raw most-severe-part logits and token counts of one set of messages."""

    logits: np.ndarray
    tokens: np.ndarray
    words: np.ndarray

    def scores(self, flagger: Flagger, penalty: float) -> np.ndarray:
        rule = LengthRule(penalty=penalty, reference_tokens=REFERENCE_TOKENS)
        return flagger.info.calibration.probability(rule.adjust(self.logits, self.tokens))


def _score(flagger: Flagger, texts: Sequence[str]) -> Scored:
    probs = flagger.probabilities(texts)
    return Scored(probs.sexist_logit, probs.tokens, np.array([len(t.split()) for t in texts]))


def _insert(message: str, post: str, rng: random.Random) -> str:
    paragraphs = message.split("\n\n")
    paragraphs.insert(rng.randrange(len(paragraphs) + 1), post)
    return "\n\n".join(paragraphs)


@dataclass
class Half:
    """Every set built from one half of the data, scored one way (windows or parts)."""

    benign: Scored
    mixed: Scored
    single: Scored  # the inserted posts alone
    kpart: dict[int, Scored]


@dataclass
class Texts:
    """Every set built from one half of the data."""

    benign: list[str]
    mixed: list[str]
    single: list[str]
    kpart: dict[int, list[str]]

    def scored(self, flagger: Flagger) -> Half:
        return Half(
            _score(flagger, self.benign),
            _score(flagger, self.mixed),
            _score(flagger, self.single),
            {k: _score(flagger, texts) for k, texts in self.kpart.items()},
        )


def _build(
    authored: list[str],
    negatives: list[str],
    positives: list[str],
    per_k: int,
    rng: random.Random,
) -> Texts:
    posts = [rng.choice(positives) for _ in authored]
    mixed = [_insert(m, p, rng) for m, p in zip(authored, posts, strict=True)]
    kpart = {k: ["\n\n".join(rng.sample(negatives, k)) for _ in range(per_k)] for k in KS}
    return Texts(authored, mixed, posts, kpart)


def _rates(flagger: Flagger, half: Half, penalty: float, threshold: float) -> dict[str, float]:
    single = half.single.scores(flagger, 0.0) >= threshold
    mixed = half.mixed.scores(flagger, penalty) >= threshold
    return {
        "benign_flag_rate": float((half.benign.scores(flagger, penalty) >= threshold).mean()),
        "mixed_recall": float(mixed.mean()),
        "single_recall": float(single.mean()),
        "mixed_recall_ratio": float(mixed.mean() / single.mean()) if single.any() else 0.0,
    }


def choose_penalty(flagger: Flagger, half: Half, threshold: float, keep: float) -> float:
    """Fewest benign flags among penalties keeping mixed recall >= ``keep`` x single recall."""
    rows = [(p, _rates(flagger, half, p, threshold)) for p in PENALTIES]
    allowed = [(r["benign_flag_rate"], p) for p, r in rows if r["mixed_recall_ratio"] >= keep]
    return min(allowed)[1] if allowed else 0.0


def _report(flagger: Flagger, halves: dict[str, Half], penalty: float) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, point in flagger.info.operating_points.items():
        t = point.value
        row: dict[str, object] = {}
        for label, p in (("before", 0.0), ("after", penalty)):
            half = halves[label]
            rates = _rates(flagger, half, p, t)
            benign = half.benign.scores(flagger, p) >= t
            rates["benign_by_words"] = {
                f"{lo}-{hi}": float(
                    benign[(half.benign.words >= lo) & (half.benign.words < hi)].mean()
                )
                for lo, hi in BUCKETS
                if ((half.benign.words >= lo) & (half.benign.words < hi)).any()
            }
            rates["kpart_flag_rate"] = {
                str(k): float((s.scores(flagger, p) >= t).mean()) for k, s in half.kpart.items()
            }
            row[label] = rates
        out[name] = row
    return out


def _load(args: argparse.Namespace) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    with args.data.open(encoding="utf-8", newline="") as handle:
        dev = [r for r in csv.DictReader(handle) if r.get("split") == "dev"]
    authored: list[dict[str, str]] = []
    for file in sorted(AUTHORED.glob("*.csv")):
        with file.open(encoding="utf-8", newline="") as handle:
            authored += list(csv.DictReader(handle))
    return dev, authored


def _half_data(
    dev: list[dict[str, str]], authored: list[dict[str, str]], which: int | None
) -> tuple[list[str], list[str], list[str]]:
    def keep(key: str) -> bool:
        return which is None or _half(key) == which

    rows = [r for r in dev if keep(r["rewire_id"])]
    return (
        [r["text"] for r in authored if keep(r["id"])],
        [r["text"] for r in rows if r["label_sexist"] == "not sexist"],
        [r["text"] for r in rows if r["label_sexist"] == "sexist"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="EDOS train+dev CSV")
    parser.add_argument("--model", type=Path, default=None, help="model directory")
    parser.add_argument("--per-k", type=int, default=300, help="k-part messages per k and half")
    parser.add_argument("--keep", type=float, default=0.9, help="mixed/single recall to keep")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", action="store_true", help="fit on all, store in the model")
    parser.add_argument("--json", type=Path, help="write the full report here")
    args = parser.parse_args()
    loaded = Flagger.load(args.model)
    flagger = loaded.with_info(
        loaded.info.model_copy(update={"length": LengthRule(split="paragraphs")})
    )
    windows = loaded.with_info(loaded.info.model_copy(update={"length": LengthRule()}))
    threshold = flagger.resolve_threshold(None).value
    dev, authored = _load(args)
    rng = random.Random(args.seed)
    if args.record:
        half = _build(*_half_data(dev, authored, None), args.per_k, rng).scored(flagger)
        penalty = choose_penalty(flagger, half, threshold, args.keep)
        info = loaded.info.model_copy(
            update={
                "length": LengthRule(
                    penalty=penalty,
                    reference_tokens=REFERENCE_TOKENS,
                    split="paragraphs",
                    fitted_on={
                        "edos_dev": str(args.data),
                        "authored_long_messages": len(authored),
                        "rule": f"fewest benign flags at default keeping mixed recall >= "
                        f"{args.keep} x single-post recall",
                    },
                )
            }
        )
        assert flagger.path is not None
        rewrite_info(flagger.path, info, render_card(info))
        print(f"penalty {penalty} (reference {REFERENCE_TOKENS} tokens) -> {flagger.path}")
        return
    folds = []
    texts = [_build(*_half_data(dev, authored, h), args.per_k, rng) for h in (0, 1)]
    parts = [t.scored(flagger) for t in texts]
    before = [t.scored(windows) for t in texts]
    for fit in (0, 1):
        penalty = choose_penalty(flagger, parts[fit], threshold, args.keep)
        other = {"before": before[1 - fit], "after": parts[1 - fit]}
        default = flagger.resolve_threshold(None).value
        tradeoff = {
            str(p): {
                **_rates(flagger, parts[1 - fit], p, default),
                "k16_flag_rate": float(
                    (parts[1 - fit].kpart[16].scores(flagger, p) >= default).mean()
                ),
            }
            for p in (0.0, 0.25, 0.5, 1.0)
        }
        folds.append(
            {
                "fitted_on_half": fit,
                "penalty": penalty,
                "tradeoff_at_default": tradeoff,
                **_report(flagger, other, penalty),
            }
        )
    long_texts = [r["text"] for r in authored]
    speed = {}
    for label, model in (("before", windows), ("after", flagger), ("before_again", windows)):
        started = time.perf_counter()
        model.score(long_texts, explain=False)
        speed[label] = len(long_texts) / (time.perf_counter() - started)
    report = {
        "model": flagger.version,
        "reference_tokens": REFERENCE_TOKENS,
        "folds": folds,
        "long_messages_per_second": speed,
        "mean_words": float(np.mean([len(t.split()) for t in long_texts])),
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    _print(report)


def _print(report: dict) -> None:  # type: ignore[type-arg]
    print(f"{report['model']}; length rule reference {report['reference_tokens']} tokens")
    for fold in report["folds"]:
        print(
            f"fitted on half {fold['fitted_on_half']}: penalty {fold['penalty']}; "
            "reported on the other"
        )
        for name in ("default", "review", "alert"):
            if name not in fold:
                continue
            for label in ("before", "after"):
                r = fold[name][label]
                kpart = " ".join(f"{k}:{v:.2f}" for k, v in r["kpart_flag_rate"].items())
                print(
                    f"  {name:<8}{label:<7} benign {r['benign_flag_rate']:.3f}  mixed recall "
                    f"{r['mixed_recall']:.3f} / single {r['single_recall']:.3f} "
                    f"({r['mixed_recall_ratio']:.2f})  k-part {kpart}"
                )
        for p, r in fold["tradeoff_at_default"].items():
            print(
                f"  penalty {p:<5} benign {r['benign_flag_rate']:.3f}  mixed/single "
                f"{r['mixed_recall_ratio']:.2f}  k=16 {r['k16_flag_rate']:.2f}"
            )
    speed = report["long_messages_per_second"]
    print(
        f"long messages (mean {report['mean_words']:.0f} words), msg/s: before "
        f"{speed['before']:.1f} / {speed['before_again']:.1f}, after {speed['after']:.1f}"
    )


if __name__ == "__main__":
    main()
