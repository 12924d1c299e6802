"""The length-aware verdict: long messages cut into parts a reader recognises, scored for length."""

from pathlib import Path

import numpy as np
import pytest

from flagger import Flagger
from flagger.encoding import MIN_PART_TOKENS, Window, context_window, part_bounds
from flagger.length import LengthRule


def offsets_of(text: str) -> list[tuple[int, int]]:
    """Whitespace tokens, and full stops as tokens of their own (as a BERT tokenizer makes them)."""
    found, i = [], 0
    for word in text.replace(".", " . ").split():
        start = text.index(word, i)
        found.append((start, start + len(word)))
        i = start + len(word)
    return found


def test_a_text_that_fits_is_one_part() -> None:
    text = "one two three."
    assert part_bounds(text, offsets_of(text), 10) == [(0, 4)]


def test_parts_end_at_paragraphs_and_sentences_without_overlap() -> None:
    first = " ".join(f"a{i}" for i in range(MIN_PART_TOKENS)) + "."
    second = (
        " ".join(f"b{i}" for i in range(MIN_PART_TOKENS))
        + ". "
        + " ".join(f"c{i}" for i in range(MIN_PART_TOKENS))
        + "."
    )
    text = f"{first}\n\n{second}"
    offsets = offsets_of(text)
    bounds = part_bounds(text, offsets, 2 * MIN_PART_TOKENS)
    pieces = [text[offsets[s][0] : offsets[e - 1][1]] for s, e in bounds]
    assert pieces == [first, second[: second.index(" c0")], second[second.index("c0") :]]
    assert [b[0] for b in bounds[1:]] == [b[1] for b in bounds[:-1]]  # no overlap, no gap


def test_a_short_paragraph_joins_the_one_before() -> None:
    body = " ".join(f"w{i}" for i in range(20)) + "."
    text = f"{body}\n\nThanks,\nSam\n\n{body}"
    offsets = offsets_of(text)
    bounds = part_bounds(text, offsets, 30)
    pieces = [text[offsets[s][0] : offsets[e - 1][1]] for s, e in bounds]
    assert pieces[0].endswith("Thanks,\nSam") and len(pieces) == 2


def test_the_length_rule_lowers_only_long_messages() -> None:
    rule = LengthRule(penalty=1.0, reference_tokens=100)
    adjusted = rule.adjust(np.array([2.0, 2.0, 2.0]), np.array([50, 100, 400]))
    assert adjusted == pytest.approx([2.0, 2.0, 2.0 - np.log(4)])
    assert LengthRule().adjust(np.array([1.5]), np.array([10_000]))[0] == 1.5


def test_results_carry_the_deciding_part(tiny_model: Path) -> None:
    flagger = Flagger.load(tiny_model, num_threads=1)
    info = flagger.info.model_copy(update={"length": LengthRule(split="paragraphs")})
    parted = flagger.with_info(info)
    text = "the rota is out today.\n\n" * 6 + "women are weak and stupid, all of them."
    [result] = parted.score([text], threshold=0.0, explain=False)
    assert result.windows > 1 and result.part is not None
    assert 0 <= result.part.start < result.part.end <= len(text)
    [short] = parted.score(["women are weak"], threshold=0.0, explain=False)
    assert short.part is not None and (short.part.start, short.part.end) == (0, 14)
    # The penalty lowers the long message's score and leaves the short one's alone.
    penalised = flagger.with_info(
        info.model_copy(
            update={"length": LengthRule(split="paragraphs", penalty=1.0, reference_tokens=8)}
        )
    )
    [long_after, short_after] = penalised.score([text, "women are weak"], explain=False)
    assert long_after.score < result.score and short_after.score == short.score
    # A model without the rule scores as before: overlapping windows, no length penalty.
    [old] = flagger.score([text], threshold=0.0, explain=False)
    assert old.windows >= result.windows


def parts_of(*lengths: int) -> list[Window]:
    """Parts of one text with token ids numbered through it, each in [CLS] (101) ... [SEP] (102)."""
    parts, first = [], 1000
    for length in lengths:
        parts.append(Window(text_index=0, input_ids=[101, *range(first, first + length), 102]))
        first += length
    return parts


def test_a_part_in_context_is_centred_on_it_and_fills_one_window() -> None:
    parts = parts_of(20, 6, 20)
    window = context_window(parts, 1, max_length=16)
    assert window[0] == 101 and window[-1] == 102 and len(window) == 16
    middle = parts[1].input_ids[1:-1]
    inner = window[1:-1]
    at = inner.index(middle[0])
    assert inner[at : at + len(middle)] == middle
    assert at == 4 and len(inner) - at - len(middle) == 4  # as much before as after
    assert inner == list(range(middle[0] - 4, middle[-1] + 5))  # contiguous text


def test_context_is_taken_from_one_side_when_the_other_has_none() -> None:
    parts = parts_of(6, 20)
    assert context_window(parts, 0, max_length=16)[1:-1] == list(range(1000, 1014))
    assert context_window(parts, 1, max_length=64)[1:-1] == list(range(1000, 1026))
    assert context_window(parts_of(20, 6, 20), 1, max_length=64, side=2)[1:-1] == list(
        range(1018, 1028)
    )  # two tokens each side of the six
    whole = parts_of(30)
    assert context_window(whole, 0, max_length=16) == whole[0].input_ids  # no room: as it is


def test_context_weight_needs_paragraph_parts() -> None:
    with pytest.raises(ValueError, match="paragraphs"):
        LengthRule(context_weight=0.5)
    rule = LengthRule(split="paragraphs", context_weight=0.25)
    adjusted = rule.adjust(np.array([2.0, 2.0]), np.array([10, 10]), np.array([-2.0, 2.0]))
    assert adjusted == pytest.approx([1.0, 2.0])


def test_the_deciding_part_is_read_with_its_neighbours(tiny_model: Path) -> None:
    flagger = Flagger.load(tiny_model, num_threads=1)
    info = flagger.info.model_copy(update={"length": LengthRule(split="paragraphs")})
    alone = flagger.with_info(info)
    text = "the rota is out today.\n\n" * 6 + "women are weak and stupid, all of them."
    short = "women are weak"
    plain = alone.probabilities([text, short])
    assert plain.context_logit == pytest.approx(plain.sexist_logit)  # no context read
    rule = LengthRule(split="paragraphs", context_weight=0.5)
    read = flagger.with_info(info.model_copy(update={"length": rule})).probabilities([text, short])
    assert read.sexist_logit == pytest.approx(plain.sexist_logit)
    assert read.context_logit[0] != pytest.approx(read.sexist_logit[0])  # its neighbours count
    assert read.context_logit[1] == pytest.approx(read.sexist_logit[1])  # one part: as before
    assert read.sexist[1] == pytest.approx(plain.sexist[1])
    blended = info.calibration.probability(0.5 * read.sexist_logit[0] + 0.5 * read.context_logit[0])
    assert read.sexist[0] == pytest.approx(blended)
    assert read.focus[0] == plain.focus[0]  # the deciding part is the same
