"""Evidence and targets: exact offsets for any Unicode input, never overlapping, never empty for a
flag, and honest counterfactual scores."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flagger import Flagger
from flagger.explain import (
    Explanation,
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


def explain(text: str, threshold: float = 0.3, **search: Any) -> Explanation:
    search.setdefault("phrase_words", 0)  # the core search; widening is tested on its own
    [found] = find_spans(
        cue_score, [text], cue_score([text]).tolist(), threshold, search=SpanSearch(**search)
    )
    return found


def explain_one(text: str, threshold: float = 0.3, **search: Any) -> tuple:
    found = explain(text, threshold, **search)
    return found.spans, found.score_without_spans


def check_spans(
    text: str, score: float, spans: list, without: float | None, targets: Sequence = ()
) -> None:
    ends = -1
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert text[span.start : span.end] == span.text
        assert span.start >= ends  # sorted, not overlapping
        ends = span.end
    for target in targets:
        start, end = (target.start, target.end) if hasattr(target, "start") else target
        assert 0 <= start < end <= len(text)
        assert all(end <= s.start or s.end <= start for s in spans), "evidence overlaps a target"
    assert (without is None) == (not spans)


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
    [found] = find_spans(
        cue_score,
        [text],
        cue_score([text]).tolist(),
        0.35,
        focus=[focus],
        search=SpanSearch(phrase_words=0),
    )
    assert [s.text for s in found.spans] == ["kitchen"]
    # The counterfactual is the WHOLE message without the span: 'stupid' still counts.
    assert found.score_without_spans == pytest.approx(0.4)


def test_the_best_word_when_nothing_lowers_the_score() -> None:
    found = explain("a perfectly neutral note", threshold=0.05)
    assert len(found.spans) == 1 and not found.complete
    assert found.score_without_spans == pytest.approx(0.1)
    # The search as it was before targets reported nothing in that case.
    spans, without = explain_one("a perfectly neutral note", threshold=0.05, avoid_targets=False)
    assert spans == [] and without is None


def target_score(texts: Sequence[str]) -> np.ndarray:
    """A stand-in model that leans on the target word most, as real ones do."""
    return np.array(
        [min(1.0, 0.05 + 0.5 * ("Women" in t) + 0.3 * ("emotional" in t)) for t in texts]
    )


def test_targets_are_never_evidence() -> None:
    text = "Women are too emotional to make decisions"
    [before] = find_spans(
        target_score, [text], [0.85], 0.5, search=SpanSearch(avoid_targets=False, phrase_words=0)
    )
    assert [s.text for s in before.spans] == ["Women"]
    [found] = find_spans(target_score, [text], [0.85], 0.6, search=SpanSearch(phrase_words=0))
    assert [s.text for s in found.spans] == ["emotional"]
    assert [text[s:e] for s, e in found.targets] == ["Women"]
    assert found.complete and found.score_without_spans == pytest.approx(0.55)


def test_evidence_is_incomplete_when_only_the_target_carries_the_score() -> None:
    text = "Women, honestly, what can you say"
    [found] = find_spans(target_score, [text], [0.55], 0.5, search=SpanSearch(phrase_words=0))
    assert found.spans and not found.complete
    assert all(s.text != "Women" for s in found.spans)


def test_function_words_are_not_evidence_on_their_own() -> None:
    def leans_on_the(texts: Sequence[str]) -> np.ndarray:
        return np.array([0.2 + 0.4 * (" the " in t) + 0.3 * ("kitchen" in t) for t in texts])

    text = "back in the kitchen now"
    [found] = find_spans(leans_on_the, [text], [0.9], 0.5, search=SpanSearch(phrase_words=0))
    assert [s.text for s in found.spans] == ["kitchen"]


def test_evidence_is_widened_into_a_phrase_within_its_clause() -> None:
    text = "Honestly, she is far too emotional to make decisions. Anyway."
    found = explain(text.replace("emotional", "stupid"), threshold=0.3, phrase_words=6)
    [span] = found.spans
    # Widened right then left to six words ("is far too stupid to make"), never across the
    # comma or the full stop, never over "she"; the function word left at the edge is dropped.
    assert span.text == "far too stupid to make"
    assert [text[s:e] for s, e in found.targets] == ["she"]
    assert found.score_without_spans == pytest.approx(0.1)


def test_incomplete_evidence_is_widened_further_when_that_lowers_the_score_as_much() -> None:
    text = "Women, we all know how it really goes with decisions at work"
    search = SpanSearch(phrase_words=2, incomplete_phrase_words=8)
    [found] = find_spans(target_score, [text], [0.55], 0.5, search=search)
    assert not found.complete
    narrower = SpanSearch(phrase_words=2, incomplete_phrase_words=0)
    [narrow] = find_spans(target_score, [text], [0.55], 0.5, search=narrower)
    words = sum(len(s.text.split()) for s in found.spans)
    assert words > sum(len(s.text.split()) for s in narrow.spans) and words <= 8
    assert found.score_without_spans == pytest.approx(narrow.score_without_spans)
    assert all("Women" not in s.text for s in found.spans)


def test_a_message_of_target_words_only_has_them_as_evidence() -> None:
    found = explain("women", threshold=0.0)
    assert [s.text for s in found.spans] == ["women"] and found.targets == []


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
    found = explain(text, threshold=0.3, phrase_words=6)
    check_spans(text, score, found.spans, found.score_without_spans, found.targets)
    if score >= 0.3:
        assert found.spans, "a text with a cue word always gets evidence"


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
    assert result.flagged and result.spans and result.targets is not None
    check_spans(
        text + " women are stupid",
        result.score,
        result.spans,
        result.score_without_spans,
        result.targets,
    )
    for target in result.targets:
        assert (text + " women are stupid")[target.start : target.end] == target.text


def test_windowed_message_spans_point_into_the_original(flagger: Flagger) -> None:
    text = "thanks for the report, " * 12 + "wömen are stupid 👩 bitches"
    [result] = flagger.score([text], threshold=0.0)
    assert result.windows > 1 and result.spans
    check_spans(text, result.score, result.spans, result.score_without_spans, result.targets or [])
