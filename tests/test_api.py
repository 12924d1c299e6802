"""The review API with the shipped model: every route, role and limit; no text in logs."""

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from flagger import Flagger
from flagger.api import ServiceSettings, create_app
from flagger.api.auth import digest
from flagger.errors import ConfigError
from flagger.store import LabelStore

pytestmark = pytest.mark.shipped_model
KEYS = "ck=classify,rk=review,ak=admin"
CLASSIFY, REVIEW, ADMIN = ({"Authorization": f"Bearer {k}"} for k in ("ck", "rk", "ak"))
SEXIST = "Women are too emotional to lead, they belong in the kitchen."


@pytest.fixture(scope="module")
def shipped() -> Flagger:
    return Flagger.load()


def settings(tmp: Path, **overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "api_keys": KEYS,
        "audit_log": tmp / "audit.jsonl",
        "store_url": f"sqlite:///{tmp / 'labels.db'}",
        "max_messages": 4,
        "max_chars": 500,
        "max_body_bytes": 4096,
    }
    return ServiceSettings(**{**values, **overrides})


@pytest.fixture
def client(tmp_path: Path, shipped: Flagger) -> Iterator[TestClient]:
    with TestClient(create_app(settings(tmp_path), shipped)) as test_client:
        yield test_client


def classify(
    client: TestClient, texts: list[str], headers: dict[str, str] = CLASSIFY, **extra: Any
):  # type: ignore[no-untyped-def]
    body = {"messages": [{"id": f"m{i}", "text": t} for i, t in enumerate(texts)], **extra}
    return client.post("/v1/classify", json=body, headers=headers)


def test_health_and_metrics_need_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/v2/health/ready").json() == {"ready": True}
    classify(client, ["hello team"])
    metrics = client.get("/metrics").text
    assert 'flagger_requests_total{route="/v1/classify",status="200"}' in metrics
    assert "flagger_batch_messages_bucket" in metrics and "flagger_score_bucket" in metrics


def test_classify_in_order_with_spans(client: TestClient) -> None:
    response = classify(client, [SEXIST, "Briefing moved to 09:30."], explain=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == {"name": "flagger-edos", "version": "1.3.2"}
    first, second = body["results"]
    assert [first["id"], second["id"]] == ["m0", "m1"]
    assert first["flagged"] and not second["flagged"]
    assert first["spans"] and all(
        SEXIST[s["start"] : s["end"]] == s["text"] for s in first["spans"]
    )
    assert first["schema_version"] == 2 and isinstance(first["evidence_complete"], bool)
    assert all(SEXIST[t["start"] : t["end"]] == t["text"] for t in first["targets"])
    evidence = {i for s in first["spans"] for i in range(s["start"], s["end"])}
    assert not any(i in evidence for t in first["targets"] for i in range(t["start"], t["end"]))
    assert first["threshold"]["name"] == "default" and first["category"]
    alert = classify(client, [SEXIST], threshold="alert").json()["results"][0]
    assert alert["threshold"]["name"] == "alert" and alert["spans"] is None


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": "ck"}, 401),
        (CLASSIFY, 200),
    ],
)
def test_classify_needs_a_known_key(
    client: TestClient, headers: dict[str, str], status: int
) -> None:
    assert classify(client, ["hello"], headers=headers).status_code == status


def test_feedback_needs_review_role_and_is_stored(client: TestClient, tmp_path: Path) -> None:
    body = {"id": "m9", "text": SEXIST, "label": "sexist", "category": "2. derogation"}
    assert client.post("/v1/feedback", json=body, headers=CLASSIFY).status_code == 403
    response = client.post("/v1/feedback", json=body, headers=REVIEW)
    assert response.status_code == 201 and response.json()["stored"]
    assert client.post("/v1/feedback", json=body, headers=ADMIN).status_code == 201
    bad = client.post("/v1/feedback", json={**body, "category": "9. made up"}, headers=REVIEW)
    assert bad.status_code == 422 and "category" in bad.text
    assert LabelStore(f"sqlite:///{tmp_path / 'labels.db'}").counts() == {"cases": 1, "labels": 2}


def test_model_route_and_admin_reload(client: TestClient) -> None:
    info = client.get("/v1/model", headers=CLASSIFY).json()
    assert info["version"] == "1.3.2" and set(info["operating_points"]) >= {"default", "alert"}
    assert client.get("/v1/model").status_code == 401
    assert client.post("/v1/admin/reload", json={}, headers=REVIEW).status_code == 403
    reloaded = client.post("/v1/admin/reload", json={}, headers=ADMIN)
    assert reloaded.status_code == 200 and reloaded.json()["model_version"] == "flagger-edos@1.3.2"
    assert classify(client, ["hello"]).status_code == 200


