"""Pure ASGI middleware for the review API: a body-size limit that drains, and the request log.

Both are plain ASGI callables rather than ``BaseHTTPMiddleware``: that one runs each request in
an extra task and copies the response stream, which costs more than the rest of a
single-message request.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flagger.api.metrics import ServiceMetrics
from flagger.api.problems import error_response

logger = logging.getLogger("flagger.api")


class BodyLimit:
    """Refuse a request body over ``max_bytes`` with a 413 every client can read.

    A server that answers and closes while the client is still sending makes the client's
    next write fail (``Connection reset by peer``) before it reads the answer; urllib and
    requests write the whole body first. So an over-limit body of up to ``drain_max_bytes`` is
    read and discarded, within ``drain_timeout_s`` of the request's start, before the 413 goes
    out; beyond either bound the 413 goes with ``Connection: close`` and the connection closes.
    With ``Expect: 100-continue`` the 413 goes before the body is sent (uvicorn sends
    ``100 Continue`` only when the app first reads). A chunked body, whose size is not
    declared, is held up to the limit and handed on whole.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, drain_max_bytes: int, drain_timeout_s: float
    ) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.drain_max_bytes, self.drain_timeout_s = drain_max_bytes, drain_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) <= self.max_bytes:
                await self.app(scope, receive, send)
                return
            size = int(declared)
            if b"100-continue" in headers.get(b"expect", b"").lower() or (
                size > self.drain_max_bytes
            ):
                await self._refuse(scope, send, size, drained=False)
                return
            drained = await self._drain(receive, started, 0)
            await self._refuse(scope, send, size, drained)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                drained = message.get("more_body", False) is False or await self._drain(
                    receive, started, size
                )
                await self._refuse(scope, send, None, drained)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _drain(self, receive: Receive, started: float, received: int) -> bool:
        """Read and discard the rest of the body; whether it all came within both bounds."""
        remaining = self.drain_timeout_s - (time.monotonic() - started)
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                while received <= self.drain_max_bytes:
                    message = await receive()
                    if message["type"] != "http.request":
                        return False
                    received += len(message.get("body", b""))
                    if not message.get("more_body", False):
                        return received <= self.drain_max_bytes
        except TimeoutError:
            return False
        return False

    async def _refuse(self, scope: Scope, send: Send, declared: int | None, drained: bool) -> None:
        found = {} if declared is None else {"found": declared}
        response = error_response(
            scope["path"],
            413,
            "body_too_large",
            f"request body is over the limit of {self.max_bytes} bytes",
            headers=None if drained else {"Connection": "close"},
            limit="max_body_bytes",
            max=self.max_bytes,
            **found,
        )
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then defers to the server's."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


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
