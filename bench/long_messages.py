"""Long messages: false flags on benign ones, recall on ones with one sexist post, by length.

``before`` is 1.3.0's decision (overlapping token windows, the most severe one calibrated as if it
were a post); ``after`` is the length-aware one (paragraphs and sentences packed into parts; the
most severe part's logit blended by the fitted context weight with its reading among the text
around it; ``flagger.length``).

Three sets, each split in halves (EDOS dev by a hash of the post id, the authored long messages
of ``training/long_messages/`` by a hash of theirs); the rule is fitted on one half and reported
on the other, then the other way round (cross-fitted, never in-sample):

- **benign**: the authored long messages (minutes, status reports, rotas, technical threads,
  handovers, policy and newsletters; 150-1,500 words);
- **mixed**: the same with one sexist EDOS dev post inserted between two paragraphs at random;
  recall is set against the recall on the same posts alone (the single-post recall);
- **k-part**: k not-sexist EDOS dev posts joined by blank lines, k = 1, 2, 4, 8, 16 (hard: EDOS
  negatives are often about women and often rude).

The length rule (context weight, context read in tokens each side, and length penalty) is chosen
on the fitting half: the fewest benign flags at ``default`` among the rules that keep mixed recall
at least ``--keep`` (0.95) of single-post recall, then the fewest benign flags at ``review`` (one
or two benign flags at ``default`` in a hundred messages tie too often to choose by), then the
highest mixed recall, then the smallest adjustment. The target is 0.9 of single-post recall; the
fit keeps 0.95, a margin for the other half (fitted to keep 0.9, rules kept 0.85 of it there).
Each message is scored once (its most severe part alone and among the text around it, for each
context size); rules are applied to the stored logits, so every figure comes from one run.

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
WEIGHTS = tuple(round(float(w), 2) for w in np.arange(0.0, 1.01, 0.05))
SIDES: tuple[int | None, ...] = (8, 16, 32, None)  # context tokens each side; None: a window
PENALTIES = (0.0, 0.05, 0.1, 0.15, 0.2)  # logit lowered per log-unit of length
REFERENCE_TOKENS = 96
KS = (1, 2, 4, 8, 16)
BUCKETS = ((0, 300), (300, 600), (600, 1000), (1000, 10_000))  # words


def _half(key: str) -> int:
    return int(hashlib.sha256(f"long:{key}".encode()).hexdigest(), 16) % 2


@dataclass(frozen=True)
class Rule:
    """A length rule's numbers: the share of the logit read in context, the context read on each
    side (tokens; ``None``: as much as fits in one window), and the penalty."""

    context_weight: float = 0.0
    penalty: float = 0.0
    context_tokens: int | None = None

    def length_rule(self) -> LengthRule:
        return LengthRule(
            penalty=self.penalty,
            reference_tokens=REFERENCE_TOKENS,
            split="paragraphs",
            context_weight=self.context_weight,
            context_tokens=self.context_tokens if self.context_weight else None,
        )


NONE = Rule()


@dataclass
class Scored:
    """Raw most-severe-part logits (alone and among neighbours) and token counts of a set."""

    logits: np.ndarray
    context: np.ndarray
    tokens: np.ndarray
    words: np.ndarray

    def scores(self, flagger: Flagger, rule: Rule) -> np.ndarray:
        adjusted = rule.length_rule().adjust(self.logits, self.tokens, self.context)
        return flagger.info.calibration.probability(adjusted)


def _score(flagger: Flagger, texts: Sequence[str]) -> Scored:
    probs = flagger.probabilities(texts)
    words = np.array([len(t.split()) for t in texts])
    return Scored(probs.sexist_logit, probs.context_logit, probs.tokens, words)


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


def _rates(flagger: Flagger, half: Half, rule: Rule, threshold: float) -> dict[str, float]:
    single = half.single.scores(flagger, NONE) >= threshold
    mixed = half.mixed.scores(flagger, rule) >= threshold
    return {
        "benign_flag_rate": float((half.benign.scores(flagger, rule) >= threshold).mean()),
        "mixed_recall": float(mixed.mean()),
        "single_recall": float(single.mean()),
        "mixed_recall_ratio": float(mixed.mean() / single.mean()) if single.any() else 0.0,
    }


Sides = dict[int | None, Half]  # one half of the data, scored with each context size


def choose_rule(flagger: Flagger, sides: Sides, threshold: float, keep: float) -> Rule:
    """Fewest benign flags among rules keeping mixed recall >= ``keep`` x single recall; then the
    fewest benign flags at ``review`` (a few benign flags at ``default`` in a hundred messages
    tie too often to choose by); then the highest mixed recall; then the smallest rule."""
    review = flagger.resolve_threshold("review").value
    candidates = [Rule(0.0, penalty) for penalty in PENALTIES] + [
        Rule(w, penalty, side) for penalty in PENALTIES for side in sides for w in WEIGHTS if w > 0
    ]
    allowed = []
    for rule in candidates:
        half = sides[rule.context_tokens]
        r = _rates(flagger, half, rule, threshold)
        if r["mixed_recall_ratio"] >= keep:
            finer = float((half.benign.scores(flagger, rule) >= review).mean())
            size = rule.context_tokens or 10**6
            key = (
                r["benign_flag_rate"],
                finer,
                -r["mixed_recall_ratio"],
                rule.penalty,
                rule.context_weight,
                size,
            )
            allowed.append((key, rule))
    return min(allowed, key=lambda row: row[0])[1] if allowed else NONE


def _report(flagger: Flagger, halves: dict[str, Half], rule: Rule) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, point in flagger.info.operating_points.items():
        t = point.value
        row: dict[str, object] = {}
        for label, p in (("before", NONE), ("after", rule)):
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
    parser.add_argument(
        "--keep", type=float, default=0.95, help="mixed/single recall a fitted rule keeps"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", action="store_true", help="fit on all, store in the model")
    parser.add_argument("--json", type=Path, help="write the full report here")
    args = parser.parse_args()
    loaded = Flagger.load(args.model)

    def reading(side: int | None) -> Flagger:
        """Scores with context read (weight 1), so each message's part alone and among its
        neighbours are both at hand; rules are applied to the stored logits."""
        rule = LengthRule(split="paragraphs", context_weight=1.0, context_tokens=side)
        return loaded.with_info(loaded.info.model_copy(update={"length": rule}))

    flagger = reading(None)
    windows = loaded.with_info(loaded.info.model_copy(update={"length": LengthRule()}))
    threshold = flagger.resolve_threshold(None).value
    dev, authored = _load(args)
    rng = random.Random(args.seed)
    if args.record:
        built = _build(*_half_data(dev, authored, None), args.per_k, rng)
        rule = choose_rule(
            flagger, {side: built.scored(reading(side)) for side in SIDES}, threshold, args.keep
        )
        info = loaded.info.model_copy(
            update={
                "length": rule.length_rule().model_copy(
                    update={
                        "fitted_on": {
                            "edos_dev": str(args.data),
                            "authored_long_messages": len(authored),
                            "rule": f"fewest benign flags at default keeping mixed recall >= "
                            f"{args.keep} x single-post recall, then fewest at review, "
                            "then the highest mixed recall",
                        }
                    }
                )
            }
        )
        assert flagger.path is not None
        rewrite_info(flagger.path, info, render_card(info))
        print(
            f"context weight {rule.context_weight} ({rule.context_tokens} tokens each side), "
            f"penalty {rule.penalty} "
            f"(reference {REFERENCE_TOKENS} tokens) -> {flagger.path}"
        )
        return
    folds = []
    texts = [_build(*_half_data(dev, authored, h), args.per_k, rng) for h in (0, 1)]
    parts: list[Sides] = [{side: t.scored(reading(side)) for side in SIDES} for t in texts]
    before = [t.scored(windows) for t in texts]
    for fit in (0, 1):
        rule = choose_rule(flagger, parts[fit], threshold, args.keep)
        other = {"before": before[1 - fit], "after": parts[1 - fit][rule.context_tokens]}

        def tradeoff_row(candidate: Rule, sides: Sides = parts[1 - fit]) -> dict[str, float]:
            half = sides[candidate.context_tokens]
            return {
                **_rates(flagger, half, candidate, threshold),
                "k16_flag_rate": float(
                    (half.kpart[16].scores(flagger, candidate) >= threshold).mean()
                ),
            }

        folds.append(
            {
                "fitted_on_half": fit,
                "context_weight": rule.context_weight,
                "context_tokens": rule.context_tokens,
                "penalty": rule.penalty,
                "tradeoff_context": {
                    str(w): tradeoff_row(Rule(w, rule.penalty, rule.context_tokens))
                    for w in (0.0, 0.25, 0.5, 0.75, 1.0)
                },
                # at the fitted weight, or at 0.25 where the fitted rule reads no context
                "tradeoff_context_tokens": {
                    str(side): tradeoff_row(Rule(rule.context_weight or 0.25, rule.penalty, side))
                    for side in SIDES
                },
                "tradeoff_penalty": {
                    str(p): tradeoff_row(Rule(rule.context_weight, p, rule.context_tokens))
                    for p in (0.0, 0.25, 0.5, 1.0)
                },
                **_report(flagger, other, rule),
            }
        )
    long_texts = [r["text"] for r in authored]
    parts_only = loaded.with_info(
        loaded.info.model_copy(update={"length": LengthRule(split="paragraphs")})
    )
    speed = {}
    for label, model in (
        ("before", windows),
        ("parts", parts_only),
        ("after", reading(folds[0]["context_tokens"])),  # type: ignore[arg-type]
        ("before_again", windows),
    ):
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
            f"fitted on half {fold['fitted_on_half']}: context weight {fold['context_weight']} "
            f"({fold['context_tokens']} tokens each side), penalty {fold['penalty']}; "
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
        for kind in ("context", "context_tokens", "penalty"):
            for value, r in fold[f"tradeoff_{kind}"].items():
                print(
                    f"  {kind} {value:<5} benign {r['benign_flag_rate']:.3f}  mixed/single "
                    f"{r['mixed_recall_ratio']:.2f}  k=16 {r['k16_flag_rate']:.2f}"
                )
    speed = report["long_messages_per_second"]
    print(
        f"long messages (mean {report['mean_words']:.0f} words), msg/s: before (windows) "
        f"{speed['before']:.1f} / {speed['before_again']:.1f}, parts without context "
        f"{speed['parts']:.1f}, after (parts with context) {speed['after']:.1f}"
    )


if __name__ == "__main__":
    main()
