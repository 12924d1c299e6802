"""Counts, coverage and diversity of the authored corpus and its blind split.

Usage::

    .venv/bin/python training/corpus_report.py [--corpus training/corpus] [--blind training/blind]
        [--json out.json]

Prints rows per label, EDOS vector, negative kind, shape and target; the distinct word-trigram
ratio and how much of the corpus shares a skeleton (content words masked); and any message that
nearly repeats a behavioural-suite case or an example quoted in the docs. Exits 1 when the
corpus misses one of its stated floors (1,500 sexist, 80 per vector, at least as many hard
negatives as sexist messages, no skeleton over 1% of the corpus, no near-duplicates).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from flagger.behaviour import load_suite
from flagger.labels import VECTORS
from flagger.training.corpus import diversity, near_duplicates, read_corpus

ROOT = Path(__file__).resolve().parent.parent
MIN_SEXIST, MIN_PER_VECTOR, MAX_SKELETON_SHARE = 1500, 80, 0.01


def quoted_examples(root: Path = ROOT) -> list[str]:
    """Example sentences quoted in the docs (README files) and the issues (a kept list)."""
    from flagger.training.corpus import quoted_sentences

    texts = []
    for path in [*root.glob("*.md"), *root.glob("training/*.md"), *root.glob("models/*/README.md")]:
        texts += quoted_sentences(path.read_text(encoding="utf-8"))
    issues = root / "training" / "issue_examples.txt"
    texts += [
        line.strip() for line in issues.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    return texts


def summary(corpus_dir: Path, blind_dir: Path) -> dict[str, object]:
    """Every figure this script prints, as one JSON-able dict."""
    rows = read_corpus(corpus_dir)
    sexist = [r for r in rows if r.sexist]
    negatives = [r for r in rows if not r.sexist]
    texts = [r.text for r in rows]
    suite = [c.text for c in load_suite(ROOT / "training" / "behaviour")]
    report: dict[str, object] = {
        "messages": len(rows),
        "sexist": len(sexist),
        "not_sexist": len(negatives),
        "vectors": {v: sum(r.vector == v for r in sexist) for v in VECTORS},
        "kinds": dict(Counter(r.kind for r in negatives).most_common()),
        "shapes": dict(Counter(r.shape for r in rows).most_common()),
        "targets": dict(Counter(r.target for r in rows).most_common()),
        "files": dict(Counter(r.file for r in rows)),
        "diversity": diversity(texts),
        "near_duplicates_of_suite": len(near_duplicates(texts, suite)),
        "near_duplicates_of_quoted_examples": len(near_duplicates(texts, quoted_examples())),
    }
    if any(blind_dir.glob("*.csv")):
        blind = read_corpus(blind_dir)
        report["blind"] = {
            "messages": len(blind),
            "sexist": sum(r.sexist for r in blind),
            "vectors": {v: sum(r.vector == v for r in blind) for v in VECTORS},
            "kinds": dict(Counter(r.kind for r in blind if not r.sexist).most_common()),
            "diversity": diversity([r.text for r in blind]),
            "near_duplicates_of_corpus": len(near_duplicates([r.text for r in blind], texts)),
        }
    return report


def shortfalls(report: dict[str, object]) -> list[str]:
    """The corpus floors this report misses."""
    problems = []
    vectors = report["vectors"]
    assert isinstance(vectors, dict)
    if int(str(report["sexist"])) < MIN_SEXIST:
        problems.append(f"{report['sexist']} sexist messages, fewer than {MIN_SEXIST}")
    problems += [
        f"{vector}: {count} messages, fewer than {MIN_PER_VECTOR}"
        for vector, count in vectors.items()
        if count < MIN_PER_VECTOR
    ]
    if int(str(report["not_sexist"])) < int(str(report["sexist"])):
        problems.append("fewer hard negatives than sexist messages")
    share = report["diversity"]["largest_skeleton_share"]  # type: ignore[index]
    if share > MAX_SKELETON_SHARE:
        problems.append(f"one skeleton covers {share:.2%} of the corpus")
    for key in ("near_duplicates_of_suite", "near_duplicates_of_quoted_examples"):
        if report[key]:
            problems.append(f"{report[key]} {key.replace('_', ' ')}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "training" / "corpus")
    parser.add_argument("--blind", type=Path, default=ROOT / "training" / "blind")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = summary(args.corpus, args.blind)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    problems = shortfalls(report)
    for problem in problems:
        print(f"short: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
