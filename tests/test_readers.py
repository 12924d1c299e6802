"""Streaming readers for scan: records, ids, locations and per-record errors."""

from pathlib import Path

import pytest

from flagger.errors import InputFileError
from flagger.readers import Message, ReadError, Skipped, read_messages


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


def test_parquet_is_streamed_in_batches_with_row_locations(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flagger import readers

    path = tmp_path / "m.parquet"
    texts = [f"message {i}" for i in range(2500)]
    texts[7] = ""
    pq.write_table(pa.table({"body": texts, "msg_id": [f"m{i}" for i in range(2500)]}), path)
    fields = readers.Fields(text="body", id="msg_id")
    records = list(readers._read_parquet(path, fields, batch_rows=1000))
    assert len(records) == 2500
    assert records[0] == Message(id="m0", text="message 0", source=f"{path}:row 1")
    assert records[7] == Skipped(f"{path}:row 8", "empty text")
    assert list(read_messages(path, text_field="body", id_field="msg_id"))[1:3] == records[1:3]
    with pytest.raises(InputFileError, match="missing column 'text'"):
        list(read_messages(path))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(InputFileError, match="not a readable Parquet file"):
        list(read_messages(broken))


def test_plain_text_is_one_message_per_line(tmp_path: Path) -> None:
    path = tmp_path / "chat.txt"
    path.write_text("hello there\n\n  \nsecond message\r\n", encoding="utf-8")
    assert list(read_messages(path)) == [
        Message(id="1", text="hello there", source=f"{path}:1"),
        Message(id="4", text="second message", source=f"{path}:4"),
    ]
    tsv_named_txt = tmp_path / "export.dat"
    tsv_named_txt.write_text("id\ttext\nq\thi\n")
    (record,) = read_messages(tsv_named_txt, fmt="tsv")
    assert record.text == "hi"


def test_author_and_time_fields(tmp_path: Path) -> None:
    path = tmp_path / "chat.csv"
    path.write_text("id,text,from,when\n1,hello,Sam,2026-03-01T09:00\n2,hi,,\n", encoding="utf-8")
    first, second = read_messages(path, author_field="from", time_field="when")
    assert isinstance(first, Message) and (first.author, first.sent_at) == (
        "Sam",
        "2026-03-01T09:00",
    )
    assert isinstance(second, Message) and second.author is None and second.sent_at is None
    jsonl = tmp_path / "chat.jsonl"
    jsonl.write_text('{"text": "yo", "user": "Kate", "ts": 1772323200}\n')
    (record,) = read_messages(jsonl, author_field="user", time_field="ts")
    assert isinstance(record, Message) and (record.author, record.sent_at) == ("Kate", "1772323200")
