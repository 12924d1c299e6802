"""What the routes of both protocols share: state, keys and roles, rate limits, scoring.

Errors are raised as :class:`~flagger.api.problems.ApiError`; the app's handlers answer them in
the body of the route's family (problem details on ``/v1``, ``{"error"}`` on ``/v2``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from flagger.api.audit import AuditLog
from flagger.api.auth import KeyRing, Principal
from flagger.api.batcher import MicroBatcher, QueueFullError
from flagger.api.metrics import ServiceMetrics
from flagger.api.problems import ApiError
from flagger.api.settings import ServiceSettings
from flagger.errors import ConfigError
from flagger.model import Flagger
from flagger.results import ScoreResult
from flagger.store import LabelStore

# Reads ``Authorization: Bearer KEY`` and declares it in the OpenAPI schema; ``requires`` answers
# a missing or unknown key itself, so that the error has the route family's body.
bearer = HTTPBearer(auto_error=False, description="an API key: Authorization: Bearer KEY")


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests, refilled continuously."""

    def __init__(self, per_minute: int) -> None:
        self.capacity, self.rate = float(per_minute), per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens - 1.0, now)
        return 0.0


@dataclass
class ServiceState:
    """What the routes share: settings, the model, and the machinery around it."""

    settings: ServiceSettings
    keys: KeyRing
    metrics: ServiceMetrics
    limiter: RateLimiter
    audit: AuditLog
    store: LabelStore
    flagger: Flagger | None = None
    batcher: MicroBatcher | None = None
    ready: bool = False
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def model(self) -> Flagger:
        if self.flagger is None:
            raise ApiError(503, "not_ready", "the model is still loading")
        return self.flagger


async def _state(request: Request) -> ServiceState:
    return request.app.state.service  # type: ignore[no-any-return]


State = Annotated[ServiceState, Depends(_state)]


def requires(role: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers whose key has ``role`` (or a higher one)."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        state = await _state(request)
        if state.settings.insecure_no_auth:
            principal = Principal("anonymous", "admin")
        else:
            key = credentials.credentials.strip() if credentials is not None else None
            found = state.keys.identify(key) if key else None
            if found is None:
                raise ApiError(
                    401,
                    "unauthorized",
                    "missing or unknown API key",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            principal = found
        request.state.key = principal.name
        if not principal.may(role):
            raise ApiError(403, "forbidden", f"this key's role ({principal.role}) cannot {role}")
        wait = state.limiter.allow(principal.name)
        if wait:
            raise ApiError(
                429,
                "rate_limited",
                "too many requests for this key",
                headers={"Retry-After": str(max(1, round(wait)))},
                limit="rate_limit_per_minute",
                max=state.settings.rate_limit_per_minute,
            )
        return principal

    return check


Classifier = Annotated[Principal, Depends(requires("classify"))]
Reviewer = Annotated[Principal, Depends(requires("review"))]
Admin = Annotated[Principal, Depends(requires("admin"))]


async def score(
    state: ServiceState, texts: list[str], threshold: str | float | None, explain: bool
) -> list[ScoreResult]:
    """Score ``texts`` in a shared batch; 422 for an unknown threshold, 503/504 when busy."""
    model = state.model()
    try:
        model.resolve_threshold(threshold)
    except ConfigError as exc:
        raise ApiError(422, "bad_threshold", str(exc)) from None
    if state.batcher is None:
        raise ApiError(503, "not_ready", "the model is still loading")
    try:
        results = await state.batcher.score(
            texts, threshold, explain, state.settings.model_timeout_s
        )
    except QueueFullError:
        raise ApiError(
            503,
            "overloaded",
            "the scoring queue is full; retry shortly",
            headers={"Retry-After": "1"},
            limit="queue_max_messages",
            max=state.settings.queue_max_messages,
        ) from None
    except TimeoutError:
        raise ApiError(
            504,
            "timeout",
            "scoring took longer than allowed",
            limit="model_timeout_s",
            max=state.settings.model_timeout_s,
        ) from None
    for result in results:
        state.metrics.messages.labels(flagged=str(result.flagged).lower()).inc()
        state.metrics.scores.observe(result.score)
    return results


async def classified(
    state: ServiceState,
    request: Request,
    principal: Principal,
    texts: list[str],
    ids: list[str],
    threshold: str | float | None,
    explain: bool,
) -> list[ScoreResult]:
    """Check limits, score in a shared batch, count for the request log, and audit."""
    check_texts(state, texts, ids)
    request.state.messages = len(texts)
    results = await score(state, texts, threshold, explain)
    request.state.flagged = sum(r.flagged for r in results)
    state.audit.record(
        "classify",
        key=principal.name,
        request_id=request.state.request_id,
        model_version=state.model().version,
        threshold=results[0].threshold.model_dump(),
        verdicts=[
            {"id": i, "flagged": r.flagged, "score": r.score}
            for i, r in zip(ids, results, strict=True)
        ],
    )
    return results


def check_texts(state: ServiceState, texts: list[str], ids: list[str]) -> None:
    """413 for too many messages, 422 for one over the character limit."""
    limits = state.settings
    if len(texts) > limits.max_messages:
        raise ApiError(
            413,
            "too_many_messages",
            f"{len(texts)} messages in one request; the limit is {limits.max_messages}",
            limit="max_messages",
            max=limits.max_messages,
            found=len(texts),
        )
    for index, (text, message_id) in enumerate(zip(texts, ids, strict=True)):
        if len(text) > limits.max_chars:
            raise ApiError(
                422,
                "message_too_long",
                f"message {index} ({message_id!r}) has {len(text)} characters; "
                f"the limit is {limits.max_chars}",
                limit="max_chars",
                max=limits.max_chars,
                found=len(text),
                index=index,
            )
