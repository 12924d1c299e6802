"""Human rationales: the evidence and target words annotators marked in sexist messages.

The annotations (``training/rationales/``, see its GUIDELINES.md) are stored as ids and character
offsets, never as copies of the message text: EDOS posts are looked up in the EDOS file by id and
corpus messages in ``training/corpus/``, and a short hash of each text catches a file that has
changed under the offsets. Explanations are scored against them at the level of words (the same
candidate tokens the span search works on): a word is marked when a span overlaps it.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from flagger.errors import InputFileError
from flagger.explain import Range, candidate_tokens

SOURCES = ("edos_dev", "corpus")


@dataclass(frozen=True)
class Rationale:
    """One annotator's evidence and targets for one message."""

    source: str
    id: str
    annotator: str
    part: str  # "tune" (for choosing how the search works) or "test" (for reporting)
    evidence: tuple[Range, ...]
    targets: tuple[Range, ...]
    no_evidence: bool
    text_sha: str

    @property
    def key(self) -> str:
        return f"{self.source}:{self.id}"


def text_sha(text: str) -> str:
    """Short fingerprint of a message text, stored beside its offsets."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def part_of(key: str) -> str:
    """The fixed half a message belongs to: ``tune`` or ``test``, by a hash of its key."""
    return "test" if int(hashlib.sha256(f"part:{key}".encode()).hexdigest(), 16) % 2 else "tune"


def load_rationales(path: Path) -> list[Rationale]:
    """Read a rationale file (JSON lines); a malformed line is a ``InputFileError`` naming it."""
    found = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                found.append(
                    Rationale(
                        source=row["source"],
                        id=row["id"],
                        annotator=row["annotator"],
                        part=row["part"],
                        evidence=tuple((int(s), int(e)) for s, e in row["evidence"]),
                        targets=tuple((int(s), int(e)) for s, e in row["targets"]),
                        no_evidence=bool(row.get("no_evidence", False)),
                        text_sha=row["text_sha"],
                    )
                )
            except (ValueError, KeyError, TypeError) as error:
                message = f"{path}:{number}: not a rationale record ({error})"
                raise InputFileError(message) from error
    return found


def message_texts(edos_csv: Path | None, corpus_dir: Path) -> dict[str, str]:
    """Texts by key (``edos_dev:ID``, ``corpus:ID``) from the EDOS file and the corpus folder."""
    texts: dict[str, str] = {}
    if edos_csv is not None and edos_csv.exists():
        with edos_csv.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("split") == "dev":
                    texts[f"edos_dev:{row['rewire_id']}"] = row["text"]
    for file in sorted(corpus_dir.glob("*.csv")):
        with file.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                texts[f"corpus:{row['id']}"] = row["text"]
    return texts


def resolve(
    rationales: Iterable[Rationale], texts: Mapping[str, str]
) -> list[tuple[Rationale, str]]:
    """Pair each rationale with its message text; messages not available are left out.

    Raises:
        InputFileError: a text no longer matches the fingerprint its offsets were made against.
    """
    paired = []
    for rationale in rationales:
        text = texts.get(rationale.key)
        if text is None:
            continue
        if text_sha(text) != rationale.text_sha:
            raise InputFileError(f"rationale {rationale.key}: the message text has changed")
        paired.append((rationale, text))
    return paired


def marked_tokens(text: str, spans: Sequence[Range]) -> set[int]:
    """Indices of the candidate tokens of ``text`` that any of ``spans`` overlaps."""
    return {
        i
        for i, (start, end) in enumerate(candidate_tokens(text))
        if any(start < s_end and s_start < end for s_start, s_end in spans)
    }


def token_f1(text: str, predicted: Sequence[Range], gold: Sequence[Range]) -> float:
    """Word-level F1 of ``predicted`` spans against ``gold`` ones (1.0 when both are empty)."""
    p, g = marked_tokens(text, predicted), marked_tokens(text, gold)
    if not p and not g:
        return 1.0
    overlap = len(p & g)
    return 2 * overlap / (len(p) + len(g))


def cohen_kappa(text_pairs: Sequence[tuple[str, Sequence[Range], Sequence[Range]]]) -> float:
    """Cohen's kappa of two annotators' word-level marks, pooled over messages."""
    both = first = second = total = 0
    for text, a, b in text_pairs:
        n = len(candidate_tokens(text))
        ta, tb = marked_tokens(text, a), marked_tokens(text, b)
        both += len(ta & tb)
        first += len(ta)
        second += len(tb)
        total += n
    if total == 0:
        return 0.0
    neither = total - first - second + both
    observed = (both + neither) / total
    expected = (first / total) * (second / total) + (1 - first / total) * (1 - second / total)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)
