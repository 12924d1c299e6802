"""Turn texts into model inputs: overlapping windows over long texts and length-bucketed batches.

Long messages are never silently truncated: a text longer than the model window is split into
overlapping windows, each scored on its own, and the caller keeps the most severe window.

Tokenising uses the ``tokenizers`` library directly (the model directory's ``tokenizer.json``), so
scoring needs neither ``transformers`` nor ``torch`` when it runs on ONNX Runtime.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from flagger.errors import ModelDirectoryError

TOKENIZER_FILE = "tokenizer.json"


@dataclass(frozen=True)
class Window:
    """One model input: token ids (special tokens included) of a slice of one text.

    ``start`` and ``end`` are the character offsets of that slice in the text.
    """

    text_index: int
    input_ids: list[int]
    start: int = 0
    end: int = 0
    text_tokens: int = 0  # tokens of the whole text (its length, for the length-aware verdict)


@dataclass(frozen=True)
class SpecialTokens:
    """The ids a BERT-style input needs around and after its tokens."""

    cls: int
    sep: int
    pad: int


def load_tokenizer(directory: str | Path) -> Tokenizer:
    """Load ``tokenizer.json`` with its own truncation and padding turned off (we window).

    Raises:
        ModelDirectoryError: if the file is missing or unreadable.
    """
    path = Path(directory) / TOKENIZER_FILE
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for a bad file
        raise ModelDirectoryError(f"{path}: unreadable tokenizer ({exc})") from None
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def as_tokenizer(tokenizer: Any) -> Tokenizer:
    """A ``tokenizers.Tokenizer`` from one, or a private copy of a ``transformers`` fast one's."""
    if isinstance(tokenizer, Tokenizer):
        return tokenizer
    copy = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy


def special_tokens(tokenizer: Tokenizer) -> SpecialTokens:
    """Look up ``[CLS]``, ``[SEP]`` and ``[PAD]``.

    Raises:
        ModelDirectoryError: if the vocabulary lacks one of them (not a BERT tokenizer).
    """
    ids = {name: tokenizer.token_to_id(f"[{name.upper()}]") for name in ("cls", "sep", "pad")}
    missing = [f"[{name.upper()}]" for name, value in ids.items() if value is None]
    if missing:
        raise ModelDirectoryError(f"tokenizer has no {', '.join(missing)}: not a BERT vocabulary")
    return SpecialTokens(**ids)  # type: ignore[arg-type]


def window_starts(length: int, size: int, stride: int) -> list[int]:
    """Token offsets where the windows over a sequence of ``length`` tokens start.

    The last window is aligned to the end of the sequence so no token is left out and no window
    is a short tail. A sequence that fits (even an empty one) gives one window.

    Raises:
        ValueError: if ``size`` or ``stride`` is not positive or ``stride > size``.
    """
    if size <= 0 or stride <= 0 or stride > size:
        raise ValueError(f"need 0 < stride <= size, found size={size}, stride={stride}")
    if length <= size:
        return [0]
    return [*range(0, length - size, stride), length - size]


def split_windows(token_ids: Sequence[int], size: int, stride: int) -> list[list[int]]:
    """Cut a token sequence into windows of at most ``size`` tokens, ``stride`` apart."""
    ids = list(token_ids)
    return [ids[start : start + size] for start in window_starts(len(ids), size, stride)]


Bounds = Callable[[str, Sequence[tuple[int, int]], int], list[tuple[int, int]]]


def _encode(
    tokenizer: Tokenizer, texts: Sequence[str], max_length: int, bounds: Bounds
) -> list[Window]:
    """Tokenise texts and cut each at ``bounds(text, offsets, body)``, adding special tokens."""
    body = max_length - 2  # room for [CLS] and [SEP]
    special = special_tokens(tokenizer)
    windows = []
    for i, encoding in enumerate(tokenizer.encode_batch(list(texts), add_special_tokens=False)):
        ids, offsets = encoding.ids, encoding.offsets
        for start, end in bounds(texts[i], offsets, body):
            span = offsets[start:end]
            windows.append(
                Window(
                    text_index=i,
                    input_ids=[special.cls, *ids[start:end], special.sep],
                    start=span[0][0] if span else 0,
                    end=span[-1][1] if span else len(texts[i]),
                    text_tokens=len(ids),
                )
            )
    return windows


def encode_windows(
    tokenizer: Tokenizer, texts: Sequence[str], max_length: int, stride: int
) -> list[Window]:
    """Tokenise texts and split each into windows of ``max_length`` tokens with special tokens."""

    def windows(_: str, offsets: Sequence[tuple[int, int]], body: int) -> list[tuple[int, int]]:
        starts = window_starts(len(offsets), body, min(stride, body))
        return [(start, min(start + body, len(offsets))) for start in starts]

    return _encode(tokenizer, texts, max_length, windows)


# A paragraph shorter than this (a greeting, a sign-off, a heading) is not judged on its own:
# alone, "See you there, Louise and Sue" scored 0.85. Measured in bench/long_messages.py against
# 24 (mixed recall falls to 0.79-0.91 of single-post recall) and 0 (benign flags 1.9-5.9%).
MIN_PART_TOKENS = 12


