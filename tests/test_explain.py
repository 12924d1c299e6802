"""Span explanations: exact offsets for any Unicode input, and honest counterfactual scores."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flagger import Flagger
from flagger.explain import (
    SpanSearch,
    candidate_tokens,
    find_spans,
    keep_spans,
    merge_tokens,
    remove_spans,
)

CUES = ("stupid", "bitch", "kitchen")


def cue_score(texts: Sequence[str]) -> np.ndarray:
    """A stand-in model: each cue word adds to the score, everything else is neutral."""
    return np.array([min(1.0, 0.1 + 0.3 * sum(t.count(c) for c in CUES)) for t in texts])


def explain_one(text: str, threshold: float = 0.3, **search: int) -> tuple:
    [found] = find_spans(
        cue_score, [text], cue_score([text]).tolist(), threshold, search=SpanSearch(**search)
    )
    return found.spans, found.score_without_spans


def check_spans(text: str, score: float, spans: list, without: float | None) -> None:
    ends = -1
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert text[span.start : span.end] == span.text
        assert span.start >= ends  # sorted, not overlapping
        ends = span.end
    assert (without is None) == (not spans)
    if spans:
        assert without is not None and without < score


def test_the_cue_word_is_the_span() -> None:
    text = "Honestly, she is stupid and everyone knows it."
    spans, without = explain_one(text)
    assert [s.text for s in spans] == ["stupid"]
    assert spans[0].start == text.index("stupid") and without == pytest.approx(0.1)
    assert spans[0].weight == pytest.approx(0.3)


def test_neighbouring_cues_merge_into_a_phrase() -> None:
    spans, without = explain_one("what a stupid bitch, honestly", threshold=0.2)
    assert [s.text for s in spans] == ["stupid bitch"] and without == pytest.approx(0.1)


def test_separate_cues_are_separate_spans_with_their_own_weights() -> None:
    spans, _ = explain_one("stupid ideas from a team, back to the kitchen", threshold=0.2)
    assert [s.text for s in spans] == ["stupid", "kitchen"]
    assert all(s.weight == pytest.approx(0.3) for s in spans)


def test_the_smallest_set_that_unflags_is_kept() -> None:
    # Two cues give 0.7; removing one gives 0.4, still >= 0.35, so both are needed.
    spans, without = explain_one("stupid and more stupid", threshold=0.35)
    assert len(spans) == 2 and without == pytest.approx(0.1)
    spans, _ = explain_one("stupid and more stupid", threshold=0.5)
    assert len(spans) == 1


def test_long_messages_are_searched_in_phrases_then_words() -> None:
    filler = " ".join(f"word{i}" for i in range(200))
    text = f"{filler} she is stupid {filler}"
    spans, without = explain_one(text, max_units=16, refine=2)
    assert [s.text for s in spans] == ["stupid"] and without == pytest.approx(0.1)


def test_focus_limits_the_search_but_the_whole_message_is_rescored() -> None:
    text = "stupid at the start. " + "neutral words here. " * 10 + "kitchen at the end"
    focus = (text.index("kitchen") - 5, len(text))
    [found] = find_spans(cue_score, [text], cue_score([text]).tolist(), 0.35, focus=[focus])
    assert [s.text for s in found.spans] == ["kitchen"]
    # The counterfactual is the WHOLE message without the span: 'stupid' still counts.
    assert found.score_without_spans == pytest.approx(0.4)


def test_no_spans_when_nothing_lowers_the_score() -> None:
    spans, without = explain_one("a perfectly neutral note", threshold=0.05)
    assert spans == [] and without is None


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("w0men are st00pid!!", ["w0men", "are", "st00pid"]),
        ("don't e-mail me", ["don't", "e-mail", "me"]),
        ("see https://example.org/a?b=c now", ["see", "https://example.org/a?b=c", "now"]),
        ("女性は弱い", ["女", "性", "は", "弱", "い"]),
        ("cafe\u0301 👩‍💼 ok", ["cafe\u0301", "👩‍💼", "ok"]),
        ("هي غبية", ["هي", "غبية"]),
    ],
)
def test_candidate_tokens(text: str, tokens: list[str]) -> None:
    assert [text[s:e] for s, e in candidate_tokens(text)] == tokens


def test_remove_keep_and_merge() -> None:
    text = "ab cd ef gh"
    tokens = candidate_tokens(text)
    assert remove_spans(text, [(3, 5), (0, 2)]) == "  ef gh"
    assert keep_spans(text, [(6, 8), (0, 2)]) == "ab ef"
    assert merge_tokens(tokens, [2, 0, 1]) == [(0, 8)]
    assert merge_tokens(tokens, [0, 3]) == [(0, 2), (9, 11)]


unicode_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=0, max_size=60)


@given(before=unicode_text, after=unicode_text, cue=st.sampled_from(CUES))
@settings(max_examples=300, deadline=None)
def test_offsets_are_exact_for_any_unicode(before: str, after: str, cue: str) -> None:
    text = f"{before} {cue} {after}"
    score = float(cue_score([text])[0])
    spans, without = explain_one(text, threshold=0.3)
    check_spans(text, score, spans, without)
    if score >= 0.3:
        assert spans, "a text with a cue word always gets an explanation"


@pytest.fixture(scope="module")
def flagger(tiny_model: Path) -> Flagger:
    return Flagger.load(tiny_model, num_threads=1)


@given(text=unicode_text)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_real_model_spans_slice_the_original_text(flagger: Flagger, text: str) -> None:
    # Threshold 0 flags everything, so every text is explained by the real (tiny) model.
    [result] = flagger.score([text + " women are stupid"], threshold=0.0)
    assert result.flagged and result.spans is not None
    check_spans(text + " women are stupid", result.score, result.spans, result.score_without_spans)


def test_windowed_message_spans_point_into_the_original(flagger: Flagger) -> None:
    text = "thanks for the report, " * 12 + "wömen are stupid 👩 bitches"
    [result] = flagger.score([text], threshold=0.0)
    assert result.windows > 1 and result.spans is not None
    check_spans(text, result.score, result.spans, result.score_without_spans)
