"""Evidence behind a flag, found by occlusion: remove words from the ORIGINAL text and re-score.

The search works on any backend that can score texts (it only calls a ``score_fn``):

0. **Targets first**: the neutral mentions of who the message is about ("Women", "she", "Sarah";
   see ``flagger.targets``) are found and set aside. They are reported as ``targets`` and are
   never evidence: removing "Women" does lower the score, but it tells a reviewer nothing about
   what was said.
1. **Occlude** each other word (emoji, URL) on its own and measure how far the calibrated score
   falls. A word is occluded by ``SpanSearch.replacement`` (deleted when it is empty).
   Messages with more words than ``max_units`` are occluded in short phrases first, and the words
   of the phrases that matter most are then occluded one by one.
2. **Grow** a set from the words with the largest drops, best first, and keep the smallest set whose
   removal brings the score below the threshold less a ``margin`` (the model's uncertainty band,
   so the counterfactual is clearly not flagged), or, failing that, the set that lowers it most.
   When that is not enough (several cues say the same thing), repeat 1-2 on the message with the
   set removed, up to ``rounds`` times. Where no set within the budget gets there, the evidence is
   the best the search found (never nothing) and ``complete`` says so.
3. **Widen** the chosen words into the phrases around them (``phrase_words`` in all, within a
   clause, never taking in a target, function words at the edges dropped): people read and
   defend phrases ("too emotional to make decisions"), not scattered words, and measured against
   people's rationales (``training/rationales/``) the phrases agree with them better. Where the
   evidence is not complete, it is widened further (``incomplete_phrase_words``) when deleting
   the wider phrases lowers the score at least as much.
4. **Report** the evidence as contiguous spans, each with its own weight (the drop when it alone
   is deleted), and ``score_without_spans``: the message scored with all of it deleted, so the
   counterfactual is always that of what is shown.

Offsets are exact for any Unicode input because spans are never re-derived from model tokens:
candidates are regex matches on the original string, and perturbed texts are cut from it. For a
long message only its most severe window (``focus``) is searched; the counterfactual is still the
whole message re-scored.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import regex

from flagger.results import Span
from flagger.targets import is_function_word, target_tokens

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
# Words that are never evidence: URLs and e-mail addresses (boilerplate, not what was said).
_INERT = regex.compile(r"(?:https?://|www\.)\S+|[^\s@]+@[^\s@]+\.\w+")
# Function words between two evidence words that are joined into one phrase, at most.
_BRIDGE = 2
_CLAUSE_END = regex.compile(r"[.!?;:,()\[\]\"\n]")
# A drop smaller than this is noise (and would vanish when scores are rounded to 6 places).
_EPSILON = 1e-5
# Request key for the focus text itself (pass 1) and for the whole message re-scored (pass 4).
_WHOLE = -1
_CORE = -2  # request key: the whole message without the words found, before widening


@dataclass(frozen=True)
class SpanSearch:
    """Budget of the occlusion search."""

    max_units: int = 24  # occlusions per round; longer messages are cut into phrases
    refine: int = 2  # phrases whose words are then occluded one by one
    max_words: int = 6  # words a round may add to the set
    rounds: int = 3  # rounds of occlusion and growth for messages still above the target
    margin: float = 0.0  # aim below threshold - margin, so the counterfactual is clearly unflagged
    avoid_targets: bool = True  # never offer neutral target mentions as evidence
    replacement: str = ""  # what stands in for an occluded word while searching ("": delete it)
    phrase_words: int = 6  # widen the words found into phrases of up to this many words in all
    # ... and up to this many where no set within the budget gets below the target: the model's
    # reasons are spread over more of the message, so more of it is shown
    incomplete_phrase_words: int = 8

    def before_targets(self) -> SpanSearch:
        """The search as it was before targets existed (issue 16's baseline): any word, targets
        included, may be evidence; words are deleted; no widening; its budget of 4 words a round
        and 2 rounds."""
        return dataclasses.replace(
            self, avoid_targets=False, replacement="", phrase_words=0, max_words=4, rounds=2
        )


@dataclass(frozen=True)
class Explanation:
    """Evidence and targets of one message, and its score with the evidence deleted.

    ``complete`` is whether deleting the evidence brings the score below the search's target
    (threshold less margin); ``score_without_spans`` is ``None`` only when there is no evidence
    (a message with no words to search).
    """

    spans: list[Span]
    score_without_spans: float | None
    targets: list[Range] = field(default_factory=list)
    complete: bool = False


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


def replace_spans(text: str, spans: Sequence[Range], replacement: str) -> str:
    """``text`` with each range replaced by ``replacement`` (deleted when it is empty)."""
    if not replacement:
        return remove_spans(text, spans)
    pieces, last = [], 0
    for start, end in sorted(spans):
        if start >= last:
            pieces.append(text[last:start])
            pieces.append(replacement)
        last = max(last, end)
    pieces.append(text[last:])
    return "".join(pieces)


def keep_spans(text: str, spans: Sequence[Range]) -> str:
    """Only the given ranges of ``text``, in order, joined by spaces."""
    return " ".join(text[start:end] for start, end in sorted(spans))


def _runs(indices: Iterable[int]) -> list[list[int]]:
    """Token indices grouped into runs of neighbours, in order."""
    runs: list[list[int]] = []
    for index in sorted(set(indices)):
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def merge_tokens(tokens: Sequence[Range], chosen: Sequence[int]) -> list[Range]:
    """Merge chosen token indices into spans: neighbouring tokens become one span."""
    return [(tokens[run[0]][0], tokens[run[-1]][1]) for run in _runs(chosen)]


@dataclass
class _Message:
    """The state of the search for one message."""

    text: str
    score: float
    focus: Range
    tokens: list[Range]
    targets: frozenset[int] = frozenset()  # token indices of neutral target mentions
    function_words: frozenset[int] = frozenset()  # token indices of function words
    inert: frozenset[int] = frozenset()  # URLs and e-mail addresses: never evidence
    replacement: str = ""
    base: float = 0.0  # score of the focus text as it is
    removed: list[int] = field(default_factory=list)  # chosen token indices, in order found
    current: float = 0.0  # score of the focus text with ``removed`` taken out
    progressed: bool = True
    fallback: int | None = None  # the best single word seen, for when no set lowers the score

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
        return replace_spans(self.text[start:end], ranges, self.replacement)

    def candidates(self) -> list[int]:
        """Token indices still open to the search: not chosen, not targets, not function words."""
        return [
            t
            for t in range(len(self.tokens))
            if t not in self.removed
            and t not in self.targets
            and t not in self.function_words
            and t not in self.inert
        ]


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
        units[i] = _units(m.candidates(), search.max_units)
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
    for i, m in messages.items():
        if m.fallback is None and drops[i]:
            m.fallback = max(drops[i], key=lambda t: drops[i][t])
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
        One ``Explanation`` per message. With ``search.avoid_targets`` every message with words
        has evidence; otherwise (the search before targets existed) ``spans`` is empty when no
        removal lowers the score.
    """
    search = search or SpanSearch()
    threshold = max(0.0, threshold - search.margin)
    ranges = focus or [(0, len(t)) for t in texts]
    messages = []
    for text, score, (start, end) in zip(texts, scores, ranges, strict=True):
        tokens = candidate_tokens(text, start, end)
        message = _Message(text, float(score), (start, end), tokens, replacement=search.replacement)
        if search.avoid_targets:
            message.targets = frozenset(target_tokens(text, tokens))
            words = [(i, text[s:e]) for i, (s, e) in enumerate(tokens) if i not in message.targets]
            message.function_words = frozenset(i for i, w in words if is_function_word(w))
            message.inert = frozenset(i for i, w in words if _INERT.fullmatch(w))
        messages.append(message)
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
            if m.candidates() and m.progressed and m.current >= threshold
        }
        if not active:
            break
        _grow(active, score_fn, threshold, search)
    return _report(messages, score_fn, threshold, search)


