"""Typed, frozen result objects: the one contract shared by the Python API, the CLI and the API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ThresholdRef(BaseModel):
    """The rule a verdict was reached by: a named operating point (or ``custom``) and its value."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="operating point name, or 'custom' for a number given by hand")
    value: float = Field(ge=0.0, le=1.0, description="flag when score >= value")


class Span(BaseModel):
    """A stretch of the ORIGINAL message that drives its score.

    ``text == message[start:end]`` (Python string indices, i.e. Unicode code points), and
    ``weight`` is how much the calibrated score falls when this span alone is removed.
    """

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    weight: float


class ScoreResult(BaseModel):
    """The verdict on one message.

    ``category`` and ``vector`` name the most likely kind of sexism and are ``None`` when the
    message is not flagged; ``categories`` and ``vectors`` always hold the full distributions
    (conditional on the message being sexist). ``spans`` and ``score_without_spans`` are set for
    flagged messages when explanations were asked for, and ``None`` otherwise; an empty list
    means no removal of a few words lowered the score.
    """

    model_config = ConfigDict(frozen=True)

    score: float = Field(ge=0.0, le=1.0, description="calibrated probability that it is sexist")
    flagged: bool
    uncertain: bool = Field(description="score is within the uncertainty band of the threshold")
    threshold: ThresholdRef
    category: str | None
    category_probability: float
    vector: str | None
    vector_probability: float
    categories: dict[str, float]
    vectors: dict[str, float]
    windows: int = Field(ge=1, description="model windows the message was split into")
    spans: list[Span] | None = None
    score_without_spans: float | None = Field(
        default=None, description="calibrated score of the message with every span removed"
    )
