"""Open Inference Protocol bodies: JSON and binary tensors, read and written exactly."""

from __future__ import annotations

import gzip
import json
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagger.api import oip
from flagger.api.problems import error_response


def request(texts: list[str], **extra: object) -> dict[str, object]:
    tensor = {"name": "text", "shape": [len(texts)], "datatype": "BYTES", "data": texts}
    return {"inputs": [tensor], **extra}


def binary_request(
    texts: list[str], outputs: list[dict[str, object]] | None = None
) -> tuple[bytes, str]:
    blob = oip.encode_bytes([t.encode("utf-8") for t in texts])
    tensor = {
        "name": "text",
        "shape": [len(texts)],
        "datatype": "BYTES",
        "parameters": {"binary_data_size": len(blob)},
    }
    head = json.dumps({"inputs": [tensor], **({"outputs": outputs} if outputs else {})})
    return head.encode() + blob, str(len(head.encode()))


@given(st.lists(st.text(), max_size=8))
def test_bytes_elements_round_trip(texts: list[str]) -> None:
    raw = [t.encode("utf-8") for t in texts]
    assert oip.decode_bytes(oip.encode_bytes(raw)) == raw


@given(st.lists(st.text(), min_size=1, max_size=8))
def test_json_and_binary_requests_give_the_same_texts(texts: list[str]) -> None:
    _, from_json = oip.parse_request(json.dumps(request(texts)).encode(), None, "text")
    body, length = binary_request(texts)
    _, from_binary = oip.parse_request(body, length, "text")
    assert from_json == from_binary == texts


def test_nested_json_data_is_flattened_by_shape() -> None:
    body = {
        "inputs": [{"name": "text", "shape": [2, 1], "datatype": "BYTES", "data": [["a"], ["b"]]}]
    }
    assert oip.parse_request(json.dumps(body).encode(), None, "text")[1] == ["a", "b"]


@pytest.mark.parametrize(
    ("body", "length", "words"),
    [
        (b"{oops", None, "invalid inference request"),
        (json.dumps(request(["a"])).encode(), "999", "within the body"),
        (json.dumps(request(["a"])).encode(), "-1", "within the body"),
        (
            json.dumps({"inputs": [{**request(["a"])["inputs"][0], "name": "x"}]}).encode(),
            None,
            "expected one input 'text'",
        ),  # type: ignore[index]
        (
            json.dumps({"inputs": [{**request(["a"])["inputs"][0], "datatype": "FP32"}]}).encode(),
            None,
            "must be BYTES",
        ),  # type: ignore[index]
        (
            json.dumps({"inputs": [{**request(["a", "b"])["inputs"][0], "shape": [3]}]}).encode(),
            None,
            "2 elements for shape [3]",
        ),  # type: ignore[index]
        (
            json.dumps({"inputs": [{**request(["a"])["inputs"][0], "shape": [-1]}]}).encode(),
            None,
            "bad shape",
        ),  # type: ignore[index]
        (json.dumps(request([1])).encode(), None, "not a string"),  # type: ignore[list-item]
        (
            json.dumps(request(["a"])).encode() + b"\x01",
            str(len(json.dumps(request(["a"])))),
            "no input declares",
        ),
    ],
    ids=[
        "json",
        "length-over",
        "length-negative",
        "name",
        "datatype",
        "shape",
        "negative",
        "type",
        "stray",
    ],
)
def test_malformed_requests_are_named(body: bytes, length: str | None, words: str) -> None:
    with pytest.raises(oip.ProtocolError) as raised:
        oip.parse_request(body, length, "text")
    assert raised.value.status == 400 and words in str(raised.value)


def test_truncated_binary_elements_are_refused() -> None:
    body, length = binary_request(["hello"])
    head = int(length)
    declared = json.loads(body[:head])
    declared["inputs"][0]["parameters"]["binary_data_size"] = 6
    head_bytes = json.dumps(declared).encode()
    with pytest.raises(oip.ProtocolError, match="ends inside"):
        oip.parse_request(head_bytes + struct.pack("<I", 5) + b"he", str(len(head_bytes)), "text")
    with pytest.raises(oip.ProtocolError, match="not UTF-8"):
        oip.parse_request(*binary_request_raw([b"\xff\xfe"]), "text")


