"""Benign long messages flagged, and recall on long messages with one sexist post, per model.

The sets are those of ``bench/long_messages.py`` (all of it, not halves: the authored benign long
messages of ``training/long_messages/``, the same with one sexist EDOS dev post inserted, and
those posts alone), scored as each model scores them. ``--name-token`` replaces every capitalised
first name (``flagger.targets.first_names``) with one word before scoring, to see how much the
names move the verdicts; ``--show`` lists the benign messages flagged at ``default`` with the
score of their deciding part alone, as written and with the names replaced.

    .venv/bin/python training/names/measure.py --model models/flagger-edos [--model runs/names]
    .venv/bin/python training/names/measure.py --model models/flagger-edos --name-token Tom --show
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import regex

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import long_messages as bench  # noqa: E402
from flagger import Flagger  # noqa: E402
from flagger.targets import first_names  # noqa: E402

_WORD = regex.compile(r"\b\p{Lu}\p{Ll}+(?:['\u2019]s)?\b")


def replace_names(text: str, token: str) -> str:
    """``text`` with every capitalised first name (and its possessive) replaced by ``token``."""
    names = first_names()

    def swap(match: regex.Match[str]) -> str:
        word = match.group(0)
        base = word.removesuffix("'s").removesuffix("\u2019s")
        return token + word[len(base) :] if base.lower() in names else word

    return _WORD.sub(swap, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, action="append", required=True)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/edos/edos_train_dev.csv"))
    parser.add_argument("--name-token", help="replace first names with this word before scoring")
    parser.add_argument("--show", action="store_true", help="list the benign messages flagged")
    args = parser.parse_args()
    dev, authored = bench._load(args)
    texts = bench._build(*bench._half_data(dev, authored, None), 10, random.Random(0))
    ids = [r["id"] for r in authored]

    def prepared(batch: Sequence[str]) -> list[str]:
        return (
            [replace_names(t, args.name_token) for t in batch] if args.name_token else list(batch)
        )

    for path in args.model:
        flagger = Flagger.load(path)
        benign = flagger.probabilities(prepared(texts.benign))
        mixed = flagger.sexist_scores(prepared(texts.mixed))
        single = flagger.sexist_scores(prepared(texts.single))
        cells = []
        for name in ("default", "review"):
            t = flagger.resolve_threshold(name).value
            ratio = np.mean(mixed >= t) / np.mean(single >= t)
            cells.append(
                f"{name}: benign {int((benign.sexist >= t).sum())}/{len(texts.benign)}, "
                f"mixed / single recall {ratio:.2f}"
            )
        print(f"{flagger.version} ({path}): " + "; ".join(cells))
        if args.show:
            t = flagger.resolve_threshold(None).value
            for i in np.flatnonzero(benign.sexist >= t):
                start, end = benign.focus[i]
                part = texts.benign[i][start:end]
                alone, swapped = flagger.sexist_scores([part, replace_names(part, "Tom")])
                print(
                    f"  {ids[i]} {benign.sexist[i]:.3f}; its part alone {alone:.3f}, "
                    f"names as Tom {swapped:.3f}: {part[:80]!r}"
                )


if __name__ == "__main__":
    main()
