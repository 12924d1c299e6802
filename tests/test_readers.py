"""Streaming readers for scan: records, ids, locations and per-record errors."""

from pathlib import Path

import pytest

from flagger.errors import InputFileError
from flagger.readers import Message, ReadError, read_messages


def test_csv_records_carry_ids_and_locations(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text('id,text\na,"first line\nsecond line"\n,no id here\n', encoding="utf-8")
    records = list(read_messages(path))
    assert records == [
        Message(id="a", text="first line\nsecond line", source=f"{path}:3"),
        Message(id="2", text="no id here", source=f"{path}:4"),
    ]


def test_tsv_and_custom_fields(tmp_path: Path) -> None:
    path = tmp_path / "m.tsv"
    path.write_text("msg_id\tbody\nx1\thello there\n")
    (record,) = read_messages(path, text_field="body", id_field="msg_id")
    assert record == Message(id="x1", text="hello there", source=f"{path}:2")


def test_jsonl_bad_records_become_errors(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"text": "ok", "id": 7}\n\n{"text": 5}\n{"id": "no text"}\n')
    records = list(read_messages(path))
    assert records[0] == Message(id="7", text="ok", source=f"{path}:1")
    assert [type(r) for r in records[1:]] == [ReadError, ReadError]
    assert "expected a string" in records[1].reason and records[1].source.endswith(":3")
    assert "missing field 'text'" in records[2].reason


def test_large_fields_are_read(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("text\n" + "word " * 100_000 + "\n")
    (record,) = read_messages(path)
    assert isinstance(record, Message) and len(record.text) == 500_000


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("absent.csv", None, "no such file"),
        ("empty.jsonl", b"", "file is empty"),
        ("latin.csv", b"text\nok\nna\xefve\n", r"latin.csv:3: not valid UTF-8"),
        ("m.csv", b"body\nhello\n", "missing column 'text'"),
        ("m.xml", b"<x/>", "cannot tell the format"),
    ],
)
def test_file_level_errors(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputFileError, match=message):
        list(read_messages(path))
