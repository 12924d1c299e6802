"""The review API on a real socket: stock Open Inference Protocol clients and clean 413s.

tritonclient (the reference OIP v2 client) talks JSON and the binary tensor extension; urllib,
requests and httpx each read the 413 for a body over the limit, as long as the body is within
the drain bound; a slow sender is cut off at the drain time limit; ``Expect: 100-continue`` is
answered before the body is sent.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import httpx
import numpy as np
import pytest
import requests

from live_server import serving_shipped

triton = pytest.importorskip("tritonclient.http")
from tritonclient.utils import InferenceServerException  # noqa: E402

pytestmark = pytest.mark.shipped_model
KEY = {"Authorization": "Bearer ck"}
JSON = {**KEY, "Content-Type": "application/json"}
SEXIST = "Women are too emotional to lead, they belong in the kitchen."
BENIGN = "Briefing moved to 09:30 \N{CHECK MARK} ça va"
MAX_BODY, DRAIN_MAX, DRAIN_TIMEOUT_S = 4096, 262_144, 1.5


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving_shipped(
        tmp_path_factory.mktemp("live"),
        api_keys="ck=classify",
        max_body_bytes=MAX_BODY,
        drain_max_bytes=DRAIN_MAX,
        drain_timeout_s=DRAIN_TIMEOUT_S,
    ) as url:
        yield url


@pytest.fixture(scope="module")
def client(base: str) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(base.removeprefix("http://"))


def keyed() -> dict[str, str]:
    """A fresh header dict per call: tritonclient writes its own headers into the one given."""
    return dict(KEY)


def text_input(texts: list[str], binary: bool) -> triton.InferInput:
    tensor = triton.InferInput("text", [len(texts)], "BYTES")
    tensor.set_data_from_numpy(np.array(texts, dtype=object), binary_data=binary)
    return tensor


def test_triton_client_health_and_metadata(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("flagger-edos")
    assert client.is_model_ready("flagger-edos", "1.3.2")
    assert not client.is_model_ready("flagger-edos", "0.9")
    assert not client.is_model_ready("other")
    server = client.get_server_metadata(headers=keyed())
    assert server["name"] == "flagger" and "binary_tensor_data" in server["extensions"]
    meta = client.get_model_metadata("flagger-edos", "1.3.2", headers=keyed())
    assert meta["versions"] == ["1.3.2"] and meta["inputs"][0]["datatype"] == "BYTES"
    assert [o["name"] for o in meta["outputs"]] == [
        "score",
        "flagged",
        "uncertain",
        "category",
        "vector",
    ]


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_triton_client_infers(client: triton.InferenceServerClient, binary: bool) -> None:
    texts = [SEXIST, BENIGN]
    everything = client.infer("flagger-edos", [text_input(texts, binary)], headers=keyed())
    assert everything.as_numpy("flagged").tolist() == [True, False]
    scores = everything.as_numpy("score")
    assert scores.dtype == np.float32 and scores[0] > 0.5 > scores[1]
    assert everything.as_numpy("category")[0].decode().startswith(("1.", "2.", "3.", "4."))
    asked = [
        triton.InferRequestedOutput("flagged", binary_data=binary),
        triton.InferRequestedOutput("score", binary_data=not binary),
    ]
    some = client.infer(
        "flagger-edos",
        [text_input(texts, binary)],
        outputs=asked,
        model_version="1.3.2",
        parameters={"threshold": 0.99},
        headers=keyed(),
    )
    assert [o["name"] for o in some.get_response()["outputs"]] == ["flagged", "score"]
    assert some.as_numpy("flagged").tolist() == [False, False]  # the threshold was honoured
    assert np.allclose(some.as_numpy("score"), scores)


def test_triton_client_compressed_request(client: triton.InferenceServerClient) -> None:
    for algorithm in ("gzip", "deflate"):
        result = client.infer(
            "flagger-edos",
            [text_input([SEXIST], True)],
            request_compression_algorithm=algorithm,
            headers=keyed(),
        )
        assert result.as_numpy("flagged").tolist() == [True]


@pytest.mark.parametrize(
    ("call", "status", "words"),
    [
        (lambda c: c.infer("flagger-edos", [text_input(["hi"], True)]), 401, "API key"),
        (lambda c: c.get_model_metadata("other", headers=keyed()), 404, "no model 'other'"),
        (
            lambda c: c.infer(
                "flagger-edos", [text_input(["hi"], True)], model_version="0.9", headers=keyed()
            ),
            404,
            "no version '0.9'",
        ),
        (
            lambda c: c.infer(
                "flagger-edos",
                [text_input(["hi"], False)],
                parameters={"threshold": "weird"},
                headers=keyed(),
            ),
            422,
            "unknown threshold",
        ),
        (
            lambda c: c.infer(
                "flagger-edos",
                [text_input(["hi"], True)],
                outputs=[triton.InferRequestedOutput("logits")],
                headers=keyed(),
            ),
            400,
            "no output 'logits'",
        ),
    ],
    ids=["no-key", "unknown-model", "unknown-version", "bad-threshold", "unknown-output"],
)
def test_triton_client_reads_protocol_errors(
    client: triton.InferenceServerClient,
    call: Callable[[triton.InferenceServerClient], object],
    status: int,
    words: str,
) -> None:
    with pytest.raises(InferenceServerException) as raised:
        call(client)
    assert raised.value.status() == str(status) and words in raised.value.message()


def test_v2_errors_use_the_protocol_body(base: str) -> None:
    too_big = httpx.post(f"{base}/v2/models/flagger-edos/infer", content=b"x" * 5000, headers=KEY)
    assert too_big.status_code == 413 and set(too_big.json()) == {"error"}
    no_key = httpx.get(f"{base}/v2/models/flagger-edos")
    assert no_key.status_code == 401 and set(no_key.json()) == {"error"}
    broken = httpx.post(f"{base}/v2/models/flagger-edos/infer", content=b"{oops", headers=KEY)
    assert broken.status_code == 400 and "invalid inference request" in broken.json()["error"]


def post_urllib(url: str, body: bytes) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, data=body, headers=JSON)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        error.read()
        return error.code, {k.lower(): v for k, v in error.headers.items()}


def post_requests(url: str, body: bytes) -> tuple[int, dict[str, str]]:
    response = requests.post(url, data=body, headers=JSON, timeout=30)
    return response.status_code, {k.lower(): v for k, v in response.headers.items()}


def post_httpx(url: str, body: bytes) -> tuple[int, dict[str, str]]:
    response = httpx.post(url, content=body, headers=JSON, timeout=30)
    return response.status_code, dict(response.headers)


CLIENTS = {"urllib": post_urllib, "requests": post_requests, "httpx": post_httpx}


@pytest.mark.parametrize("name", list(CLIENTS))
def test_413_is_read_by_every_client_under_the_drain_bound(base: str, name: str) -> None:
    post = CLIENTS[name]
    for size in (MAX_BODY + 1, DRAIN_MAX - 1024, DRAIN_MAX):
        status, headers = post(f"{base}/v1/classify", b" " * size)
        assert status == 413, (name, size)
        if name != "urllib":  # urllib itself asks for Connection: close
            assert headers.get("connection") != "close"  # drained: the connection stays open


@pytest.mark.parametrize("name", list(CLIENTS))
def test_over_the_drain_bound_the_connection_is_closed(base: str, name: str) -> None:
    """Beyond the bound the server does not read on: a 413 with ``Connection: close`` if the
    client gets to read it (loopback buffers often let it), else a broken connection."""
    started = time.monotonic()
    try:
        status, headers = CLIENTS[name](f"{base}/v1/classify", b" " * (DRAIN_MAX + 1024))
    except (OSError, urllib.error.URLError, requests.ConnectionError, httpx.TransportError):
        pass
    else:
        assert status == 413 and headers.get("connection") == "close"
    assert time.monotonic() - started < 10
    assert httpx.get(f"{base}/healthz").status_code == 200


def test_a_drained_413_keeps_the_connection(base: str) -> None:
    with requests.Session() as session:
        refused = session.post(f"{base}/v1/classify", data=b" " * 10_000, headers=JSON)
        body = {"messages": [{"id": "a", "text": "hi"}]}
        accepted = session.post(f"{base}/v1/classify", json=body, headers=KEY)
    assert (refused.status_code, accepted.status_code) == (413, 200)


def raw_request(base: str, declared: int, extra: str = "") -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    head = (
        "POST /v1/classify HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer ck\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n{extra}\r\n"
    )
    sock.sendall(head.encode("ascii"))
    return sock


def read_all(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_expect_100_continue_is_refused_before_the_body(base: str) -> None:
    with raw_request(base, 1_000_000, "Expect: 100-continue\r\n") as sock:
        answer = read_all(sock)  # the server closes after answering; no body was sent
    assert answer.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in answer
    assert b'"code":"body_too_large"' in answer


def test_a_slow_sender_is_cut_off_at_the_time_limit(base: str) -> None:
    started = time.monotonic()
    with raw_request(base, 100_000) as sock:
        sock.settimeout(0.1)
        answer = b""
        while time.monotonic() - started < DRAIN_TIMEOUT_S + 5:
            try:
                sock.sendall(b" " * 16)
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer.lower()
    assert DRAIN_TIMEOUT_S <= elapsed < DRAIN_TIMEOUT_S + 3
