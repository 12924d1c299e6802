"""Typed, frozen result objects: the one contract shared by the Python API, the CLI and the API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ThresholdRef(BaseModel):
    """The rule a verdict was reached by: a named operating point (or ``custom``) and its value."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="operating point name, or 'custom' for a number given by hand")
    value: float = Field(ge=0.0, le=1.0, description="flag when score >= value")


# Version of the result contract. 2: ``spans`` are evidence only, ``targets`` and
# ``evidence_complete`` added (1 had no version field and its spans could be target words).
SCHEMA_VERSION = 2


class Span(BaseModel):
    """Evidence: a stretch of the ORIGINAL message that makes it sexist and drives its score.

    ``text == message[start:end]`` (Python string indices, i.e. Unicode code points), and
    ``weight`` is how much the calibrated score falls when this span alone is removed.
    """

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    weight: float


class Target(BaseModel):
    """A neutral mention of who the message is about ("Women", "she", "Sarah"), never evidence.

    ``text == message[start:end]``, as for ``Span``.
    """

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str


class Part(BaseModel):
    """The character range of the part of a message whose score decided the verdict."""

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=0)
    end: int = Field(ge=0)


class ScoreResult(BaseModel):
    """The verdict on one message.

    ``category`` and ``vector`` name the most likely kind of sexism and are ``None`` when the
    message is not flagged; ``categories`` and ``vectors`` always hold the full distributions
    (conditional on the message being sexist). ``spans`` (evidence), ``targets``,
    ``score_without_spans`` and ``evidence_complete`` are set for flagged messages when
    explanations were asked for, and ``None`` otherwise. Evidence and targets never overlap.
    """

    model_config = ConfigDict(frozen=True)

    schema_version: int = Field(default=SCHEMA_VERSION, description="version of this contract")
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
    windows: int = Field(ge=1, description="parts (model windows) the message was split into")
    part: Part | None = Field(
        default=None,
        description="character range of the part that decided the score (the whole message "
        "when it is one part)",
    )
    spans: list[Span] | None = Field(
        default=None, description="evidence: what is said that makes the message sexist"
    )
    targets: list[Target] | None = Field(
        default=None, description="neutral mentions of who the message is about"
    )
    score_without_spans: float | None = Field(
        default=None, description="calibrated score of the message with the evidence removed"
    )
    evidence_complete: bool | None = Field(
        default=None,
        description="removing the evidence brings the score below the threshold less the band; "
        "false: the search found no such words within its budget and reports the best it found",
    )
