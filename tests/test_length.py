"""The length-aware verdict: long messages cut into parts a reader recognises, scored for length."""

from pathlib import Path

import numpy as np
import pytest

from flagger import Flagger
from flagger.encoding import MIN_PART_TOKENS, part_bounds
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