def test_limits_are_named(client: TestClient) -> None:
    many = classify(client, ["hi"] * 5)
    assert many.status_code == 413 and many.json()["limit"] == "max_messages"
    assert many.headers["content-type"] == "application/problem+json"
    assert many.json() == {
        "type": "urn:flagger:problem:too_many_messages",
        "title": "Request Entity Too Large",
        "status": 413,
        "detail": "5 messages in one request; the limit is 4",
        "code": "too_many_messages",
        "limit": "max_messages",
        "max": 4,
        "found": 5,
    }
    long = classify(client, ["x" * 501])
    assert long.status_code == 422 and long.json()["limit"] == "max_chars"
    huge = client.post("/v1/classify", content=b"{" + b" " * 5000 + b"}", headers=CLASSIFY)
    assert huge.status_code == 413 and huge.json()["limit"] == "max_body_bytes"
    assert huge.json()["found"] == 5002
    chunks = (b" " * 1000 for _ in range(10))  # no Content-Length: counted as it streams in
    streamed = client.post("/v1/classify", content=chunks, headers=CLASSIFY)
    assert streamed.status_code == 413 and streamed.json()["code"] == "body_too_large"
    small = b'{"messages": [{"id": "a", "text": "hi"}]}'
    json_type = {**CLASSIFY, "Content-Type": "application/json"}
    chunked = (small[i : i + 5] for i in range(0, len(small), 5))
    assert client.post("/v1/classify", content=chunked, headers=json_type).status_code == 200
    untyped = client.post("/v1/classify", content=small, headers=CLASSIFY)
    assert (
        untyped.status_code == 422 and "Content-Type: application/json" in untyped.json()["detail"]
    )
    bad = classify(client, ["hi"], threshold="nonsense")
    assert bad.status_code == 422 and bad.json()["code"] == "bad_threshold"
    empty = classify(client, [])
    assert empty.status_code == 422 and empty.json()["code"] == "invalid_request"
    assert empty.json()["errors"][0]["loc"] == ["body", "messages"]
    assert "input" not in empty.json()["errors"][0]  # validation errors never echo message text


def test_rate_limit_and_full_queue(tmp_path: Path, shipped: Flagger) -> None:
    limited = settings(tmp_path, rate_limit_per_minute=2)
    with TestClient(create_app(limited, shipped)) as client:
        assert [classify(client, ["hi"]).status_code for _ in range(3)] == [200, 200, 429]
        assert int(classify(client, ["hi"]).headers["Retry-After"]) >= 1
    tiny_queue = settings(tmp_path, queue_max_messages=1)
    with TestClient(create_app(tiny_queue, shipped)) as client:
        full = classify(client, ["one", "two"])
        assert full.status_code == 503 and full.headers["Retry-After"] == "1"


def test_keys_are_required_unless_explicitly_insecure(tmp_path: Path, shipped: Flagger) -> None:
    with pytest.raises(ConfigError, match="no API keys"):
        create_app(settings(tmp_path, api_keys=""), shipped)
    with TestClient(
        create_app(settings(tmp_path, api_keys="", insecure_no_auth=True), shipped)
    ) as client:
        assert classify(client, ["hi"], headers={}).status_code == 200


def test_hashed_keys_file(tmp_path: Path, shipped: Flagger) -> None:
    keys = tmp_path / "keys.jsonl"
    keys.write_text(
        json.dumps({"name": "case-system", "role": "review", "sha256": digest("s3cret")})
    )
    with TestClient(create_app(settings(tmp_path, api_keys="", keys_file=keys), shipped)) as client:
        assert (
            classify(client, ["hi"], headers={"Authorization": "Bearer s3cret"}).status_code == 200
        )
        assert (
            classify(client, ["hi"], headers={"Authorization": "Bearer s3cre"}).status_code == 401
        )


def test_open_inference_protocol(client: TestClient) -> None:
    meta = client.get("/v2/models/flagger-edos", headers=CLASSIFY)
    assert meta.status_code == 200 and meta.json()["inputs"][0]["datatype"] == "BYTES"
    assert client.get("/v2/models/other", headers=CLASSIFY).status_code == 404
    body = {"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": [SEXIST, "hi"]}]}
    response = client.post("/v2/models/flagger-edos/infer", json=body, headers=CLASSIFY)
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o["data"] for o in response.json()["outputs"]}
    assert outputs["flagged"] == [True, False] and len(outputs["score"]) == 2


def test_no_message_text_in_any_log(
    client: TestClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = "Zyxwvut women are useless Qqqq"
    with caplog.at_level(logging.DEBUG):
        classify(client, [marker, "x" * 501])
        classify(client, [marker], explain=True)
        client.post(
            "/v1/feedback", json={"id": "z", "text": marker, "label": "sexist"}, headers=REVIEW
        )
        body = {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [marker]}]}
        client.post("/v2/models/flagger-edos/infer", json=body, headers=CLASSIFY)
    assert caplog.records, "the API should log its requests"
    for record in caplog.records:
        assert "Zyxwvut" not in record.getMessage()
    audit = (tmp_path / "audit.jsonl").read_text()
    assert "Zyxwvut" not in audit and '"action": "label"' in audit


def test_request_ids_reach_the_caller_the_log_and_the_audit(
    client: TestClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="flagger.api"):
        given = classify(client, ["hello team"], headers={**CLASSIFY, "X-Request-ID": "case-42"})
        made = classify(client, ["hello team"])
        refused = classify(client, ["hello team"], headers={"Authorization": "Bearer nope"})
    assert given.headers["x-request-id"] == "case-42"
    assert made.headers["x-request-id"] and made.headers["x-request-id"] != "case-42"
    assert refused.status_code == 401 and refused.headers["x-request-id"]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("request_id=")]
    assert any("request_id=case-42" in line and "status=200" in line for line in lines)
    assert any("status=401" in line and "key=-" in line for line in lines)
    assert any("key=key1" in line and "messages=1" in line for line in lines)
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert "case-42" in {entry["request_id"] for entry in audit}
