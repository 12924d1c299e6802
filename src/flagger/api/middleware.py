"""Pure ASGI middleware for the review API: a body-size limit and the request log.

Both are plain ASGI callables rather than ``BaseHTTPMiddleware``: that one runs each request in
an extra task and copies the response stream, which costs more than the rest of a
single-message request.
"""

from __future__ import annotations

import logging
import time
import uuid

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flagger.api.metrics import ServiceMetrics

logger = logging.getLogger("flagger.api")


class BodyTooLarge(HTTPException):
    """Raised while a body streams in past the limit; answered as 413."""


class BodyLimit:
    """Refuse a request body over ``max_bytes`` before it is read into memory (413)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.problem = {
            "code": "body_too_large",
            "message": f"request body is over the limit of {max_bytes} bytes",
            "limit": "max_body_bytes",
            "max": max_bytes,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self.problem
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse({"detail": problem}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge(413, problem)
            return message

        await self.app(scope, limited, send)


class RequestLog:
    """Give each request an id (``X-Request-ID``), count and time it, and log it without text.

    Routes put what they learn (``key``, ``messages``, ``flagged``) in ``request.state``; the
    log line carries those, never a body.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = request_id[:64] or uuid.uuid4().hex[:16]
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route=route, status=str(status)).inc()
            self.metrics.latency.labels(route=route).observe(elapsed)
            logger.info(
                "request_id=%s method=%s route=%s status=%d ms=%.1f key=%s messages=%s flagged=%s",
                request_id,
                scope["method"],
                route,
                status,
                elapsed * 1000,
                state.get("key", "-"),
                state.get("messages", "-"),
                state.get("flagged", "-"),
            )
