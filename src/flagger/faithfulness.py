"""How faithful span explanations are, measured as in the ERASER benchmark (DeYoung et al., 2020).

- **Comprehensiveness**: score(message) - score(message without its spans). High means the spans
  really carry the score.
- **Sufficiency**: score(message) - score(its spans alone). Low means the spans alone are enough.

Both are averaged over the flagged messages (one with no spans counts as removing nothing and
keeping nothing), next to a baseline of random spans with the same number of spans and words in
each message, so a reader can see how much better than chance the explanations are.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np

from flagger.explain import Range, candidate_tokens, find_spans, keep_spans, remove_spans
from flagger.model import Flagger


def span_words(text: str, span: Range) -> int:
    """Words (candidate tokens) in ``text[span]``."""
    return len(candidate_tokens(text, *span))


def random_spans(text: str, spans: Sequence[Range], rng: random.Random) -> list[Range]:
    """As many random, non-overlapping spans as ``spans``, each with as many words."""
    tokens = candidate_tokens(text)
    lengths = sorted((span_words(text, s) for s in spans), reverse=True)
    taken: set[int] = set()
    chosen = []
    for length in lengths:
        starts = [
            i
            for i in range(len(tokens) - length + 1)
            if not taken.intersection(range(i, i + length))
        ]
        if not starts:
            continue
        start = rng.choice(starts)
        taken.update(range(start, start + length))
        chosen.append((tokens[start][0], tokens[start + length - 1][1]))
    return chosen


def faithfulness(
    flagger: Flagger,
    texts: Sequence[str],
    threshold: str | float | None = None,
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """Explain the flagged ``texts`` and measure the explanations against random spans.

    Returns:
        Counts, comprehensiveness and sufficiency (spans and random), their ratio, span length in
        words (mean and median), spans per message and how often removing the spans un-flags.
    """
    ref = flagger.resolve_threshold(threshold)
    probs = flagger.probabilities(texts)
    flagged = np.flatnonzero(probs.sexist >= ref.value).tolist()
    chosen_texts = [texts[i] for i in flagged]
    scores = probs.sexist[flagged]
    explanations = find_spans(
        flagger.sexist_scores,
        chosen_texts,
        scores.tolist(),
        ref.value,
        focus=[probs.focus[i] for i in flagged],
        search=flagger.span_search,
    )
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
    lengths = [span_words(t, s) for t, sets in zip(chosen_texts, spans, strict=True) for s in sets]
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
            "spans_per_message": len(lengths) / len(chosen_texts),
            "mean_span_words": statistics.fmean(lengths) if lengths else 0.0,
            "median_span_words": statistics.median(lengths) if lengths else 0.0,
        }
    )
    return report
