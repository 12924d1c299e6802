"""Windowing of long texts and length-bucketed batching."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagger.encoding import (
    encode_windows,
    length_bucketed_batches,
    load_tokenizer,
    pad_batch,
    special_tokens,
    split_windows,
)


@given(st.lists(st.integers(0, 100), max_size=300), st.integers(1, 40), st.data())
def test_windows_cover_every_token_in_order(ids: list[int], size: int, data: st.DataObject) -> None:
    stride = data.draw(st.integers(1, size))
    windows = split_windows(ids, size, stride)
    assert all(len(w) <= size for w in windows)
    if len(ids) > size:
        assert all(len(w) == size for w in windows)
        assert windows[0] == ids[:size] and windows[-1] == ids[-size:]
    # Every position is in some window: windows start at multiples of stride, plus the tail.
    covered = set()
    starts = [*range(0, max(len(ids) - size, 0), stride), max(len(ids) - size, 0)]
    for start, window in zip(starts, windows, strict=True):
        assert window == ids[start : start + size]
        covered.update(range(start, start + len(window)))
    assert covered == set(range(len(ids)))


def test_split_windows_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):
        split_windows([1, 2, 3], 2, 3)


def test_encode_windows_splits_long_texts(tiny_base: Path) -> None:
    tokenizer = load_tokenizer(tiny_base)
    special = special_tokens(tokenizer)
    windows = encode_windows(tokenizer, ["women are weak", "the team meets " * 20], 12, 5)
    first = [w for w in windows if w.text_index == 0]
    second = [w for w in windows if w.text_index == 1]
    assert len(first) == 1 and len(second) > 1
    assert all(len(w.input_ids) <= 12 for w in windows)
    assert all(w.input_ids[0] == special.cls and w.input_ids[-1] == special.sep for w in windows)


def test_length_bucketed_batches_group_similar_lengths() -> None:
    lengths = [5, 50, 6, 49, 7, 48]
    batches = length_bucketed_batches(lengths, 3)
    assert sorted(i for b in batches for i in b) == list(range(6))
    assert [sorted(lengths[i] for i in b) for b in batches] == [[5, 6, 7], [48, 49, 50]]


def test_pad_batch() -> None:
    ids, mask = pad_batch([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]


@given(st.lists(st.integers(1, 128), max_size=200), st.integers(1, 64), st.integers(128, 4096))
def test_token_budget_bounds_every_batch(lengths: list[int], size: int, budget: int) -> None:
    batches = length_bucketed_batches(lengths, size, budget)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert 1 <= len(batch) <= size
        # A single sequence may exceed the budget on its own; a larger batch never does.
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= budget


@given(st.lists(st.integers(1, 128), max_size=200), st.integers(0, 64))
def test_padding_tolerance_bounds_padding_growth(lengths: list[int], tolerance: int) -> None:
    batches = length_bucketed_batches(lengths, 256, None, padding_tolerance=tolerance)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        members = sorted(lengths[i] for i in batch)
        # each member raised the batch's padding by at most the tolerance when it joined
        assert all(k * (members[k] - members[k - 1]) <= tolerance for k in range(1, len(members)))


def test_padding_tolerance_splits_a_mixed_batch() -> None:
    lengths = [10, 10, 10, 40]
    assert length_bucketed_batches(lengths, 8, padding_tolerance=16) == [[0, 1, 2], [3]]
    assert length_bucketed_batches(lengths, 8, padding_tolerance=1000) == [[0, 1, 2, 3]]
