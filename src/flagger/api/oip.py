"""Open Inference Protocol v2 bodies: JSON tensors and the binary tensor data extension.

An inference request is JSON, optionally followed by binary tensor data: the header
``Inference-Header-Content-Length`` says how many leading bytes are JSON, and each input with
``parameters.binary_data_size`` takes that many of the bytes after it, in input order. A BYTES
element is a 4-byte little-endian length and then its bytes. Outputs go back the same way when
a requested output says ``binary_data: true`` or the request says ``binary_data_output: true``.
Everything here is pure: bytes in, validated tensors or bytes out, :class:`ProtocolError` for a
body that breaks the protocol.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

HEADER_LENGTH = "Inference-Header-Content-Length"
Datatype = Literal["BOOL", "FP32", "BYTES"]


class ProtocolError(Exception):
    """A request body the protocol cannot read; ``status`` is the HTTP answer (400, 413, 415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class InferInput(BaseModel):
    """An input tensor: its values in ``data`` (JSON) or in the binary section."""

    name: str
    shape: list[int]
    datatype: str
    data: list[Any] | None = None
    parameters: dict[str, Any] | None = None


class RequestedOutput(BaseModel):
    """An output the caller wants, and whether as binary data."""

    name: str
    parameters: dict[str, Any] | None = None


class InferRequest(BaseModel):
    """``POST /v2/models/{name}/infer``: one BYTES input ``text`` of UTF-8 messages."""

    id: str | None = None
    parameters: dict[str, Any] | None = Field(
        default=None,
        description="threshold (operating point name or number); binary_data_output (bool)",
    )
    inputs: list[InferInput] = Field(min_length=1)
    outputs: list[RequestedOutput] | None = None


class InferOutput(BaseModel):
    """An output tensor: values in ``data``, or ``parameters.binary_data_size`` bytes after."""

    model_config = ConfigDict(extra="forbid")

    name: str
    shape: list[int]
    datatype: str
    data: list[Any] | None = None
    parameters: dict[str, Any] | None = None


class InferResponse(BaseModel):
    """Open Inference Protocol v2 response."""

    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[InferOutput]


@dataclass(frozen=True)
class Tensor:
    """A named output with its values, before encoding."""

    name: str
    datatype: Datatype
    values: list[Any]


def decompress(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate), never growing past ``max_bytes``."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding not in {"gzip", "deflate"}:
        raise ProtocolError(415, f"Content-Encoding {encoding!r} is not supported (gzip, deflate)")
    inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error:
        raise ProtocolError(400, f"the body is not valid {encoding} data") from None
    if len(out) > max_bytes:
        raise ProtocolError(413, f"the decompressed body is over the limit of {max_bytes} bytes")
    return out


def _header_length(value: str | None, size: int) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit() or int(value) > size:
        raise ProtocolError(
            400, f"{HEADER_LENGTH} must be a byte count within the body ({size} bytes)"
        )
    return int(value)


def _flatten(values: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        flat.extend(_flatten(value) if isinstance(value, list) else [value])
    return flat


def decode_bytes(raw: bytes) -> list[bytes]:
    """BYTES elements from the binary form: each a 4-byte little-endian length, then bytes."""
    items, offset = [], 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise ProtocolError(400, "binary BYTES data ends inside an element's length")
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise ProtocolError(400, "binary BYTES data ends inside an element")
        items.append(raw[offset : offset + length])
        offset += length
    return items


def encode_bytes(values: list[bytes]) -> bytes:
    """The binary form of BYTES elements."""
    return b"".join(struct.pack("<I", len(v)) + v for v in values)


def parse_request(
    body: bytes, header_length: str | None, input_name: str
) -> tuple[InferRequest, list[str]]:
    """The request and the texts of its one BYTES input ``input_name``.

    Raises:
        ProtocolError: malformed JSON, header length or binary data; any other input layout.
    """
    json_size = _header_length(header_length, len(body))
    head, binary = (body, b"") if json_size is None else (body[:json_size], body[json_size:])
    try:
        request = InferRequest.model_validate_json(head)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ProtocolError(400, f"invalid inference request: {where}: {first['msg']}") from None
    if len(request.inputs) != 1 or request.inputs[0].name != input_name:
        names = [tensor.name for tensor in request.inputs]
        raise ProtocolError(400, f"expected one input {input_name!r}; the request has {names}")
    tensor = request.inputs[0]
    if tensor.datatype != "BYTES":
        raise ProtocolError(400, f"input {input_name!r} must be BYTES, not {tensor.datatype!r}")
    if any(not isinstance(d, int) or isinstance(d, bool) or d < 0 for d in tensor.shape):
        raise ProtocolError(400, f"input {input_name!r} has a bad shape {tensor.shape}")
    size = (tensor.parameters or {}).get("binary_data_size")
    if size is not None:
        if not isinstance(size, int) or isinstance(size, bool) or size != len(binary):
            raise ProtocolError(
                400,
                f"input {input_name!r} declares binary_data_size {size!r}; "
                f"{len(binary)} bytes follow the JSON",
            )
        elements: list[Any] = decode_bytes(binary)
    elif binary:
        raise ProtocolError(400, "binary data follows the JSON but no input declares its size")
    elif tensor.data is None:
        raise ProtocolError(400, f"input {input_name!r} has no data")
    else:
        elements = _flatten(tensor.data)
    if len(elements) != math.prod(tensor.shape):
        raise ProtocolError(
            400, f"input {input_name!r} has {len(elements)} elements for shape {tensor.shape}"
        )
    texts = []
    for index, element in enumerate(elements):
        if isinstance(element, bytes):
            try:
                element = element.decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError(400, f"element {index} is not UTF-8") from None
        if not isinstance(element, str):
            raise ProtocolError(400, f"element {index} of {input_name!r} is not a string")
        texts.append(element)
    return request, texts


def _binary(tensor: Tensor) -> bytes:
    if tensor.datatype == "BYTES":
        return encode_bytes([str(v).encode("utf-8") for v in tensor.values])
    dtype = "<f4" if tensor.datatype == "FP32" else np.bool_
    return np.asarray(tensor.values, dtype=dtype).tobytes()


def wanted_outputs(request: InferRequest, available: list[str]) -> list[tuple[str, bool]]:
    """Which outputs to return, in order, and whether each goes as binary data.

    Raises:
        ProtocolError: an unknown output name or a non-boolean ``binary_data``.
    """
    default = (request.parameters or {}).get("binary_data_output", False)
    if not isinstance(default, bool):
        raise ProtocolError(400, "parameter binary_data_output must be true or false")
    if request.outputs is None:
        return [(name, default) for name in available]
    wanted = []
    for output in request.outputs:
        if output.name not in available:
            raise ProtocolError(400, f"no output {output.name!r}; this model has {available}")
        binary = (output.parameters or {}).get("binary_data", default)
        if not isinstance(binary, bool):
            raise ProtocolError(400, f"output {output.name!r}: binary_data must be true or false")
        wanted.append((output.name, binary))
    return wanted


def encode_response(
    model_name: str,
    model_version: str,
    request_id: str | None,
    tensors: list[Tensor],
    binary: dict[str, bool],
) -> tuple[bytes, int | None]:
    """The response body, and the JSON header's length when binary data follows it."""
    outputs, blobs = [], []
    for tensor in tensors:
        entry: dict[str, Any] = {
            "name": tensor.name,
            "shape": [len(tensor.values)],
            "datatype": tensor.datatype,
        }
        if binary.get(tensor.name):
            blob = _binary(tensor)
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            entry["data"] = tensor.values
        outputs.append(entry)
    header = {"model_name": model_name, "model_version": model_version, "outputs": outputs}
    if request_id is not None:
        header["id"] = request_id
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    if not blobs:
        return head, None
    return head + b"".join(blobs), len(head)
