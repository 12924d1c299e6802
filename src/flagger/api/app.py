"""The FastAPI app: routes, authentication, limits, micro-batching, metrics, audit.

``create_app(settings)`` builds an app whose lifespan loads and warms the model once; tests pass
a loaded ``Flagger`` instead. Logs carry request ids, key names, counts, timings and verdict
counts, never message text; the audit log records who classified or labelled which ids. Errors
follow one contract (:mod:`flagger.api.problems`), declared in the OpenAPI schema per route.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from flagger.api import oip
from flagger.api.audit import AuditLog
from flagger.api.auth import KeyRing
from flagger.api.batcher import MicroBatcher
from flagger.api.metrics import ServiceMetrics
from flagger.api.middleware import BodyLimit, RequestLog
from flagger.api.problems import ApiError, Problem, documented, install_error_handlers
from flagger.api.schemas import (
    ClassifyRequest,
    ClassifyResponse,
    FeedbackRequest,
    FeedbackResponse,
    ModelRef,
    ReloadRequest,
    Verdict,
)
from flagger.api.service import (
    Admin,
    Classifier,
    RateLimiter,
    Reviewer,
    ServiceState,
    State,
    check_texts,
    classified,
)
from flagger.api.settings import ServiceSettings
from flagger.api.v2 import add_open_inference_routes
from flagger.errors import ConfigError
from flagger.model import Flagger
from flagger.store import Feedback, LabelStore

logger = logging.getLogger("flagger.api")

# The event loop and the scoring thread share the GIL; handing it over after 1 ms instead of
# Python's 5 ms lets a finished forward pass or a waiting socket write go on sooner.
GIL_SWITCH_INTERVAL_S = 0.001


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
        description=(
            "Flags sexist language in messages, with the evidence for each flag. Errors on /v1 "
            "are RFC 9457 problem details (application/problem+json) with a stable `code`; "
            'errors on the Open Inference Protocol /v2 routes are {"error": "..."}.'
        ),
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.name,  # operation ids: classify, ...
    )
    app.state.service = state
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        drain_max_bytes=settings.drain_max_bytes,
        drain_timeout_s=settings.drain_timeout_s,
    )
    app.add_middleware(RequestLog, metrics=state.metrics)  # outermost: sees every answer
    install_error_handlers(app)
    keyed = (401, 403, 429, 503)
    with_body = (*keyed, 413, 422)

    @app.post(
        "/v1/classify",
        response_model=ClassifyResponse,
        tags=["classify"],
        responses=documented(*with_body, 504),
    )
    async def classify(
        body: ClassifyRequest, request: Request, principal: Classifier, state: State
    ) -> ClassifyResponse:
        """Score messages; with ``explain``, say which words drive each flag."""
        ids = [m.id for m in body.messages]
        texts = [m.text for m in body.messages]
        results = await classified(
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

    @app.post(
        "/v1/feedback",
        response_model=FeedbackResponse,
        status_code=201,
        tags=["review"],
        responses=documented(*with_body),
    )
    async def feedback(
        body: FeedbackRequest, request: Request, principal: Reviewer, state: State
    ) -> FeedbackResponse:
        """Store a reviewer's decision on a message, for retraining."""
        check_texts(state, [body.text], [body.id])
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
            raise ApiError(422, "bad_label", str(exc)) from None
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

    @app.get("/v1/model", tags=["classify"], responses=documented(*keyed))
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

    @app.post("/v1/admin/reload", tags=["admin"], responses=documented(*with_body))
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

    @app.get(
        "/readyz",
        tags=["health"],
        responses={503: {"description": "the model is still loading"}},
    )
    async def readyz(state: State) -> JSONResponse:
        """The model is loaded and warmed up."""
        if not state.ready:
            return JSONResponse({"status": "loading"}, 503)
        return JSONResponse({"status": "ready", "model_version": state.model().version})

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=PlainTextResponse,
    )
    async def metrics(state: State) -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    add_open_inference_routes(app, state)
    _document_components(app)
    return app


def _document_components(app: FastAPI) -> None:
    """Add the schemas that routes refer to by name but do not declare as models."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (Problem, oip.InferRequest):
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(found.pop("$defs", {}))
                components[model.__name__] = found
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
