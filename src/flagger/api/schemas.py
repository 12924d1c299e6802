"""Request and response bodies of the review API (separate models for each direction)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from flagger.results import SCHEMA_VERSION, Part, Span, Target, ThresholdRef


class MessageIn(BaseModel):
    """A message to classify."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=512)
    text: str
    author: str | None = Field(default=None, max_length=512)
    sent_at: str | None = Field(default=None, max_length=64)


class ClassifyRequest(BaseModel):
    """``POST /v1/classify``: messages, and optionally spans and an operating point."""

    model_config = ConfigDict(extra="forbid")

    messages: list[MessageIn] = Field(min_length=1)
    explain: bool = Field(
        default=False, description="find the evidence behind each flag, and who it is about"
    )
    threshold: str | float | None = Field(
        default=None, description="operating point name (default, review, alert) or a number"
    )


class Verdict(BaseModel):
    """The verdict on one message, in request order (result contract ``schema_version``)."""

    schema_version: int = SCHEMA_VERSION
    id: str
    score: float
    flagged: bool
    uncertain: bool
    threshold: ThresholdRef
    category: str | None
    vector: str | None
    part: Part | None = Field(description="character range of the part that decided the score")
    spans: list[Span] | None = Field(description="evidence: what is said that makes it sexist")
    targets: list[Target] | None = Field(description="neutral mentions of who it is about")
    score_without_spans: float | None = Field(description="score with the evidence removed")
    evidence_complete: bool | None = Field(
        description="removing the evidence un-flags it (false: the strongest words shown)"
    )


class ModelRef(BaseModel):
    """Which model answered."""

    name: str
    version: str


class ClassifyResponse(BaseModel):
    """``POST /v1/classify`` response."""

    model: ModelRef
    results: list[Verdict]


class FeedbackRequest(BaseModel):
    """``POST /v1/feedback``: a reviewer's decision on a message."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=512)
    text: str = Field(min_length=1)
    label: Literal["sexist", "not sexist"]
    category: str | None = None
    vector: str | None = None
    note: str | None = Field(default=None, max_length=4000)


class FeedbackResponse(BaseModel):
    """Where the decision was stored."""

    stored: bool
    label_id: int


class ReloadRequest(BaseModel):
    """``POST /v1/admin/reload``: optionally a different model directory."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
