"""Why long messages are flagged: how many of their parts are over the threshold on their own.

For the authored benign long messages (``training/long_messages/``), the same with one sexist EDOS
dev post inserted between two paragraphs, 16 not-sexist EDOS dev posts joined by blank lines, and
the same with one of them sexist: the share flagged at ``default`` (most severe part), the median
score of the most severe and the second most severe part, and the parts over the threshold.

    .venv/bin/python bench/long_message_parts.py --data ../shared/data/edos/edos_train_dev.csv
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

import numpy as np

from flagger import Flagger

AUTHORED = Path(__file__).resolve().parent.parent / "training" / "long_messages"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="EDOS train+dev CSV")
    parser.add_argument("--model", type=Path, default=None, help="model directory")
    parser.add_argument("--n", type=int, default=200, help="16-post messages per set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    flagger = Flagger.load(args.model)
    threshold = flagger.resolve_threshold(None).value
    authored = []
    for file in sorted(AUTHORED.glob("*.csv")):
        with file.open(encoding="utf-8", newline="") as handle:
            authored += [r["text"] for r in csv.DictReader(handle)]
    with args.data.open(encoding="utf-8", newline="") as handle:
        dev = [r for r in csv.DictReader(handle) if r.get("split") == "dev"]
    negatives = [r["text"] for r in dev if r["label_sexist"] == "not sexist"]
    positives = [r["text"] for r in dev if r["label_sexist"] == "sexist"]
    rng = random.Random(args.seed)

    def insert(message: str) -> str:
        paragraphs = message.split("\n\n")
        paragraphs.insert(rng.randrange(len(paragraphs) + 1), rng.choice(positives))
        return "\n\n".join(paragraphs)

    sets = {
        "authored benign": authored,
        "authored + 1 sexist post": [insert(t) for t in authored],
        "16 EDOS negatives": ["\n\n".join(rng.sample(negatives, 16)) for _ in range(args.n)],
        "15 EDOS negatives + 1 sexist": [
            insert("\n\n".join(rng.sample(negatives, 15))) for _ in range(args.n)
        ],
    }
    print(f"{flagger.version}, default threshold {threshold:.4f}")
    print(f"{'':<30} {'flagged':>8} {'max':>6} {'2nd':>6} {'parts over':>11}")
    for name, texts in sets.items():
        prepared = flagger.prepare(texts)
        heads = flagger.run_passes([w.input_ids for w in prepared.windows])
        owner = np.array([w.text_index for w in prepared.windows])
        scores = flagger.info.calibration.probability(heads.sexist_logit)
        ranked = [np.sort(scores[owner == i])[::-1] for i in range(len(texts))]
        first = np.array([r[0] for r in ranked])
        second = np.array([r[1] if len(r) > 1 else 0.0 for r in ranked])
        over = np.array([(r >= threshold).sum() for r in ranked])
        print(
            f"{name:<30} {(first >= threshold).mean():>8.3f} {np.median(first):>6.3f} "
            f"{np.median(second):>6.3f} {over.mean():>11.2f}"
        )


if __name__ == "__main__":
    main()
