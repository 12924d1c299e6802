"""Schemathesis drives the running API from its own OpenAPI schema, every route, v1 and v2.

Each operation gets at least 50 generated requests, and every answer must pass four checks: no
server error, a status the schema declares for the route, a declared content type, and a body
that matches the declared schema (errors included). The schema is served as is, not narrowed.
"""

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from live_server import serving_shipped

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.shipped_model
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 50


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on loopback with the shipped model, limits small enough to be reached."""
    with serving_shipped(
        tmp_path_factory.mktemp("api"),
        api_keys="fuzz-admin=admin",
        max_messages=8,
        max_chars=2000,
        max_body_bytes=65536,
        rate_limit_per_minute=1_000_000,
    ) as base:
        yield base


def test_every_operation_conforms_to_the_schema(server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = {operation.path for operation in operations}
    assert {"/v1/classify", "/v1/feedback", "/v2/models/{name}/infer", "/v2"} <= paths
    assert len(operations) >= 16
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def check(case: object) -> None:
            case.call_and_validate(  # type: ignore[attr-defined]
                base_url=server,
                headers={"Authorization": "Bearer fuzz-admin"},
                checks=CHECKS,
            )

        check()
