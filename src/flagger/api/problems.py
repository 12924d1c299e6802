"""One error contract: RFC 9457 problem details on ``/v1`` routes, ``{"error"}`` on ``/v2``.

Routes and middleware raise :class:`ApiError` (or FastAPI raises ``HTTPException`` and
``RequestValidationError``); the handlers installed by :func:`install_error_handlers` answer
each with the body its route family promises. :func:`documented` declares those bodies in the
OpenAPI schema for every status a route can return, so generated clients and schema checkers
see the truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from flagger.errors import FlaggerError

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE = "urn:flagger:problem:"
V2_PREFIX = "/v2"


class Problem(BaseModel):
    """An error (RFC 9457 problem details) with flagger's ``code`` and the limit that was hit."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="urn:flagger:problem:CODE")
    title: str = Field(description="the HTTP status phrase")
    status: int
    detail: str = Field(description="what went wrong, for a person")
    code: str = Field(description="a stable machine-readable name, e.g. body_too_large")
    limit: str | None = Field(default=None, description="the setting that was exceeded")
    max: int | float | None = Field(default=None, description="that setting's value")
    found: int | None = Field(default=None, description="what the request had")
    index: int | None = Field(default=None, description="which message in the request")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="for code invalid_request: each field that failed validation"
    )


class InferenceError(BaseModel):
    """An Open Inference Protocol v2 error."""

    error: str


class ApiError(Exception):
    """An error a route answers with: status, a stable ``code``, a message, details, headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers, self.details = headers or {}, details


def error_response(
    path: str,
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    **details: Any,
) -> JSONResponse:
    """The error body the route family of ``path`` promises."""
    if path == V2_PREFIX or path.startswith(V2_PREFIX + "/"):
        return JSONResponse({"error": message}, status, headers=headers)
    problem = Problem(
        type=PROBLEM_TYPE + code,
        title=HTTPStatus(status).phrase,
        status=status,
        detail=message,
        code=code,
        **details,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _validation_message(errors: list[dict[str, Any]]) -> str:
    first = errors[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}" if where else "invalid request"


def _safe_errors(errors: Any) -> list[dict[str, Any]]:
    """Validation errors without the input values (they may be message text)."""
    return [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": e["type"]}
        for e in errors
        if isinstance(e, dict) and "type" in e
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error raised in a route with the contract of the route's family."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(
            request.url.path, exc.status, exc.code, exc.message, exc.headers, **exc.details
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _safe_errors(exc.errors())
        message = _validation_message(errors)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if errors and errors[0]["loc"] == ["body"] and not media.endswith("json"):
            message = f"the body must be JSON sent as Content-Type: application/json ({message})"
        return error_response(request.url.path, 422, "invalid_request", message, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
        return error_response(request.url.path, exc.status_code, code, str(exc.detail), exc.headers)

    @app.exception_handler(FlaggerError)
    async def bad_input(request: Request, exc: FlaggerError) -> JSONResponse:
        return error_response(request.url.path, 422, "bad_input", str(exc))


def documented(*statuses: int, v2: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring the error body for each of ``statuses``."""
    if v2:
        return {
            status: {"model": InferenceError, "description": HTTPStatus(status).phrase}
            for status in statuses
        }
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
        }
        for status in statuses
    }
