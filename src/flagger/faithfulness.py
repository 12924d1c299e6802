"""How good evidence spans are: faithful (ERASER) and plausible (against human rationales).

- **Comprehensiveness**: score(message) - score(message without its evidence). High means the
  evidence really carries the score.
- **Sufficiency**: score(message) - score(its evidence alone). Low means the evidence alone is
  enough.
- **Plausibility**: word-level F1 of the evidence against the words people marked
  (``flagger.rationales``).

Faithfulness is averaged over the flagged messages, next to a baseline of random spans drawn from
the words that are not target mentions, with as many spans and words as the evidence, so a reader
sees how much better than chance the evidence is without the baseline getting credit for "Women".
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np

from flagger.explain import (
    Explanation,
    Range,
    SpanSearch,
    candidate_tokens,
    find_spans,
    keep_spans,
    remove_spans,
)
from flagger.model import Flagger
from flagger.rationales import Rationale, token_f1
from flagger.targets import target_tokens


def span_words(text: str, span: Range) -> int:
    """Words (candidate tokens) in ``text[span]``."""
    return len(candidate_tokens(text, *span))


def random_spans(
    text: str, spans: Sequence[Range], rng: random.Random, *, avoid_targets: bool = True
) -> list[Range]:
    """As many random, non-overlapping spans as ``spans``, each with as many words.

    With ``avoid_targets`` the random words are drawn from the words that are not target mentions
    (as the evidence is); a span falls back to any words only when no such run is long enough.
    """
    tokens = candidate_tokens(text)
    targets = set(target_tokens(text, tokens)) if avoid_targets else set()
    lengths = sorted((span_words(text, s) for s in spans), reverse=True)
    taken: set[int] = set()
    chosen = []
    for length in lengths:
        starts = [
            i
            for i in range(len(tokens) - length + 1)
            if not taken.intersection(range(i, i + length))
        ]
        clean = [i for i in starts if not targets.intersection(range(i, i + length))]
        if not (clean or starts):
            continue
        start = rng.choice(clean or starts)
        taken.update(range(start, start + length))
        chosen.append((tokens[start][0], tokens[start + length - 1][1]))
    return chosen


def only_targets(text: str, spans: Sequence[Range]) -> bool:
    """Whether every word of ``spans`` is a target mention (evidence that shows nothing said)."""
    tokens = candidate_tokens(text)
    inside = [i for i, (s, _) in enumerate(tokens) if any(a <= s < b for a, b in spans)]
    return bool(inside) and set(inside) <= set(target_tokens(text, tokens))


def _explain(
    flagger: Flagger, texts: Sequence[str], threshold: float, search: SpanSearch
) -> tuple[list[int], np.ndarray, list[Explanation]]:
    """Flagged indices, their scores, and their explanations under ``search``."""
    probs = flagger.probabilities(texts)
    flagged = np.flatnonzero(probs.sexist >= threshold).tolist()
    explanations = find_spans(
        flagger.sexist_scores,
        [texts[i] for i in flagged],
        probs.sexist[flagged].tolist(),
        threshold,
        focus=[probs.focus[i] for i in flagged],
        search=search,
    )
    return flagged, probs.sexist[flagged], explanations


def faithfulness(
    flagger: Flagger,
    texts: Sequence[str],
    threshold: str | float | None = None,
    *,
    seed: int = 0,
    search: SpanSearch | None = None,
) -> dict[str, Any]:
    """Explain the flagged ``texts`` and measure the evidence against random non-target spans.

    Returns:
        Counts, comprehensiveness and sufficiency (evidence and random), their ratio, evidence
        length in words (mean and median), spans per message, how often removing the evidence
        un-flags, how often the search reached its target (``complete``), and the share of flags
        whose evidence is made only of target words.
    """
    ref = flagger.resolve_threshold(threshold)
    flagged, scores, explanations = _explain(
        flagger, texts, ref.value, search or flagger.span_search
    )
    chosen_texts = [texts[i] for i in flagged]
    rng = random.Random(seed)
    spans = [[(s.start, s.end) for s in e.spans] for e in explanations]
    baseline = [random_spans(t, s, rng) for t, s in zip(chosen_texts, spans, strict=True)]
    variants = [
        f(t, s)
        for sets in (spans, baseline)
        for f in (remove_spans, keep_spans)
        for t, s in zip(chosen_texts, sets, strict=True)
    ]
    scored = flagger.sexist_scores(variants).reshape(4, len(chosen_texts)) if variants else None
    words = [
        sum(span_words(t, s) for s in sets) for t, sets in zip(chosen_texts, spans, strict=True)
    ]
    report: dict[str, Any] = {
        "operating_point": ref.name,
        "threshold": ref.value,
        "messages": len(texts),
        "flagged": len(chosen_texts),
        "explained": sum(1 for s in spans if s),
    }
    if scored is None:
        return report
    drop = scores[None, :] - scored
    comprehensiveness, sufficiency = float(drop[0].mean()), float(drop[1].mean())
    random_comp, random_suff = float(drop[2].mean()), float(drop[3].mean())
    report.update(
        {
            "comprehensiveness": comprehensiveness,
            "sufficiency": sufficiency,
            "random_comprehensiveness": random_comp,
            "random_sufficiency": random_suff,
            "comprehensiveness_ratio": comprehensiveness / random_comp
            if random_comp > 0
            else float("inf"),
            "unflagged_by_removal": float((scored[0] < ref.value).mean()),
            "complete": statistics.fmean(e.complete for e in explanations),
            "target_only": statistics.fmean(
                only_targets(t, s) for t, s in zip(chosen_texts, spans, strict=True)
            ),
            "spans_per_message": statistics.fmean(len(s) for s in spans),
            "mean_evidence_words": statistics.fmean(words),
            "median_evidence_words": statistics.median(words),
        }
    )
    return report


def plausibility(
    flagger: Flagger,
    rationales: Sequence[tuple[Rationale, str]],
    threshold: str | float | None = None,
    *,
    searches: dict[str, SpanSearch] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Word-level F1 of each search's evidence against the human rationales it flags.

    ``searches`` defaults to the model's search (``evidence``) and the same search as it was
    before targets existed (``before``: ``SpanSearch.before_targets``);
    ``random`` is random non-target spans as long as ``evidence``'s.

    Returns:
        Per search: messages flagged, mean F1, median evidence words; plus the random baseline.
    """
    ref = flagger.resolve_threshold(threshold)
    searches = searches or {
        "evidence": flagger.span_search,
        "before": flagger.span_search.before_targets(),
    }
    texts = [t for _, t in rationales]
    report: dict[str, Any] = {
        "operating_point": ref.name,
        "threshold": ref.value,
        "rationales": len(rationales),
    }
    first: list[list[Range]] | None = None
    flagged: list[int] = []
    for name, search in searches.items():
        flagged, _, explanations = _explain(flagger, texts, ref.value, search)
        spans = [[(s.start, s.end) for s in e.spans] for e in explanations]
        first = spans if first is None else first
        report[name] = _f1_summary(rationales, flagged, spans)
    rng = random.Random(seed)
    randoms = [random_spans(texts[i], s, rng) for i, s in zip(flagged, first or [], strict=True)]
    report["random"] = _f1_summary(rationales, flagged, randoms)
    return report


def _f1_summary(
    rationales: Sequence[tuple[Rationale, str]], flagged: Sequence[int], spans: list[list[Range]]
) -> dict[str, float]:
    scores = [
        token_f1(rationales[i][1], s, rationales[i][0].evidence)
        for i, s in zip(flagged, spans, strict=True)
    ]
    words = [
        sum(span_words(rationales[i][1], span) for span in s)
        for i, s in zip(flagged, spans, strict=True)
    ]
    return {
        "flagged": len(flagged),
        "token_f1": statistics.fmean(scores) if scores else 0.0,
        "median_evidence_words": statistics.median(words) if words else 0.0,
    }
