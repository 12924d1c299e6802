"""Turn texts into model inputs: overlapping windows over long texts and length-bucketed batches.

Long messages are never silently truncated: a text longer than the model window is split into
overlapping windows, each scored on its own, and the caller keeps the most severe window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True)
class Window:
    """One model input: token ids (special tokens included) of a slice of one text.

    ``start`` and ``end`` are the character offsets of that slice in the text.
    """

    text_index: int
    input_ids: list[int]
    start: int = 0
    end: int = 0


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


def encode_windows(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int, stride: int
) -> list[Window]:
    """Tokenise texts and split each into windows of ``max_length`` tokens with special tokens."""
    body = max_length - 2  # room for [CLS] and [SEP]
    encoded = tokenizer(
        list(texts), add_special_tokens=False, return_offsets_mapping=True, verbose=False
    )
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    windows = []
    for i, (ids, offsets) in enumerate(
        zip(encoded["input_ids"], encoded["offset_mapping"], strict=True)
    ):
        for start in window_starts(len(ids), body, min(stride, body)):
            piece = ids[start : start + body]
            span = offsets[start : start + body]
            windows.append(
                Window(
                    text_index=i,
                    input_ids=[cls_id, *piece, sep_id],
                    start=span[0][0] if span else 0,
                    end=span[-1][1] if span else len(texts[i]),
                )
            )
    return windows


def length_bucketed_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Group indices into batches of similar length, so padding wastes little compute."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token id lists into ``input_ids`` and ``attention_mask`` tensors."""
    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        attention_mask[row, : len(seq)] = 1
    return input_ids, attention_mask
