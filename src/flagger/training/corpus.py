"""flagger's authored training corpus: reading and checking it, and measuring its diversity.

The corpus (``training/corpus/*.csv``) is labelled workplace messages written by the flagger
team, following the EDOS annotation guidelines: sexist messages in every EDOS vector, and hard
negatives (the same frame at another target, the positive or neutral version, the message quoted
to condemn it, policy text). Each file has the columns ``id,text,label_sexist,label_category,
label_vector,kind,shape,target``; ``flagger train`` reads the first five like any labelled file.

Diversity is measured, not asserted: the distinct word-trigram ratio, and *skeletons*, a message
with its content words masked (function words kept), so that one frame filled with other words
shows up as one skeleton.
"""

from __future__ import annotations

import csv
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import regex
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from flagger.errors import InputFileError
from flagger.labels import NONE, NOT_SEXIST, SEXIST, VECTOR_TO_CATEGORY

COLUMNS = (
    "id",
    "text",
    "label_sexist",
    "label_category",
    "label_vector",
    "kind",
    "shape",
    "target",
)
NEGATIVE_KINDS = frozenset(
    {
        "other_target",
        "positive",
        "neutral",
        "counter_speech",
        "negated",
        "policy",
        "non_sexist_abuse",
    }
)
SHAPES = frozenset(
    {
        "statement",
        "question",
        "imperative",
        "conditional",
        "reported",
        "sarcasm",
        "joke",
        "exclamation",
        "list",
        "multi_sentence",
        "typo",
        "obfuscation",
    }
)
_WORD = regex.compile(r"[\p{L}\p{N}'*!@$.\-]*[\p{L}\p{N}*@$]|[\p{L}\p{N}]")
# Function words stay in a skeleton; negations and modals carry the frame, so they stay too.
_FRAME_WORDS = frozenset(ENGLISH_STOP_WORDS) | {
    "can't",
    "cannot",
    "don't",
    "doesn't",
    "isn't",
    "aren't",
    "won't",
    "wouldn't",
    "shouldn't",
    "couldn't",
    "didn't",
    "i'm",
    "it's",
    "she's",
    "he's",
    "they're",
    "you're",
    "i'll",
    "she'll",
    "let's",
}


@dataclass(frozen=True)
class CorpusRow:
    """One authored message with its labels and how it was written."""

    id: str
    text: str
    sexist: bool
    category: str
    vector: str
    kind: str
    shape: str
    target: str
    file: str


def _check_row(row: dict[str, str], where: str) -> CorpusRow:
    label = row["label_sexist"].strip()
    category, vector = row["label_category"].strip(), row["label_vector"].strip()
    kind, shape = row["kind"].strip(), row["shape"].strip()
    if not row["text"].strip():
        raise InputFileError(f"{where}: empty text")
    if label == SEXIST:
        if vector not in VECTOR_TO_CATEGORY:
            raise InputFileError(f"{where}: label_vector {vector!r} is not an EDOS vector")
        if VECTOR_TO_CATEGORY[vector] != category:
            raise InputFileError(
                f"{where}: vector {vector!r} belongs to {VECTOR_TO_CATEGORY[vector]!r}, "
                f"found category {category!r}"
            )
        if kind != SEXIST:
            raise InputFileError(f"{where}: a sexist row has kind 'sexist', found {kind!r}")
    elif label == NOT_SEXIST:
        if category != NONE or vector != NONE:
            raise InputFileError(f"{where}: a not-sexist row has category and vector 'none'")
        if kind not in NEGATIVE_KINDS:
            raise InputFileError(f"{where}: kind {kind!r} is not one of {sorted(NEGATIVE_KINDS)}")
    else:
        raise InputFileError(
            f"{where}: label_sexist must be 'sexist' or 'not sexist', found {label!r}"
        )
    if shape not in SHAPES:
        raise InputFileError(f"{where}: shape {shape!r} is not one of {sorted(SHAPES)}")
    return CorpusRow(
        id=row["id"].strip(),
        text=row["text"],
        sexist=label == SEXIST,
        category=category,
        vector=vector,
        kind=kind,
        shape=shape,
        target=row["target"].strip(),
        file=where.split(":", 1)[0],
    )


def read_corpus_file(path: Path) -> list[CorpusRow]:
    """Read and check one corpus CSV.

    Raises:
        InputFileError: a wrong header or a row whose labels are not valid EDOS labels (with its
            line number).
    """
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise InputFileError(
                f"{path}: header must be {','.join(COLUMNS)}, found {reader.fieldnames}"
            )
        return [_check_row(row, f"{path.name}:{reader.line_num}") for row in reader]


