"""Spans that drive a flag, found by occlusion: remove words from the ORIGINAL text and re-score.

The search works on any backend that can score texts (it only calls a ``score_fn``):

1. **Occlude** each word (emoji, URL) on its own and measure how far the calibrated score falls.
   Messages with more words than ``max_units`` are occluded in short phrases first, and the words
   of the phrases that matter most are then occluded one by one.
2. **Grow** a set from the words with the largest drops, best first, and keep the smallest set whose
   removal brings the score below the threshold less a ``margin`` (the model's uncertainty band,
   so the counterfactual is clearly not flagged), or, failing that, the set that lowers it most.
   When that is not enough (several cues say the same thing), repeat 1-2 on the message with the
   set removed, up to ``rounds`` times.
3. **Report** the chosen words merged into contiguous spans, each with its own weight (the drop
   when it alone is removed), and ``score_without_spans``: the message scored with all of them
   removed.

Offsets are exact for any Unicode input because spans are never re-derived from model tokens:
candidates are regex matches on the original string, and perturbed texts are cut from it. For a
long message only its most severe window (``focus``) is searched; the counterfactual is still the
whole message re-scored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import regex

from flagger.results import Span

ScoreFn = Callable[[Sequence[str]], np.ndarray]
Range = tuple[int, int]

# Words (letters, digits and marks, with inner apostrophes, hyphens, dots: "don't", "w0men",
# "e-mail"), URLs, single characters of scripts written without spaces, and emoji as graphemes.
# Punctuation and whitespace are never candidates.
_CANDIDATE = regex.compile(
    r"""
    (?:https?://|www\.)\S+
    | [\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]\p{M}*
    | [\p{L}\p{N}\p{M}]+(?:['\u2019\-.@_][\p{L}\p{N}\p{M}]+)*
    | (?=[\p{So}\p{Sk}\p{Co}\p{Cn}\p{Cs}])\X
    """,
    regex.VERSION1 | regex.VERBOSE,
)
# A drop smaller than this is noise (and would vanish when scores are rounded to 6 places).
_EPSILON = 1e-5
# Request key for the focus text itself (pass 1) and for the whole message re-scored (pass 4).
_WHOLE = -1


@dataclass(frozen=True)
class SpanSearch:
    """Budget of the occlusion search."""

    max_units: int = 24  # occlusions per round; longer messages are cut into phrases
    refine: int = 2  # phrases whose words are then occluded one by one
    max_words: int = 4  # words a round may add to the set
    rounds: int = 2  # rounds of occlusion and growth for messages still above the target
    margin: float = 0.0  # aim below threshold - margin, so the counterfactual is clearly unflagged


@dataclass(frozen=True)
class Explanation:
    """Spans of one message and its score with all of them removed (``None`` without spans)."""

    spans: list[Span]
    score_without_spans: float | None


def candidate_tokens(text: str, start: int = 0, end: int | None = None) -> list[Range]:
    """Character ranges of the words, URLs and emoji of ``text[start:end]``."""
    return [m.span() for m in _CANDIDATE.finditer(text, start, len(text) if end is None else end)]


def remove_spans(text: str, spans: Sequence[Range]) -> str:
    """``text`` with the given character ranges deleted."""
    pieces, last = [], 0
    for start, end in sorted(spans):
        if start > last:
            pieces.append(text[last:start])
        last = max(last, end)
    pieces.append(text[last:])
    return "".join(pieces)


def keep_spans(text: str, spans: Sequence[Range]) -> str:
    """Only the given ranges of ``text``, in order, joined by spaces."""
    return " ".join(text[start:end] for start, end in sorted(spans))


def merge_tokens(tokens: Sequence[Range], chosen: Sequence[int]) -> list[Range]:
    """Merge chosen token indices into spans: neighbouring tokens become one span."""
    merged: list[list[int]] = []
    for index in sorted(set(chosen)):
        if merged and merged[-1][-1] == index - 1:
            merged[-1].append(index)
        else:
            merged.append([index])
    return [(tokens[run[0]][0], tokens[run[-1]][1]) for run in merged]


@dataclass
class _Message:
    """The state of the search for one message."""

    text: str
    score: float
    focus: Range
    tokens: list[Range]
    base: float = 0.0  # score of the focus text as it is
    removed: list[int] = field(default_factory=list)  # chosen token indices, in order found
    current: float = 0.0  # score of the focus text with ``removed`` taken out
    progressed: bool = True

    @property
    def whole(self) -> bool:
        return self.focus == (0, len(self.text))

    def without(self, token_indices: Sequence[int]) -> str:
        """The focus text with ``removed`` and the given tokens taken out (what is scored)."""
        start, end = self.focus
        ranges = [
            (self.tokens[i][0] - start, self.tokens[i][1] - start)
            for i in (*self.removed, *token_indices)
        ]
        return remove_spans(self.text[start:end], ranges)


class _Requests:
    """Collects texts to score from many messages, scores them in one call, hands results back."""

    def __init__(self, score_fn: ScoreFn) -> None:
        self.score_fn = score_fn
        self.texts: list[str] = []
        self.keys: list[tuple[int, int]] = []

    def add(self, owner: int, key: int, text: str) -> None:
        self.keys.append((owner, key))
        self.texts.append(text)

    def run(self) -> list[tuple[int, int, float]]:
        if not self.texts:
            return []
        scores = np.asarray(self.score_fn(self.texts), dtype=float)
        return sorted((o, k, float(s)) for (o, k), s in zip(self.keys, scores, strict=True))


def _units(tokens: Sequence[int], max_units: int) -> list[list[int]]:
    """Token indices grouped into at most ``max_units`` consecutive phrases."""
    size = max(1, math.ceil(len(tokens) / max_units))
    return [list(tokens[i : i + size]) for i in range(0, len(tokens), size)]


def _grow(
    messages: dict[int, _Message], score_fn: ScoreFn, threshold: float, search: SpanSearch
) -> None:
    """One round: occlude what is left of each message, and add the best words to its set."""
    units: dict[int, list[list[int]]] = {}
    requests = _Requests(score_fn)
    for i, m in messages.items():
        left = [t for t in range(len(m.tokens)) if t not in m.removed]
        units[i] = _units(left, search.max_units)
        for u, unit in enumerate(units[i]):
            requests.add(i, u, m.without(unit))
    drops: dict[int, dict[int, float]] = {i: {} for i in messages}
    unit_drops: dict[int, dict[int, float]] = {i: {} for i in messages}
    for i, u, value in requests.run():
        unit_drops[i][u] = messages[i].current - value
    # Phrases were occluded: occlude the words of the phrases that matter most one by one.
    requests = _Requests(score_fn)
    for i, m in messages.items():
        if all(len(unit) == 1 for unit in units[i]):
            drops[i] = {units[i][u][0]: d for u, d in unit_drops[i].items()}
            continue
        best = sorted(
            (u for u, d in unit_drops[i].items() if d > _EPSILON), key=lambda u: -unit_drops[i][u]
        )
        for u in best[: search.refine]:
            for token in units[i][u]:
                requests.add(i, token, m.without([token]))
    for i, token, value in requests.run():
        drops[i][token] = messages[i].current - value
    # Grow the set best word first; score the prefixes that are still needed.
    ranked = {
        i: sorted((t for t, d in drops[i].items() if d > _EPSILON), key=lambda t: -drops[i][t])[
            : search.max_words
        ]
        for i in messages
    }
    prefix_scores = {
        i: [m.current - drops[i][ranked[i][0]]] if ranked[i] else [] for i, m in messages.items()
    }
    requests = _Requests(score_fn)
    for i, m in messages.items():
        if prefix_scores[i] and prefix_scores[i][0] >= threshold:
            for k in range(2, len(ranked[i]) + 1):
                requests.add(i, k, m.without(ranked[i][:k]))
    for i, _, value in requests.run():
        prefix_scores[i].append(value)
    for i, m in messages.items():
        scores = prefix_scores[i]
        below = [k for k, score in enumerate(scores) if score < threshold]
        k = below[0] if below else int(np.argmin(scores)) if scores else -1
        m.progressed = k >= 0 and scores[k] < m.current - _EPSILON
        if m.progressed:
            m.removed.extend(ranked[i][: k + 1])
            m.current = scores[k]


def find_spans(
    score_fn: ScoreFn,
    texts: Sequence[str],
    scores: Sequence[float],
    threshold: float,
    *,
    focus: Sequence[Range] | None = None,
    search: SpanSearch | None = None,
) -> list[Explanation]:
    """Find the spans that drive each message's score, all messages batched together.

    Args:
        score_fn: calibrated scores for a list of texts (the model, whatever its backend).
        texts: the original messages.
        scores: their calibrated scores, as ``score_fn`` gives them.
        threshold: the search looks for the smallest set of spans that brings a score below it
            (less ``search.margin``).
        focus: per message, the character range to search (its most severe window); whole text
            when ``None``.
        search: the search budget.

    Returns:
        One ``Explanation`` per message; ``spans`` is empty when no removal lowers the score.
    """
    search = search or SpanSearch()
    threshold = max(0.0, threshold - search.margin)
    ranges = focus or [(0, len(t)) for t in texts]
    messages = [
        _Message(text=t, score=float(s), focus=f, tokens=candidate_tokens(t, *f))
        for t, s, f in zip(texts, scores, ranges, strict=True)
    ]
    requests = _Requests(score_fn)
    for i, m in enumerate(messages):
        m.base = m.current = m.score
        if not m.whole:  # a window was searched: its own score is the reference
            requests.add(i, _WHOLE, m.without([]))
    for i, _, value in requests.run():
        messages[i].base = messages[i].current = value
    for _ in range(search.rounds):
        active = {
            i: m
            for i, m in enumerate(messages)
            if m.tokens and m.progressed and m.current >= threshold
        }
        if not active:
            break
        _grow(active, score_fn, threshold, search)
    return _report(messages, score_fn)


def _report(messages: Sequence[_Message], score_fn: ScoreFn) -> list[Explanation]:
    """Merge each set into spans, weigh each span, and re-score whole messages where needed."""
    chosen: dict[int, list[Range]] = {}
    without: dict[int, float] = {}
    requests = _Requests(score_fn)
    for i, m in enumerate(messages):
        if not m.removed:
            continue
        spans = merge_tokens(m.tokens, m.removed)
        chosen[i] = spans
        without[i] = m.current
        if len(spans) > 1:
            focus_text = m.text[m.focus[0] : m.focus[1]]
            for s, span in enumerate(spans):
                requests.add(i, s, remove_spans(focus_text, [_shift(span, m)]))
        if not m.whole:
            requests.add(i, _WHOLE, remove_spans(m.text, spans))
    weights: dict[tuple[int, int], float] = {}
    for i, key, value in requests.run():
        if key == _WHOLE:
            without[i] = value
        else:
            weights[i, key] = messages[i].base - value
    results = []
    for i, m in enumerate(messages):
        if i not in chosen or without[i] > m.score - _EPSILON:
            results.append(Explanation(spans=[], score_without_spans=None))
            continue
        found = [
            Span(
                start=start,
                end=end,
                text=m.text[start:end],
                weight=round(weights.get((i, s), m.base - m.current), 6),
            )
            for s, (start, end) in enumerate(chosen[i])
        ]
        results.append(Explanation(spans=found, score_without_spans=round(without[i], 6)))
    return results


def _shift(span: Range, message: _Message) -> Range:
    return span[0] - message.focus[0], span[1] - message.focus[0]
