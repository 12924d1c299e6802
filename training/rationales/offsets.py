"""Turn annotators' phrase answers into the stored rationale records (ids and offsets only).

An answer line is ``{"key": "edos_dev:ID" | "corpus:ID", "evidence": [phrase, ...],
"targets": [phrase, ...], "no_evidence": bool}``; each phrase must be a substring of the message
(its first occurrence not already marked is taken). The output never holds message text.

Usage:
    python training/rationales/offsets.py OUT.jsonl ANSWERS.jsonl:ANNOTATOR [...] \
        [--edos ../shared/data/edos/edos_train_dev.csv]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import regex

from flagger.rationales import message_texts, part_of, text_sha

HERE = Path(__file__).resolve().parent


def locate(text: str, phrases: list[str], key: str) -> list[list[int]]:
    """Character ranges of ``phrases`` in ``text``: the first occurrence not already taken,
    preferring whole words ("her" in "Another" only when it occurs nowhere else)."""
    taken: list[tuple[int, int]] = []
    for phrase in phrases:
        if not phrase.strip():
            raise SystemExit(f"{key}: empty phrase")
        whole = regex.finditer(rf"(?<!\w){regex.escape(phrase)}(?!\w)", text)
        inside = regex.finditer(regex.escape(phrase), text, overlapped=True)
        free = [
            m.span()
            for m in (*whole, *inside)
            if not any(s < m.end() and m.start() < e for s, e in taken)
        ]
        if not free:
            raise SystemExit(f"{key}: phrase {phrase!r} is not in the message")
        taken.append(free[0])
    return [list(span) for span in sorted(taken)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("answers", nargs="+", help="ANSWERS.jsonl:ANNOTATOR")
    parser.add_argument("--edos", type=Path, default=Path("../shared/data/edos/edos_train_dev.csv"))
    args = parser.parse_args()
    texts = message_texts(args.edos, HERE.parent / "corpus")
    records = []
    for spec in args.answers:
        path, annotator = spec.rsplit(":", 1)
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            answer = json.loads(line)
            key = answer["key"]
            source, _, ident = key.partition(":")
            text = texts[key]
            records.append(
                {
                    "source": source,
                    "id": ident,
                    "annotator": annotator,
                    "part": part_of(key),
                    "evidence": locate(text, answer.get("evidence", []), key),
                    "targets": locate(text, answer.get("targets", []), key),
                    "no_evidence": bool(answer.get("no_evidence", False)),
                    "text_sha": text_sha(text),
                }
            )
    records.sort(key=lambda r: (r["source"], r["id"], r["annotator"]))
    with args.out.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    print(f"{len(records)} rationales -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
