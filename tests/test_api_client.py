"""A client generated from the served OpenAPI schema works, errors included.

``openapi-python-client`` builds a package from ``/openapi.json`` of a live server; the test
classifies and sends feedback through it, and reads a 413 and a 422 as the generated typed
``Problem`` model, not as raw responses.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from live_server import serving_shipped

pytest.importorskip("openapi_python_client")
pytestmark = pytest.mark.shipped_model
PACKAGE = "flagger_review_client"
SEXIST = "Women are too emotional to lead, they belong in the kitchen."


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving_shipped(
        tmp_path_factory.mktemp("client-api"),
        api_keys="rk=review",
        max_messages=4,
        max_chars=500,
        max_body_bytes=4096,
    ) as url:
        yield url


@pytest.fixture(scope="module")
def generated(base: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package generated from the live server's schema, imported."""
    tmp = tmp_path_factory.mktemp("client")
    spec = tmp / "openapi.json"
    spec.write_bytes(httpx.get(f"{base}/openapi.json").content)
    config = tmp / "config.yaml"
    config.write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n", encoding="utf-8")
    generator = Path(sys.executable).with_name("openapi-python-client")
    made = subprocess.run(
        [
            *(str(generator), "generate", "--path", str(spec), "--meta", "none"),
            *("--output-path", str(tmp / PACKAGE), "--config", str(config)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    sys.path.insert(0, str(tmp))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_generated_client_classifies_and_sends_feedback(generated: ModuleType, base: str) -> None:
    classify = importlib.import_module(f"{PACKAGE}.api.classify.classify")
    feedback = importlib.import_module(f"{PACKAGE}.api.review.feedback")
    models = importlib.import_module(f"{PACKAGE}.models")
    client = generated.AuthenticatedClient(base_url=base, token="rk")
    request = models.ClassifyRequest(
        messages=[
            models.MessageIn(id="m1", text=SEXIST),
            models.MessageIn(id="m2", text="Briefing moved to 09:30."),
        ],
        explain=True,
    )
    answer = classify.sync(client=client, body=request)
    assert isinstance(answer, models.ClassifyResponse)
    assert [v.id for v in answer.results] == ["m1", "m2"]
    assert answer.results[0].flagged and answer.results[0].spans
    stored = feedback.sync(
        client=client,
        body=models.FeedbackRequest(id="m1", text=SEXIST, label=models.FeedbackRequestLabel.SEXIST),
    )
    assert isinstance(stored, models.FeedbackResponse) and stored.stored


def test_generated_client_reads_errors_as_typed_problems(generated: ModuleType, base: str) -> None:
    classify = importlib.import_module(f"{PACKAGE}.api.classify.classify")
    models = importlib.import_module(f"{PACKAGE}.models")
    client = generated.AuthenticatedClient(base_url=base, token="rk")
    many = models.ClassifyRequest(
        messages=[models.MessageIn(id=f"m{i}", text="hello") for i in range(5)]
    )
    too_many = classify.sync_detailed(client=client, body=many)
    assert too_many.status_code == 413 and isinstance(too_many.parsed, models.Problem)
    assert (too_many.parsed.code, too_many.parsed.limit, too_many.parsed.max_) == (
        "too_many_messages",
        "max_messages",
        4,
    )
    huge = models.ClassifyRequest(messages=[models.MessageIn(id="big", text="x" * 5000)])
    too_big = classify.sync_detailed(client=client, body=huge)
    assert too_big.status_code == 413 and isinstance(too_big.parsed, models.Problem)
    assert too_big.parsed.limit == "max_body_bytes"
    long = models.ClassifyRequest(messages=[models.MessageIn(id="long", text="x" * 501)])
    too_long = classify.sync_detailed(client=client, body=long)
    assert too_long.status_code == 422 and isinstance(too_long.parsed, models.Problem)
    assert (too_long.parsed.code, too_long.parsed.index) == ("message_too_long", 0)
    wrong_key = generated.AuthenticatedClient(base_url=base, token="nope")
    refused = classify.sync_detailed(client=wrong_key, body=long)
    assert refused.status_code == 401 and isinstance(refused.parsed, models.Problem)
