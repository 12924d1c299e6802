"""Choose how the evidence search perturbs words, on the TUNE half of the rationales only.

For each way of occluding a word while searching (delete it, the tokenizer's mask or unknown
token, a neutral filler word) and each gap-bridging width, prints word F1 against the people's
evidence, the median evidence length, ERASER comprehensiveness and sufficiency on the flagged
rationale messages, and how often the search reached its target.

Usage: python training/rationales/tune_search.py [--model models/flagger-edos] [--part tune]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from flagger.faithfulness import faithfulness, plausibility
from flagger.model import Flagger
from flagger.rationales import load_rationales, message_texts, resolve

HERE = Path(__file__).resolve().parent
REPLACEMENTS = {"delete": "", "mask": "[MASK]", "unknown": "[UNK]", "filler": "something"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/flagger-edos"))
    parser.add_argument("--edos", type=Path, default=Path("../shared/data/edos/edos_train_dev.csv"))
    parser.add_argument("--part", default="tune", choices=["tune", "test"])
    parser.add_argument("--phrase-words", type=int, nargs="+", default=[0, 4, 6])
    parser.add_argument("--replacements", nargs="+", default=list(REPLACEMENTS))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    flagger = Flagger.load(args.model)
    texts = message_texts(args.edos, HERE.parent / "corpus")
    pairs = [
        (r, t)
        for r, t in resolve(load_rationales(HERE / "rationales.jsonl"), texts)
        if r.part == args.part and not r.no_evidence
    ]
    rows = []
    base = flagger.span_search
    print(f"{len(pairs)} rationales ({args.part}); model {flagger.version}")
    header = "replacement phrase_words  F1     words  comp   suff   complete"
    print(header)
    for name in args.replacements:
        for phrase_words in args.phrase_words:
            search = replace(
                base, avoid_targets=True, replacement=REPLACEMENTS[name], phrase_words=phrase_words
            )
            plaus = plausibility(flagger, pairs, searches={"evidence": search})
            faith = faithfulness(flagger, [t for _, t in pairs], search=search)
            row = {
                "replacement": name,
                "phrase_words": phrase_words,
                "token_f1": plaus["evidence"]["token_f1"],
                "median_words": faith["median_evidence_words"],
                "comprehensiveness": faith["comprehensiveness"],
                "sufficiency": faith["sufficiency"],
                "complete": faith["complete"],
                "flagged": faith["flagged"],
            }
            rows.append(row)
            print(
                f"{name:<11} {phrase_words:>6} {row['token_f1']:.3f}  {row['median_words']:>5.1f}  "
                f"{row['comprehensiveness']:.3f}  {row['sufficiency']:.3f}  {row['complete']:.3f}"
            )
    before = base.before_targets()
    plaus = plausibility(flagger, pairs, searches={"before": before})
    before_f1, random_f1 = plaus["before"]["token_f1"], plaus["random"]["token_f1"]
    print(f"before targets: F1 {before_f1:.3f}; random non-target spans {random_f1:.3f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