def binary_request_raw(raw: list[bytes]) -> tuple[bytes, str]:
    blob = oip.encode_bytes(raw)
    tensor = {
        "name": "text",
        "shape": [len(raw)],
        "datatype": "BYTES",
        "parameters": {"binary_data_size": len(blob)},
    }
    head = json.dumps({"inputs": [tensor]}).encode()
    return head + blob, str(len(head))


def test_decompression_is_bounded() -> None:
    assert oip.decompress(gzip.compress(b"abc"), "gzip", 10) == b"abc"
    with pytest.raises(oip.ProtocolError) as raised:
        oip.decompress(gzip.compress(b"a" * 1000), "gzip", 100)
    assert raised.value.status == 413
    with pytest.raises(oip.ProtocolError) as raised:
        oip.decompress(b"abc", "br", 100)
    assert raised.value.status == 415
    with pytest.raises(oip.ProtocolError, match="not valid gzip"):
        oip.decompress(b"abc", "gzip", 100)


def test_requested_outputs_and_binary_choice() -> None:
    available = ["score", "flagged"]
    plain = oip.InferRequest.model_validate(request(["a"]))
    assert oip.wanted_outputs(plain, available) == [("score", False), ("flagged", False)]
    everything_binary = oip.InferRequest.model_validate(
        request(["a"], parameters={"binary_data_output": True})
    )
    assert oip.wanted_outputs(everything_binary, available) == [("score", True), ("flagged", True)]
    some = oip.InferRequest.model_validate(
        request(["a"], outputs=[{"name": "flagged", "parameters": {"binary_data": True}}])
    )
    assert oip.wanted_outputs(some, available) == [("flagged", True)]
    unknown = oip.InferRequest.model_validate(request(["a"], outputs=[{"name": "logits"}]))
    with pytest.raises(oip.ProtocolError, match="no output 'logits'"):
        oip.wanted_outputs(unknown, available)


def test_binary_response_reads_with_the_reference_client() -> None:
    infer_result = pytest.importorskip("tritonclient.http").InferResult
    tensors = [
        oip.Tensor("score", "FP32", [0.25, 0.75]),
        oip.Tensor("flagged", "BOOL", [False, True]),
        oip.Tensor("category", "BYTES", ["", "2. derogation ✓"]),
    ]
    binary = {"score": True, "flagged": True, "category": True}
    body, length = oip.encode_response("m", "1", "req-1", tensors, binary)
    assert length is not None
    parsed = infer_result.from_response_body(body, header_length=length)
    assert np.allclose(parsed.as_numpy("score"), [0.25, 0.75])
    assert parsed.as_numpy("flagged").tolist() == [False, True]
    assert [v.decode() for v in parsed.as_numpy("category")] == ["", "2. derogation ✓"]
    as_json, none = oip.encode_response("m", "1", None, tensors, {})
    assert none is None and json.loads(as_json)["outputs"][1]["data"] == [False, True]


def test_error_bodies_follow_the_route_family() -> None:
    v2 = error_response("/v2/models/x/infer", 404, "unknown_model", "no model 'x'")
    assert json.loads(v2.body) == {"error": "no model 'x'"}
    assert v2.media_type == "application/json"
    v1 = error_response("/v1/classify", 413, "too_many_messages", "too many", limit="max_messages")
    assert v1.media_type == "application/problem+json"
    assert json.loads(v1.body) == {
        "type": "urn:flagger:problem:too_many_messages",
        "title": "Request Entity Too Large",
        "status": 413,
        "detail": "too many",
        "code": "too_many_messages",
        "limit": "max_messages",
    }
    assert json.loads(error_response("/v2x", 400, "c", "m").body)["code"] == "c"
