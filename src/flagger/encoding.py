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
    """One model input: token ids (special tokens included) of a slice of one text."""

    text_index: int
    input_ids: list[int]


def split_windows(token_ids: Sequence[int], size: int, stride: int) -> list[list[int]]:
    """Cut a token sequence into windows of at most ``size`` tokens, ``stride`` apart.

    The last window is aligned to the end of the sequence so no token is left out and no window
    is a short tail. An empty sequence gives one empty window (the text is still scored).

    Raises:
        ValueError: if ``size`` or ``stride`` is not positive or ``stride > size``.
    """
    if size <= 0 or stride <= 0 or stride > size:
        raise ValueError(f"need 0 < stride <= size, found size={size}, stride={stride}")
    ids = list(token_ids)
    if len(ids) <= size:
        return [ids]
    starts = [*range(0, len(ids) - size, stride), len(ids) - size]
    return [ids[start : start + size] for start in starts]


def encode_windows(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int, stride: int
) -> list[Window]:
    """Tokenise texts and split each into windows of ``max_length`` tokens with special tokens."""
    body = max_length - 2  # room for [CLS] and [SEP]
    encoded = tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    return [
        Window(text_index=i, input_ids=[cls_id, *piece, sep_id])
        for i, ids in enumerate(encoded)
        for piece in split_windows(ids, body, min(stride, body))
    ]


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
