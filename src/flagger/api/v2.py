"""Open Inference Protocol v2 (REST) routes, as KServe and Triton clients call them.

Server and model health need no key; server and model metadata and ``infer`` need a
``classify`` key. The served model answers under its name, with or without
``/versions/{version}`` for the version being served. ``infer`` reads the body itself, so JSON is
understood whatever the ``Content-Type`` (Triton's client sends none), and it speaks the binary
tensor data extension. Every error on these routes is ``{"error": "..."}``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse

from flagger.api import oip
from flagger.api.problems import ApiError, documented
from flagger.api.service import Classifier, ServiceState, classified
from flagger.model import Flagger

INPUT = "text"
OUTPUTS: dict[str, oip.Datatype] = {
    "score": "FP32",
    "flagged": "BOOL",
    "uncertain": "BOOL",
    "category": "BYTES",
    "vector": "BYTES",
}
TAG = "open inference"
HeaderLength = Annotated[
    str | None,
    Header(
        alias=oip.HEADER_LENGTH,
        description="bytes of JSON before the binary tensor data",
        pattern=r"^[0-9]{1,12}$",
    ),
]


def _server_version() -> str:
    try:
        return package_version("flagger")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "unknown"


def request_body_schema() -> dict[str, Any]:
    """The ``requestBody`` of ``infer``: JSON, or JSON then binary tensor data."""
    schema = {"$ref": "#/components/schemas/InferRequest"}
    return {
        "required": True,
        "description": (
            "an inference request; with the binary tensor data extension, the JSON is followed "
            f"by the tensors' bytes and {oip.HEADER_LENGTH} gives the JSON's length"
        ),
        "content": {
            "application/json": {"schema": schema},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }


def add_open_inference_routes(app: FastAPI, state: ServiceState) -> None:
    """Add the ``/v2`` routes to ``app``."""
    server_version = _server_version()

    def served(name: str, version: str | None = None) -> Flagger:
        model = state.model()
        if name != model.info.name:
            raise ApiError(
                404, "unknown_model", f"no model {name!r}; this server has {model.info.name!r}"
            )
        if version is not None and version != model.info.version:
            raise ApiError(
                404,
                "unknown_version",
                f"model {name!r} has no version {version!r} here; "
                f"this server has version {model.info.version!r}",
            )
        return model

    def metadata(model: Flagger) -> dict[str, Any]:
        return {
            "name": model.info.name,
            "versions": [model.info.version],
            "platform": f"flagger-{model.backend.name}",
            "inputs": [{"name": INPUT, "datatype": "BYTES", "shape": [-1]}],
            "outputs": [
                {"name": name, "datatype": datatype, "shape": [-1]}
                for name, datatype in OUTPUTS.items()
            ],
        }

    def model_ready(name: str, version: str | None) -> JSONResponse:
        model = served(name, version)
        return JSONResponse(
            {"name": model.info.name, "ready": state.ready}, 200 if state.ready else 503
        )

    async def infer(
        name: str,
        version: str | None,
        request: Request,
        principal: Classifier,
        header_length: str | None,
    ) -> Response:
        model = served(name, version)
        try:
            body = oip.decompress(
                await request.body(),
                request.headers.get("content-encoding"),
                state.settings.max_body_bytes,
            )
            parsed, texts = oip.parse_request(body, header_length, INPUT)
            wanted = oip.wanted_outputs(parsed, list(OUTPUTS))
        except oip.ProtocolError as exc:
            raise ApiError(exc.status, "bad_request", str(exc)) from None
        if not texts:
            raise ApiError(400, "bad_request", f"input {INPUT!r} holds no texts")
        threshold = (parsed.parameters or {}).get("threshold")
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, str | int | float)
        ):
            raise ApiError(422, "bad_threshold", "parameter threshold must be a name or a number")
        ids = [f"{parsed.id or 'infer'}[{i}]" for i in range(len(texts))]
        results = await classified(state, request, principal, texts, ids, threshold, False)
        columns: dict[str, list[Any]] = {
            "score": [r.score for r in results],
            "flagged": [r.flagged for r in results],
            "uncertain": [r.uncertain for r in results],
            "category": [r.category or "" for r in results],
            "vector": [r.vector or "" for r in results],
        }
        tensors = [oip.Tensor(n, OUTPUTS[n], columns[n]) for n, _ in wanted]
        content, json_size = oip.encode_response(
            model.info.name, model.info.version, parsed.id, tensors, dict(wanted)
        )
        if json_size is None:
            return Response(content, media_type="application/json")
        return Response(
            content,
            media_type="application/octet-stream",
            headers={oip.HEADER_LENGTH: str(json_size)},
        )

    health = documented(503, v2=True)
    keyed = documented(401, 403, 429, 503, v2=True)
    named = documented(401, 403, 404, 422, 429, 503, v2=True)
    named_health = documented(404, 422, 503, v2=True)
    infer_errors = documented(400, 401, 403, 404, 413, 415, 422, 429, 503, 504, v2=True)
    infer_docs: dict[str, Any] = {
        "response_model": oip.InferResponse,
        "tags": [TAG],
        "responses": {
            200: {
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                }
            },
            **infer_errors,
        },
        "openapi_extra": {"requestBody": request_body_schema()},
    }

    @app.get("/v2", tags=[TAG], responses=keyed)
    async def server_metadata(principal: Classifier) -> dict[str, Any]:
        """Server name, version and protocol extensions."""
        return {
            "name": "flagger",
            "version": server_version,
            "extensions": ["binary_tensor_data"],
        }

    @app.get("/v2/health/live", tags=[TAG])
    async def live() -> dict[str, bool]:
        """The server is alive."""
        return {"live": True}

    @app.get("/v2/health/ready", tags=[TAG], responses=health)
    async def ready() -> JSONResponse:
        """The model is loaded and warmed up."""
        return JSONResponse({"ready": state.ready}, 200 if state.ready else 503)

    @app.get("/v2/models/{name}/ready", tags=[TAG], responses=named_health)
    async def ready_model(name: str) -> JSONResponse:
        """The named model is ready."""
        return model_ready(name, None)

    @app.get(
        "/v2/models/{name}/versions/{version}/ready",
        tags=[TAG],
        responses=named_health,
    )
    async def ready_model_version(name: str, version: str) -> JSONResponse:
        """The named model at this version is ready."""
        return model_ready(name, version)

    @app.get("/v2/models/{name}", tags=[TAG], responses=named)
    async def model_metadata(name: str, principal: Classifier) -> dict[str, Any]:
        """Inputs, outputs and versions of the named model."""
        return metadata(served(name))

    @app.get("/v2/models/{name}/versions/{version}", tags=[TAG], responses=named)
    async def model_version_metadata(
        name: str, version: str, principal: Classifier
    ) -> dict[str, Any]:
        """Inputs, outputs and versions of the named model at this version."""
        return metadata(served(name, version))

    @app.post("/v2/models/{name}/infer", **infer_docs)
    async def infer_latest(
        name: str, request: Request, principal: Classifier, header_length: HeaderLength = None
    ) -> Response:
        """Score texts: input ``text`` (BYTES); outputs score, flagged, uncertain, category,
        vector; request parameter ``threshold``."""
        return await infer(name, None, request, principal, header_length)

    @app.post("/v2/models/{name}/versions/{version}/infer", **infer_docs)
    async def infer_version(
        name: str,
        version: str,
        request: Request,
        principal: Classifier,
        header_length: HeaderLength = None,
    ) -> Response:
        """Score texts with the named model at this version."""
        return await infer(name, version, request, principal, header_length)