def part_bounds(text: str, offsets: Sequence[tuple[int, int]], body: int) -> list[tuple[int, int]]:
    """Token ranges of the parts of a text: whole sentences and paragraphs packed into windows.

    A text that fits is one part. A longer one is cut, without overlap, at every paragraph break
    (a blank line: one sexist paragraph packed with its neighbours was diluted by them, and mixed
    recall fell to 0.7 of a post's own), and within a paragraph at the last sentence end that fits
    in ``body`` tokens, so a part is something a reader recognises; a sentence too long for a
    part (or a cut that would leave a sliver) is cut where it fills it. Paragraphs shorter than
    ``MIN_PART_TOKENS`` join the one before.
    """
    count = len(offsets)
    if count <= body:
        return [(0, count)]
    gaps = [text[offsets[b - 1][1] : offsets[b][0]] for b in range(1, count)]
    paragraph = [b for b in range(1, count) if "\n\n" in gaps[b - 1]]
    ends = [
        b
        for b in range(1, count)
        if "\n" in gaps[b - 1]
        or text[offsets[b - 1][0] : offsets[b - 1][1]] in {".", "!", "?", "\u2026"}
    ]
    segments: list[list[int]] = []
    for seg_start, seg_end in zip([0, *paragraph], [*paragraph, count], strict=True):
        # A paragraph too short to judge on its own (a greeting, a sign-off, a heading) joins
        # the one before it, when they fit in a part together.
        if (
            segments
            and (
                seg_end - seg_start < MIN_PART_TOKENS
                or segments[-1][1] - segments[-1][0] < MIN_PART_TOKENS
            )
            and seg_end - segments[-1][0] <= body
        ):
            segments[-1][1] = seg_end
        else:
            segments.append([seg_start, seg_end])
    bounds = []
    for seg_start, seg_end in segments:
        start = seg_start
        while seg_end - start > body:
            limit = start + body
            index = bisect.bisect_right(ends, limit) - 1
            cut = ends[index] if index >= 0 and ends[index] - start >= body // 4 else limit
            bounds.append((start, cut))
            start = cut
        bounds.append((start, seg_end))
    return bounds


def encode_parts(tokenizer: Tokenizer, texts: Sequence[str], max_length: int) -> list[Window]:
    """Tokenise texts and cut each into parts (``part_bounds``) with special tokens."""
    return _encode(tokenizer, texts, max_length, part_bounds)


def context_window(
    parts: Sequence[Window], index: int, max_length: int, side: int | None = None
) -> list[int]:
    """``parts[index]`` with up to ``side`` tokens of the text around it on each side (as much as
    fits in one window when ``None``), centred on it; a side with less gives its room to the other.

    ``parts`` are one text's parts in order (``encode_parts``: contiguous, not overlapping), each
    with its special tokens; the result keeps the part's ``[CLS]`` and ``[SEP]``.
    """
    inner = [p.input_ids[1:-1] for p in parts]
    part = inner[index]
    before = [t for ids in inner[:index] for t in ids]
    after = [t for ids in inner[index + 1 :] for t in ids]
    room = max(0, max_length - 2 - len(part))
    if side is not None:
        room = min(room, 2 * side)
    left = min(len(before), max(room // 2, room - len(after)))
    right = min(len(after), room - left)
    cls, sep = parts[index].input_ids[0], parts[index].input_ids[-1]
    return [cls, *before[len(before) - left :], *part, *after[:right], sep]


# Padding tokens a batch may gain from one more member before a new batch is cheaper: measured
# on 2 CPU cores with the int8 model and its passes side by side (bench/batching.py), best for
# both the API's batches of 16 and a scan's chunks of 2,048.
PADDING_TOLERANCE = 8


def length_bucketed_batches(
    lengths: Sequence[int],
    batch_size: int,
    max_tokens: int | None = None,
    padding_tolerance: int = PADDING_TOLERANCE,
) -> list[list[int]]:
    """Group indices into batches of similar length, so padding wastes little compute.

    A batch holds at most ``batch_size`` sequences and, when ``max_tokens`` is given, at most
    that many tokens once padded (so short texts go in large batches and long ones in small).
    A new batch also starts when taking the next (longer) sequence would add more than
    ``padding_tolerance`` padding tokens to the batch: a padded token costs as much as a real
    one, and another forward pass costs less than a few of them.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:  # ascending, so the newest member is the longest
        length = lengths[index]
        full = bool(current) and (
            len(current) >= batch_size
            or (max_tokens is not None and (len(current) + 1) * length > max_tokens)
            or len(current) * (length - lengths[current[-1]]) > padding_tolerance
        )
        if full:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token id lists into ``input_ids`` and ``attention_mask`` int64 arrays."""
    width = max(len(s) for s in sequences)
    input_ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        input_ids[row, : len(seq)] = seq
        attention_mask[row, : len(seq)] = 1
    return input_ids, attention_mask
