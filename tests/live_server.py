"""Serve an app with uvicorn on loopback, in a thread, for tests that need real sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from flagger import Flagger
from flagger.api import ServiceSettings, create_app


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Run ``app`` until the block ends; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", http="h11"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("the test server did not start in 60 s")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serving_shipped(tmp: Path, **settings: Any) -> Iterator[str]:
    """The shipped model behind the API with ``settings``; audit log and store under ``tmp``."""
    config = ServiceSettings(
        audit_log=tmp / "audit.jsonl", store_url=f"sqlite:///{tmp / 'labels.db'}", **settings
    )
    with serving(create_app(config, Flagger.load())) as base:
        yield base