def _widen(message: _Message, chosen: Sequence[int], words: int) -> list[int]:
    """``chosen`` widened into the phrases around it, up to ``words`` words in all.

    Neighbours are added right then left of each chosen word, round by round, never across
    sentence or clause punctuation and never taking in a target; function words left at either
    edge of a phrase are then dropped ("a liability with" -> "liability").
    """
    tokens, taken = message.tokens, set(chosen)

    def joinable(a: int, b: int) -> bool:
        low, high = min(a, b), max(a, b)
        return (
            0 <= b < len(tokens)
            and b not in taken
            and b not in message.targets
            and b not in message.inert
            and not _CLAUSE_END.search(message.text[tokens[low][1] : tokens[high][0]])
        )

    grew = True
    while grew and len(taken) < words:
        grew = False
        for index in sorted(taken):
            for neighbour in (index + 1, index - 1):
                if len(taken) < words and joinable(index, neighbour):
                    taken.add(neighbour)
                    grew = True
    ordered = sorted(taken)
    for a, b in itertools.pairwise(ordered):  # "belong [in the] kitchen"
        gap = range(a + 1, b)
        if (
            0 < len(gap) <= _BRIDGE
            and all(t in message.function_words for t in gap)
            and not _CLAUSE_END.search(message.text[tokens[a][1] : tokens[b][0]])
        ):
            taken.update(gap)
    kept = []
    for run in _runs(taken):
        while len(run) > 1 and run[0] in message.function_words:
            run = run[1:]
        while len(run) > 1 and run[-1] in message.function_words:
            run = run[:-1]
        kept.extend(run)
    return kept


