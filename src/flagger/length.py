"""A verdict for a message's length: long messages are not judged as if each part were a post.

A message takes the score of its most severe part, and the calibration was fitted on single
posts. A long message is cut into parts a reader recognises (``split = "paragraphs"``:
``flagger.encoding.encode_parts``; models before 1.3.1 used overlapping token windows). Two
adjustments can then be made to the most severe part's logit before calibration:

- ``context_weight``: the part is also read with up to ``context_tokens`` tokens of the text
  around it on each side (``flagger.encoding.context_window``), and that reading takes this share
  of the logit, so a sign-off or a heading misread alone is also judged among its message;
- ``penalty``: the logit is lowered by ``penalty * log(tokens / reference_tokens)`` for messages
  longer than ``reference_tokens``.

``bench/long_messages.py`` fits the context reading and the penalty together (fewest benign long
messages flagged while keeping recall on long messages with one sexist paragraph) and tables both
trade-offs; a message that is one part (nearly every single post) is scored exactly as before.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    context_weight: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="share of the most severe part's logit taken from the part read with its "
        "neighbours (paragraph parts only)",
    )
    context_tokens: int | None = Field(
        default=None,
        gt=0,
        description="tokens of the text around the part read with it, on each side (as many as "
        "fit in one window when null)",
    )
    fitted_on: dict[str, object] = Field(default_factory=dict, description="how it was fitted")

    @model_validator(mode="after")
    def _context_needs_parts(self) -> LengthRule:
        if self.context_weight and self.split != "paragraphs":
            raise ValueError("context_weight needs split 'paragraphs' (windows overlap)")
        return self

    def adjust(
        self, logits: np.ndarray, tokens: np.ndarray, context: np.ndarray | None = None
    ) -> np.ndarray:
        """The logits of messages of ``tokens`` tokens, lowered for their length.

        ``context`` is each message's most severe part read with its neighbours (the part alone
        for a message of one part); it is blended in by ``context_weight``.
        """
        blended = np.asarray(logits, dtype=float)
        if context is not None and self.context_weight:
            w = self.context_weight
            blended = (1 - w) * blended + w * np.asarray(context, dtype=float)
        ratio = np.maximum(np.asarray(tokens, dtype=float) / self.reference_tokens, 1.0)
        return blended - self.penalty * np.log(ratio)