def read_corpus(directory: str | Path) -> list[CorpusRow]:
    """Every row of every ``*.csv`` in ``directory``, in file then row order.

    Raises:
        InputFileError: no corpus files, a bad file, or an id used twice.
    """
    files = sorted(Path(directory).glob("*.csv"))
    if not files:
        raise InputFileError(f"{directory}: no corpus CSV files")
    rows = [row for path in files for row in read_corpus_file(path)]
    seen: Counter[str] = Counter(row.id for row in rows)
    repeated = [key for key, count in seen.items() if count > 1]
    if repeated:
        raise InputFileError(f"{directory}: ids used more than once: {repeated[:5]}")
    return rows


def plain(text: str) -> str:
    """Lower-case, accents and punctuation removed, spaces collapsed: for comparing texts."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(regex.sub(r"[^\p{L}\p{N}]+", " ", letters).split())


def words(text: str) -> list[str]:
    """Lower-cased words (apostrophes and disguising symbols kept inside a word)."""
    return [w.casefold().replace("\u2019", "'") for w in _WORD.findall(text)]


def skeleton(text: str) -> str:
    """The message with every content word replaced by ``_``: its syntactic frame."""
    return " ".join(w if w in _FRAME_WORDS else "_" for w in words(text))


def diversity(texts: Sequence[str]) -> dict[str, Any]:
    """Distinct word-trigram ratio and how much of the corpus shares a skeleton.

    Returns:
        ``distinct_trigram_ratio`` (distinct / all word trigrams), ``shared_skeleton_share``
        (messages whose skeleton another message also has), ``largest_skeleton_share`` (the most
        common skeleton's share of the corpus) and ``largest_skeleton``.
    """
    trigrams: list[tuple[str, ...]] = []
    for text in texts:
        tokens = words(text)
        trigrams += [tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
    skeletons = Counter(skeleton(t) for t in texts)
    shared = sum(count for count in skeletons.values() if count > 1)
    top, top_count = skeletons.most_common(1)[0] if skeletons else ("", 0)
    total = max(len(texts), 1)
    return {
        "messages": len(texts),
        "distinct_trigram_ratio": len(set(trigrams)) / max(len(trigrams), 1),
        "shared_skeleton_share": shared / total,
        "largest_skeleton_share": top_count / total,
        "largest_skeleton": top,
    }


def near_duplicates(
    texts: Sequence[str], references: Iterable[str], threshold: float = 0.8
) -> list[tuple[int, str, float]]:
    """Texts that repeat a reference: equal once normalised, or character 4-gram Jaccard
    similarity of at least ``threshold``.

    Returns:
        ``(index into texts, the reference, similarity)`` for every match.
    """
    refs = [r for r in references if plain(r)]
    if not refs or not texts:
        return []
    grams = CountVectorizer(
        analyzer="char", ngram_range=(4, 4), binary=True, preprocessor=lambda t: f" {plain(t)} "
    )
    ref_matrix = grams.fit_transform(refs)
    text_matrix = grams.transform(texts)
    shared = (text_matrix @ ref_matrix.T).tocoo()
    # A text's grams that no reference has are not columns of the matrix: count them apart.
    text_sizes = np.array([len(_grams(t)) for t in texts])
    ref_sizes = np.asarray(ref_matrix.sum(axis=1)).ravel()
    union = text_sizes[shared.row] + ref_sizes[shared.col] - shared.data
    similarity = shared.data / np.maximum(union, 1)
    by_plain = {plain(r): r for r in refs}
    found = {
        i: (i, by_plain[plain(text)], 1.0)
        for i, text in enumerate(texts)
        if plain(text) in by_plain
    }
    matches = [
        (int(i), refs[j], round(float(sim), 3))
        for i, j, sim in zip(
            shared.row[similarity >= threshold],
            shared.col[similarity >= threshold],
            similarity[similarity >= threshold],
            strict=True,
        )
        if int(i) not in found
    ]
    return sorted([*found.values(), *matches])


def _grams(text: str, n: int = 4) -> set[str]:
    padded = f" {plain(text)} "
    return {padded[i : i + n] for i in range(max(len(padded) - n + 1, 1))}


_QUOTED = regex.compile(r'"([^"]{8,200})"|\u201c([^\u201d]{8,200})\u201d')


def quoted_sentences(text: str, min_words: int = 3) -> list[str]:
    """Phrases quoted in prose ("..." or curly quotes) of at least ``min_words`` words."""
    found = []
    for match in _QUOTED.finditer(" ".join(text.split())):  # quotes may wrap across lines
        phrase = (match.group(1) or match.group(2)).strip()
        if phrase[:1].isalpha() and len(words(phrase)) >= min_words:
            found.append(phrase)
    return found
