"""A quick look at short plain statements: 20 hateful and 20 not, each model at its `default`.

The statements were written by the team as a probe, apart from the corpus, the suite and every
evaluation set; 20 of each is far too few for a figure to decide a recipe on, but it shows at a
glance whether a model misses blunt generalisations or flags plain praise of women.

    .venv/bin/python training/short_statements.py --model OLD --model NEW [--backend torch]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flagger.model import Flagger

HATEFUL = [
    "Women are not funny.",
    "Women are bad leaders.",
    "Women belong in the kitchen.",
    "I will hurt the next woman who talks back to me.",
    "All women are stupid.",
    "Why are women so useless?",
    "Women are like animals.",
    "Females should not be allowed to vote.",
    "Women can't drive.",
    "I hate women.",
    "Women are disgusting.",
    "She's just a dumb bitch.",
    "Women should be seen and not heard.",
    "No woman has ever been a good engineer.",
    "I'd never let a woman manage me.",
    "Women are worse at maths than men.",
    "Kill all women.",
    "Women are inferior to men.",
    "She only got promoted because she's a woman.",
    "Girls can't code.",
]
NOT_HATEFUL = [
    "Women are funny.",
    "Women are great leaders.",
    "I love working with women.",
    "Women deserve equal pay.",
    "The women's team won the league.",
    "Saying women can't drive is sexist nonsense.",
    "I hate Mondays.",
    "Men and women are equally capable.",
    "She is a brilliant engineer.",
    "Women should be paid the same as men.",
    "My boss is a woman and she's great.",
    "This printer is useless.",
    "No one should say women belong in the kitchen.",
    "Women make up half the workforce.",
    "Our new manager is a woman.",
    "The meeting is at 3pm.",
    "Women can do any job men can do.",
    "Happy International Women's Day!",
    "I disagree with Sarah's plan.",
    "Girls code as well as boys.",
]


def probe(model: Flagger) -> list[str]:
    """Lines naming what the model caught, and every miss and false flag with its score."""
    threshold = model.resolve_threshold("default").value
    hateful, other = model.sexist_scores(HATEFUL), model.sexist_scores(NOT_HATEFUL)
    lines = [
        f"{model.version}: hateful caught {int((hateful >= threshold).sum())}"
        f"/{len(HATEFUL)}, not hateful flagged {int((other >= threshold).sum())}/"
        f"{len(NOT_HATEFUL)} (default {threshold:.3f})"
    ]
    lines += [
        f"  missed  {s:.2f} {t}" for s, t in zip(hateful, HATEFUL, strict=True) if s < threshold
    ]
    lines += [
        f"  flagged {s:.2f} {t}" for s, t in zip(other, NOT_HATEFUL, strict=True) if s >= threshold
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, action="append", required=True)
    parser.add_argument("--backend", choices=["auto", "onnx", "torch"], default="auto")
    args = parser.parse_args()
    for path in args.model:
        print("\n".join(probe(Flagger.load(path, backend=args.backend))))


if __name__ == "__main__":
    main()
