"""A verdict calibrated for length: long messages are not judged as if each part were a post.

A message takes the score of its most severe part, and the calibration was fitted on single posts.
A long message is many chances for one part to look sexist: of messages made of k not-sexist EDOS
dev posts, 1.3.0 flagged 12% for k = 1 and 76% for k = 16. The fix is a prior correction: the
most severe part's logit is lowered by ``penalty * log(tokens / reference_tokens)`` for messages
longer than ``reference_tokens``, before calibration, with ``penalty`` fitted on multi-part
messages built from EDOS dev so that their calibrated scores mean what a single post's do (log
loss at the EDOS base rate). Messages no longer than the reference (nearly every single post) are
scored exactly as before.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from flagger.calibration import Calibration

# Sexist share of EDOS posts: the base rate multi-part messages are built at, so that a calibrated
# score means on a long message what it means on a post.
EDOS_BASE_RATE = 0.243


class LengthRule(BaseModel):
    """How a message's length lowers its most severe part's logit (``penalty`` 0: not at all)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    penalty: float = Field(default=0.0, ge=0.0, description="logit lowered per log-unit of length")
    reference_tokens: int = Field(
        default=96, gt=0, description="messages up to this many tokens are not adjusted"
    )
    split: Literal["windows", "paragraphs"] = Field(
        default="windows",
        description="how a long message is cut: overlapping token windows (models before 1.3.1) "
        "or paragraphs and sentences packed into windows (flagger.encoding.encode_parts)",
    )
    fitted_on: dict[str, object] = Field(default_factory=dict, description="how it was fitted")

    def adjust(self, logits: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """The logits of messages of ``tokens`` tokens, lowered for their length."""
        ratio = np.maximum(np.asarray(tokens, dtype=float) / self.reference_tokens, 1.0)
        return np.asarray(logits, dtype=float) - self.penalty * np.log(ratio)


def multi_part_messages(
    negatives: Sequence[str],
    positives: Sequence[str],
    parts: Sequence[int],
    per_size: int,
    rng: random.Random,
    base_rate: float = EDOS_BASE_RATE,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Messages of k posts joined by blank lines; a ``base_rate`` share holds one sexist post.

    Returns:
        The texts, their labels (1: one part is sexist) and their number of posts.
    """
    texts, labels, sizes = [], [], []
    for k in parts:
        for _ in range(per_size):
            posts = rng.sample(list(negatives), k)
            sexist = rng.random() < base_rate
            if sexist:
                posts[rng.randrange(k)] = rng.choice(list(positives))
            texts.append("\n\n".join(posts))
            labels.append(int(sexist))
            sizes.append(k)
    return texts, np.array(labels), np.array(sizes)


def fit_penalty(
    logits: np.ndarray,
    tokens: np.ndarray,
    labels: np.ndarray,
    calibration: Calibration,
    reference_tokens: int,
    grid: Sequence[float] = tuple(np.round(np.arange(0.0, 4.01, 0.05), 2)),
) -> float:
    """The penalty whose calibrated scores have the least log loss on these messages."""
    best, best_loss = 0.0, float("inf")
    for penalty in grid:
        rule = LengthRule(penalty=float(penalty), reference_tokens=reference_tokens)
        p = np.clip(calibration.probability(rule.adjust(logits, tokens)), 1e-6, 1 - 1e-6)
        loss = float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))
        if loss < best_loss - 1e-9:
            best, best_loss = float(penalty), loss
    return best
