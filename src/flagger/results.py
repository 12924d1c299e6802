"""Typed, frozen result objects: the one contract shared by the Python API, the CLI and the API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ScoreResult(BaseModel):
    """The verdict on one message.

    ``category`` and ``vector`` name the most likely kind of sexism and are ``None`` when the
    message is not flagged; ``categories`` and ``vectors`` always hold the full distributions
    (conditional on the message being sexist).
    """

    model_config = ConfigDict(frozen=True)

    score: float = Field(ge=0.0, le=1.0, description="probability that the message is sexist")
    flagged: bool
    threshold: float = Field(ge=0.0, le=1.0, description="threshold the score was compared with")
    category: str | None
    category_probability: float
    vector: str | None
    vector_probability: float
    categories: dict[str, float]
    vectors: dict[str, float]
    windows: int = Field(ge=1, description="model windows the message was split into")