def _core_tokens(message: _Message, search: SpanSearch) -> list[int]:
    """The words the search found, or the best it saw, never none (with targets avoided)."""
    picked = list(message.removed)
    if not picked and search.avoid_targets:
        open_words = [
            t
            for t in range(len(message.tokens))
            if t not in message.targets and t not in message.inert
        ]
        candidates = message.candidates()
        if message.fallback is not None:
            picked = [message.fallback]
        elif candidates:
            picked = candidates[:1]
        elif open_words:
            picked = open_words[:1]
        else:  # the message is nothing but target words: they are all the evidence there is
            picked = sorted(message.targets)
    return picked


def _report(
    messages: Sequence[_Message], score_fn: ScoreFn, threshold: float, search: SpanSearch
) -> list[Explanation]:
    """Widen each set into phrases, weigh each span, and score each message without them.

    Widening must not cost the counterfactual: where the words found take the score below the
    target and their phrases do not (deleting a word can also raise a score), the words are
    reported as they were found.
    """
    core = {i: _core_tokens(m, search) for i, m in enumerate(messages)}
    widen = search.phrase_words and search.avoid_targets
    wide = {
        i: _widen(m, core[i], max(search.phrase_words, len(core[i]))) if widen else core[i]
        for i, m in enumerate(messages)
    }
    requests = _Requests(score_fn)
    for i, m in enumerate(messages):
        if wide[i]:
            requests.add(i, _WHOLE, remove_spans(m.text, merge_tokens(m.tokens, wide[i])))
        if wide[i] != core[i] and core[i]:
            requests.add(i, _CORE, remove_spans(m.text, merge_tokens(m.tokens, core[i])))
    found_scores: dict[tuple[int, int], float] = {(i, k): v for i, k, v in requests.run()}
    picks: dict[int, tuple[list[int], float]] = {}
    for i in range(len(messages)):
        if not wide[i]:
            continue
        picked, score = wide[i], found_scores[i, _WHOLE]
        core_score = found_scores.get((i, _CORE))
        if core_score is not None and core_score < threshold <= score:
            picked, score = core[i], core_score
        picks[i] = picked, score
    if widen and search.incomplete_phrase_words > search.phrase_words:
        picks = _widen_incomplete(messages, picks, score_fn, threshold, search)
    chosen = {i: merge_tokens(messages[i].tokens, picked) for i, (picked, _) in picks.items()}
    without = {i: score for i, (_, score) in picks.items()}
    requests = _Requests(score_fn)
    for i, spans in chosen.items():
        m = messages[i]
        if len(spans) > 1 or not m.whole:
            focus_text = m.text[m.focus[0] : m.focus[1]]
            for s, span in enumerate(spans):
                requests.add(i, s, remove_spans(focus_text, [_shift(span, m)]))
    weights = {(i, s): messages[i].base - value for i, s, value in requests.run()}
    results = []
    for i, m in enumerate(messages):
        evidence = chosen.get(i, [])
        covered = {
            t for t, (start, _) in enumerate(m.tokens) for s, e in evidence if s <= start < e
        }
        targets = merge_tokens(m.tokens, sorted(m.targets - covered))
        if not evidence or (not search.avoid_targets and without[i] > m.score - _EPSILON):
            results.append(Explanation(spans=[], score_without_spans=None, targets=targets))
            continue
        found = [
            Span(
                start=start,
                end=end,
                text=m.text[start:end],
                weight=round(weights.get((i, s), m.score - without[i]), 6),
            )
            for s, (start, end) in enumerate(evidence)
        ]
        results.append(
            Explanation(
                spans=found,
                score_without_spans=round(without[i], 6),
                targets=targets,
                complete=without[i] < threshold,
            )
        )
    return results


def _widen_incomplete(
    messages: Sequence[_Message],
    picks: dict[int, tuple[list[int], float]],
    score_fn: ScoreFn,
    threshold: float,
    search: SpanSearch,
) -> dict[int, tuple[list[int], float]]:
    """Where the evidence does not take the score below the target, widen it further
    (``search.incomplete_phrase_words``), keeping the wider phrases unless they lower it less."""
    requests = _Requests(score_fn)
    wider: dict[int, list[int]] = {}
    for i, (picked, score) in picks.items():
        if score < threshold:
            continue
        m = messages[i]
        widened = _widen(m, picked, max(search.incomplete_phrase_words, len(picked)))
        if len(widened) > len(picked):
            wider[i] = widened
            requests.add(i, _WHOLE, remove_spans(m.text, merge_tokens(m.tokens, widened)))
    result = dict(picks)
    for i, _, value in requests.run():
        if value <= picks[i][1] + _EPSILON:
            result[i] = wider[i], value
    return result


def _shift(span: Range, message: _Message) -> Range:
    return span[0] - message.focus[0], span[1] - message.focus[0]
