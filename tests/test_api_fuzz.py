"""Schemathesis fuzzes the running API from its own OpenAPI schema: no 5xx, ever."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings

from flagger import Flagger
from flagger.api import ServiceSettings, create_app

schemathesis = pytest.importorskip("schemathesis")
pytestmark = pytest.mark.shipped_model


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served by uvicorn on loopback, in a thread, with the shipped model."""
    tmp = tmp_path_factory.mktemp("api")
    config = ServiceSettings(
        api_keys="fuzz-admin=admin",
        audit_log=tmp / "audit.jsonl",
        store_url=f"sqlite:///{tmp / 'labels.db'}",
        max_messages=8,
        max_chars=2000,
        max_body_bytes=65536,
    )
    port = free_port()
    app = create_app(config, Flagger.load())
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def schema(server: str) -> object:
    return schemathesis.openapi.from_url(f"{server}/openapi.json")


def test_no_server_errors_from_schema_driven_requests(schema: object, server: str) -> None:
    operations = list(schema.get_all_operations())  # type: ignore[attr-defined]
    assert len(operations) >= 10
    for result in operations:
        operation = result.ok()

        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        @given(case=operation.as_strategy())
        def check(case: object) -> None:
            response = case.call(  # type: ignore[attr-defined]
                base_url=server, headers={"Authorization": "Bearer fuzz-admin"}
            )
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: "  # type: ignore[attr-defined]
                f"{response.text[:300]}"
            )

        check()
