"""Agreement between the first annotations and the independent second annotator's.

Usage: python training/rationales/agreement.py [--edos ../shared/data/edos/edos_train_dev.csv]
Prints word-level F1 (mean over messages, first annotation as reference) and Cohen's kappa of
the evidence marks, and the same for targets, on the messages both annotated.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from flagger.rationales import cohen_kappa, load_rationales, message_texts, resolve, token_f1

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edos", type=Path, default=Path("../shared/data/edos/edos_train_dev.csv"))
    args = parser.parse_args()
    texts = message_texts(args.edos, HERE.parent / "corpus")
    first = {r.key: (r, t) for r, t in resolve(load_rationales(HERE / "rationales.jsonl"), texts)}
    second = resolve(load_rationales(HERE / "second.jsonl"), texts)
    pairs = [(first[r.key][0], r, t) for r, t in second if r.key in first]
    print(f"messages annotated twice: {len(pairs)} of {len(second)}")
    for field in ("evidence", "targets"):
        f1 = [token_f1(t, getattr(b, field), getattr(a, field)) for a, b, t in pairs]
        kappa = cohen_kappa([(t, getattr(a, field), getattr(b, field)) for a, b, t in pairs])
        print(f"{field:<9} word F1 {statistics.fmean(f1):.3f}  Cohen's kappa {kappa:.3f}")
    agree = sum(a.no_evidence == b.no_evidence for a, b, _ in pairs)
    print(f"no_evidence agreement: {agree}/{len(pairs)}")


if __name__ == "__main__":
    main()
