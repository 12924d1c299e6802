"""A verdict for a message's length: long messages are not judged as if each part were a post.

A message takes the score of its most severe part, and the calibration was fitted on single
posts. A long message is cut into parts a reader recognises (``split = "paragraphs"``:
``flagger.encoding.encode_parts``; models before 1.3.1 used overlapping token windows), and the
most severe part's logit can be lowered by ``penalty * log(tokens / reference_tokens)`` before
calibration, for messages longer than ``reference_tokens``. ``bench/long_messages.py`` chooses the
penalty (fewest benign long messages flagged while keeping recall on long messages with one
sexist paragraph) and reports the trade-off; messages no longer than the reference (nearly every
single post) are scored exactly as before.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


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
