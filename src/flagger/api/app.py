"""The FastAPI app: routes, authentication, limits, micro-batching, metrics, audit.

``create_app(settings)`` builds an app whose lifespan loads and warms the model once; tests pass
a loaded ``Flagger`` instead. Logs carry request ids, key names, counts, timings and verdict
counts, never message text; the audit log records who classified or labelled which ids.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from flagger.api.audit import AuditLog
from flagger.api.auth import KeyRing, Principal
from flagger.api.batcher import MicroBatcher, QueueFullError
from flagger.api.metrics import ServiceMetrics
from flagger.api.middleware import BodyLimit, RequestLog
from flagger.api.schemas import (
    ClassifyRequest,
    ClassifyResponse,
    FeedbackRequest,
    FeedbackResponse,
    InferRequest,
    InferResponse,
    InferTensor,
    ModelRef,
    ReloadRequest,
    Verdict,
)
from flagger.api.settings import ServiceSettings
from flagger.errors import ConfigError, FlaggerError
from flagger.model import Flagger
from flagger.results import ScoreResult
from flagger.store import Feedback, LabelStore

logger = logging.getLogger("flagger.api")

# The event loop and the scoring thread share the GIL; handing it over after 1 ms instead of
# Python's 5 ms lets a finished forward pass or a waiting socket write go on sooner.
GIL_SWITCH_INTERVAL_S = 0.001


def _error(status: int, code: str, message: str, **details: Any) -> HTTPException:
    return HTTPException(status, {"code": code, "message": message, **details})


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
            raise _error(503, "not_ready", "the model is still loading")
        return self.flagger


async def _state(request: Request) -> ServiceState:
    return request.app.state.service  # type: ignore[no-any-return]


State = Annotated[ServiceState, Depends(_state)]


def requires(role: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting callers whose key has ``role`` (or a higher one)."""

    async def check(request: Request) -> Principal:
        state = await _state(request)
        if state.settings.insecure_no_auth:
            principal = Principal("anonymous", "admin")
        else:
            header = request.headers.get("authorization", "")
            scheme, _, key = header.partition(" ")
            found = state.keys.identify(key.strip()) if scheme.lower() == "bearer" else None
            if found is None:
                raise HTTPException(
                    401,
                    {"code": "unauthorized", "message": "missing or unknown API key"},
                    headers={"WWW-Authenticate": "Bearer"},
                )
            principal = found
        request.state.key = principal.name
        if not principal.may(role):
            raise _error(403, "forbidden", f"this key's role ({principal.role}) cannot {role}")
        wait = state.limiter.allow(principal.name)
        if wait:
            raise HTTPException(
                429,
                {
                    "code": "rate_limited",
                    "message": "too many requests for this key",
                    "limit": "rate_limit_per_minute",
                    "max": state.settings.rate_limit_per_minute,
                },
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        return principal

    return check


Classifier = Annotated[Principal, Depends(requires("classify"))]
Reviewer = Annotated[Principal, Depends(requires("review"))]
Admin = Annotated[Principal, Depends(requires("admin"))]


async def _score(
    state: ServiceState, texts: list[str], threshold: str | float | None, explain: bool
) -> list[ScoreResult]:
    model = state.model()
    try:
        model.resolve_threshold(threshold)
    except ConfigError as exc:
        raise _error(422, "bad_threshold", str(exc)) from None
    if state.batcher is None:
        raise _error(503, "not_ready", "the model is still loading")
    try:
        results = await state.batcher.score(
            texts, threshold, explain, state.settings.model_timeout_s
        )
    except QueueFullError:
        raise HTTPException(
            503,
            {
                "code": "overloaded",
                "message": "the scoring queue is full; retry shortly",
                "limit": "queue_max_messages",
                "max": state.settings.queue_max_messages,
            },
            headers={"Retry-After": "1"},
        ) from None
    except TimeoutError:
        raise _error(
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


async def _classified(
    state: ServiceState,
    request: Request,
    principal: Principal,
    texts: list[str],
    ids: list[str],
    threshold: str | float | None,
    explain: bool,
) -> list[ScoreResult]:
    """Check limits, score in a shared batch, count for the request log, and audit."""
    _check_texts(state, texts, ids)
    request.state.messages = len(texts)
    results = await _score(state, texts, threshold, explain)
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


def _check_texts(state: ServiceState, texts: list[str], ids: list[str]) -> None:
    limits = state.settings
    if len(texts) > limits.max_messages:
        raise _error(
            413,
            "too_many_messages",
            f"{len(texts)} messages in one request; the limit is {limits.max_messages}",
            limit="max_messages",
            max=limits.max_messages,
            found=len(texts),
        )
    for index, (text, message_id) in enumerate(zip(texts, ids, strict=True)):
        if len(text) > limits.max_chars:
            raise _error(
                422,
                "message_too_long",
                f"message {index} ({message_id!r}) has {len(text)} characters; "
                f"the limit is {limits.max_chars}",
                limit="max_chars",
                max=limits.max_chars,
                found=len(text),
                index=index,
            )


def _settle_heap() -> None:
    """Move what is loaded so far out of the garbage collector's sight.

    A loaded model leaves hundreds of thousands of long-lived objects; without this, each full
    collection walks all of them while requests wait, which shows in the tail latency.
    """
    gc.collect()
    gc.freeze()


def _load_model(settings: ServiceSettings) -> Flagger:
    if settings.registry is not None and settings.model is None:
        from flagger.registry import Registry

        settings = settings.model_copy(
            update={"model": Registry(settings.registry).promoted_path()}
        )
    return Flagger.load(
        settings.model,
        backend=settings.backend,
        num_threads=settings.threads,
    )


def create_app(settings: ServiceSettings | None = None, flagger: Flagger | None = None) -> FastAPI:
    """Build the review API.

    Raises:
        ConfigError: with no keys and no ``insecure_no_auth``, or a malformed key list or file.
    """
    settings = settings or ServiceSettings()
    keys = KeyRing.load(settings.api_keys, settings.keys_file)
    if not len(keys) and not settings.insecure_no_auth:
        raise ConfigError(
            "no API keys: set FLAGGER_API_KEYS='key=role,...' or --keys-file, "
            "or pass --insecure-no-auth to run without authentication"
        )
    if settings.insecure_no_auth:
        logger.warning("authentication is OFF (--insecure-no-auth): anyone can call every route")
    state = ServiceState(
        settings,
        keys,
        ServiceMetrics(),
        RateLimiter(settings.rate_limit_per_minute),
        AuditLog(settings.audit_log),
        LabelStore(settings.store_url),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.batcher = MicroBatcher(
            state.model,
            state.metrics,
            max_messages=settings.batch_max_messages,
            max_wait_s=settings.batch_max_wait_ms / 1000,
            queue_max_messages=settings.queue_max_messages,
        )
        state.batcher.start()
        state.flagger = flagger or await state.batcher.run(lambda: _load_model(settings))
        await state.batcher.run(lambda: state.model().score(["warm-up message"], explain=True))
        _settle_heap()
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        state.ready = True
        logger.info("ready: %s", state.model().version)
        yield
        state.ready = False
        await state.batcher.stop()
        state.audit.close()
        sys.setswitchinterval(switch_interval)
        gc.unfreeze()

    app = FastAPI(
        title="flagger review API",
        version="1",
        description="Flags sexist language in messages, with the evidence for each flag.",
        lifespan=lifespan,
    )
    app.state.service = state
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestLog, metrics=state.metrics)  # outermost: sees every answer

    @app.exception_handler(FlaggerError)
    async def flagger_error(request: Request, exc: FlaggerError) -> JSONResponse:
        return JSONResponse({"detail": {"code": "bad_input", "message": str(exc)}}, 422)

    @app.post("/v1/classify", response_model=ClassifyResponse, tags=["classify"])
    async def classify(
        body: ClassifyRequest, request: Request, principal: Classifier, state: State
    ) -> ClassifyResponse:
        """Score messages; with ``explain``, say which words drive each flag."""
        ids = [m.id for m in body.messages]
        texts = [m.text for m in body.messages]
        results = await _classified(
            state, request, principal, texts, ids, body.threshold, body.explain
        )
        model = state.model()
        return ClassifyResponse(
            model=ModelRef(name=model.info.name, version=model.info.version),
            results=[
                Verdict(id=i, **r.model_dump(include=set(Verdict.model_fields) - {"id"}))
                for i, r in zip(ids, results, strict=True)
            ],
        )

    @app.post("/v1/feedback", response_model=FeedbackResponse, status_code=201, tags=["review"])
    async def feedback(
        body: FeedbackRequest, request: Request, principal: Reviewer, state: State
    ) -> FeedbackResponse:
        """Store a reviewer's decision on a message, for retraining."""
        _check_texts(state, [body.text], [body.id])
        model = state.model()
        decision = Feedback(
            message_id=body.id,
            text=body.text,
            label=body.label,
            reviewer=principal.name,
            category=body.category,
            vector=body.vector,
            note=body.note,
            model_version=model.version,
        )
        try:
            label_id = await asyncio.to_thread(state.store.add, decision)
        except ConfigError as exc:
            raise _error(422, "bad_label", str(exc)) from None
        request.state.messages = 1
        state.audit.record(
            "label",
            key=principal.name,
            request_id=request.state.request_id,
            model_version=model.version,
            id=body.id,
            label=body.label,
            category=body.category,
            vector=body.vector,
            label_id=label_id,
        )
        return FeedbackResponse(stored=True, label_id=label_id)

    @app.get("/v1/model", tags=["classify"])
    async def model_card(principal: Classifier, state: State) -> dict[str, Any]:
        """Name, version, training data, metrics and operating points of the served model."""
        info = state.model().info
        return {
            "name": info.name,
            "version": info.version,
            "backend": state.model().backend.name,
            "base_model": info.base_model,
            "data": info.data,
            "metrics": {k: v for k, v in info.metrics.items() if k != "history"},
            "operating_points": {k: v.model_dump() for k, v in info.operating_points.items()},
            "uncertainty_band": info.uncertainty_band,
            "calibration": info.calibration.method,
        }

    @app.post("/v1/admin/reload", tags=["admin"])
    async def reload(
        body: ReloadRequest, request: Request, principal: Admin, state: State
    ) -> dict[str, str]:
        """Load the model again (or another directory) and switch to it without downtime."""
        target = settings.model_copy(update={"model": body.model}) if body.model else settings
        async with state.reload_lock:
            loaded = await asyncio.to_thread(_load_model, target)
            await asyncio.to_thread(lambda: loaded.score(["warm-up message"], explain=True))
            previous, state.flagger = state.model().version, loaded
            gc.unfreeze()  # so that the previous model's cycles can be collected
            _settle_heap()
        state.audit.record(
            "reload",
            key=principal.name,
            request_id=request.state.request_id,
            previous=previous,
            model_version=loaded.version,
        )
        return {"previous": previous, "model_version": loaded.version}

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "alive"}

    @app.get("/readyz", tags=["health"])
    async def readyz(state: State) -> JSONResponse:
        """The model is loaded and warmed up."""
        if not state.ready:
            return JSONResponse({"status": "loading"}, 503)
        return JSONResponse({"status": "ready", "model_version": state.model().version})

    @app.get("/metrics", tags=["health"])
    async def metrics(state: State) -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    _add_open_inference_routes(app, state)
    return app


def _add_open_inference_routes(app: FastAPI, state: ServiceState) -> None:
    """The Open Inference Protocol v2 routes KServe-style clients call."""

    def served(name: str) -> Flagger:
        model = state.model()
        if name != model.info.name:
            raise _error(
                404, "unknown_model", f"no model {name!r}; this server has {model.info.name!r}"
            )
        return model

    @app.get("/v2/health/live", tags=["open inference"])
    async def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready", tags=["open inference"])
    async def ready() -> JSONResponse:
        return JSONResponse({"ready": state.ready}, 200 if state.ready else 503)

    @app.get("/v2/models/{name}", tags=["open inference"])
    async def metadata(name: str, principal: Classifier) -> dict[str, Any]:
        model = served(name)
        return {
            "name": model.info.name,
            "versions": [model.info.version],
            "platform": f"flagger-{model.backend.name}",
            "inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}],
            "outputs": [
                {"name": "score", "datatype": "FP32", "shape": [-1]},
                {"name": "flagged", "datatype": "BOOL", "shape": [-1]},
                {"name": "category", "datatype": "BYTES", "shape": [-1]},
            ],
        }

    @app.post("/v2/models/{name}/infer", response_model=InferResponse, tags=["open inference"])
    async def infer(
        name: str, body: InferRequest, request: Request, principal: Classifier
    ) -> InferResponse:
        model = served(name)
        tensor = body.inputs[0]
        if tensor.datatype != "BYTES" or not all(isinstance(t, str) for t in tensor.data):
            raise _error(422, "bad_input", "input 0 must be a BYTES tensor of UTF-8 strings")
        texts = list(tensor.data)
        if not texts:
            raise _error(422, "bad_input", "input 0 holds no texts")
        threshold = (body.parameters or {}).get("threshold")
        ids = [f"{body.id or 'infer'}[{i}]" for i in range(len(texts))]
        results = await _classified(state, request, principal, texts, ids, threshold, False)
        n = [len(results)]
        return InferResponse(
            model_name=model.info.name,
            model_version=model.info.version,
            id=body.id,
            outputs=[
                InferTensor(
                    name="score", shape=n, datatype="FP32", data=[r.score for r in results]
                ),
                InferTensor(
                    name="flagged", shape=n, datatype="BOOL", data=[r.flagged for r in results]
                ),
                InferTensor(
                    name="category",
                    shape=n,
                    datatype="BYTES",
                    data=[r.category or "" for r in results],
                ),
            ],
        )
