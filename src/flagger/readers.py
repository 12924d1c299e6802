"""Stream messages out of archive files, one record at a time, with their source location.

CSV/TSV, JSONL and plain text (one message per line) are read line by line, and Parquet in
record batches, so memory stays flat whatever the file size. A record that cannot be read (bad
JSON, a missing text field, a damaged e-mail) is yielded as a ``ReadError`` naming its line or
row, so a scan can log it and go on; a readable record with no authored text (empty, whitespace,
attachments or quoted text only) is a ``Skipped``, which is not an error.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from flagger.boilerplate import Boilerplate
from flagger.errors import InputFileError
from flagger.files import require_file, require_utf8, tabular_format
from flagger.slack import is_slack_export, read_slack

# Archive rows can hold whole email bodies; the csv module's default field limit is 128 KiB.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class Message:
    """One message to score; ``source`` is ``file:line`` for tracing it back.

    Emails also carry their sender, date, and how many characters of quoted replies and
    signature were removed from the body.
    """

    id: str
    text: str
    source: str
    author: str | None = None
    sent_at: str | None = None
    removed_chars: int | None = None


@dataclass(frozen=True)
class ReadError:
    """A record that could not be turned into a message."""

    source: str
    reason: str


@dataclass(frozen=True)
class Skipped:
    """A readable record with nothing of its author's to judge: counted and listed, not an error.

    Empty or whitespace-only text, an e-mail with attachments only or only quoted text, a Slack
    file share without a message.
    """

    source: str
    reason: str


Record = Message | ReadError | Skipped


@dataclass(frozen=True)
class Fields:
    """Where a tabular record keeps the text, the id, and (optionally) the author and time."""

    text: str = "text"
    id: str = "id"
    author: str | None = None
    time: str | None = None

    def columns(self, available: Sequence[str]) -> list[str]:
        """The named columns that ``available`` has (the text column first)."""
        wanted = [self.text, self.id, self.author, self.time]
        return list(dict.fromkeys(c for c in wanted if c is not None and c in available))


def _message(record: dict[str, object], fields: Fields, source: str, row_number: int) -> Record:
    text_field, id_field = fields.text, fields.id
    text = record.get(text_field)
    if text is None:
        return ReadError(source, f"missing field {text_field!r}")
    if not isinstance(text, str):
        return ReadError(
            source, f"field {text_field!r} is {type(text).__name__}, expected a string"
        )
    if not text.strip():
        return Skipped(source, "empty text" if not text else "whitespace only")
    raw_id = record.get(id_field)
    message_id = str(raw_id) if raw_id not in (None, "") else str(row_number)
    author = record.get(fields.author) if fields.author else None
    sent_at = record.get(fields.time) if fields.time else None
    return Message(
        id=message_id,
        text=text,
        source=source,
        author=str(author) if author not in (None, "") else None,
        sent_at=str(sent_at) if sent_at not in (None, "") else None,
    )


def _read_csv(path: Path, fields: Fields, tabs: bool) -> Iterator[Record]:
    text_field = fields.text
    delimiter = "\t" if tabs else ","
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        header = reader.fieldnames or []
        if text_field not in header:
            raise InputFileError(
                f"{path}:1: missing column {text_field!r}; found {header} "
                "(use --text-field to name the text column)"
            )
        for row_number, row in enumerate(reader, start=1):
            yield _message(row, fields, f"{path}:{reader.line_num}", row_number)


def _read_jsonl(path: Path, fields: Fields) -> Iterator[Record]:
    with path.open(encoding="utf-8") as handle:
        row_number = 0
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row_number += 1
            source = f"{path}:{line_number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield ReadError(source, f"invalid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(record, dict):
                yield ReadError(source, f"expected a JSON object, found {type(record).__name__}")
                continue
            yield _message(record, fields, source, row_number)


def _read_text(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if text.strip():
                yield Message(id=str(line_number), text=text, source=f"{path}:{line_number}")


def _read_parquet(path: Path, fields: Fields, batch_rows: int = 1024) -> Iterator[Record]:
    text_field = fields.text
    import pyarrow.parquet as pq  # only Parquet scans pay for the import

    try:
        table = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputFileError(f"{path}: not a readable Parquet file ({exc})") from None
    names = table.schema_arrow.names
    if text_field not in names:
        raise InputFileError(
            f"{path}: missing column {text_field!r}; found {names} "
            "(use --text-field to name the text column)"
        )
    columns = fields.columns(names)
    row_number = 0
    for batch in table.iter_batches(batch_size=batch_rows, columns=columns):
        for row in batch.to_pylist():
            row_number += 1
            yield _message(row, fields, f"{path}:row {row_number}", row_number)


EMAIL_FORMATS = ("mbox", "eml", "maildir")


def _read_slack(path: Path) -> Iterator[Record]:
    for found in read_slack(path):
        if found.error is not None:
            yield ReadError(found.location, found.error)
        elif found.text is None:
            yield Skipped(found.location, found.skipped or "no text")
        else:
            yield Message(
                id=found.id or found.location,
                text=found.text,
                source=found.location,
                author=found.author,
                sent_at=found.sent_at,
            )


def _read_emails(path: Path, boilerplate: Boilerplate | None) -> Iterator[Record]:
    from flagger.emails import NoAuthoredTextError, email_text, iter_mailbox, parse_bytes

    for location, raw in iter_mailbox(path):
        try:
            found = email_text(parse_bytes(raw), boilerplate)
        except NoAuthoredTextError as nothing:
            yield Skipped(location, nothing.reason)
            continue
        except Exception as exc:  # a damaged message must not stop the archive
            yield ReadError(location, f"unreadable email ({exc})")
            continue
        yield Message(
            id=found.message_id or location,
            text=found.text,
            source=location,
            author=found.author,
            sent_at=found.sent_at,
            removed_chars=found.removed_chars,
        )


def read_messages(
    path: str | Path,
    *,
    text_field: str = "text",
    id_field: str = "id",
    fmt: str | None = None,
    author_field: str | None = None,
    time_field: str | None = None,
    boilerplate: Boilerplate | None = None,
) -> Iterator[Record]:
    """Yield the messages (or read errors, or skipped records) of an archive, in its order.

    Args:
        path: the archive file or folder.
        text_field: column or key holding the message text.
        id_field: column or key holding the message id; the row number when absent.
        author_field, time_field: columns or keys holding the sender and the time, reported
            with each verdict (emails and Slack exports carry their own).
        boilerplate: the rules e-mail bodies are stripped by (the defaults when ``None``).
        fmt: ``csv``, ``tsv``, ``jsonl``, ``parquet``, ``txt`` (one message per line), or
            ``mbox``, ``eml``, ``maildir`` for email, ``slack`` for a Slack export; inferred
            from the extension when ``None`` (a ``.zip`` is a Slack export; a directory is a
            Slack export, a Maildir or a folder of ``.eml`` files).

    Raises:
        InputFileError: missing, empty, non-UTF-8 or unsupported file, or a CSV without the text
            column. Problems with single records are yielded as ``ReadError`` instead.
    """
    where = Path(path)
    kind = (fmt or where.suffix).lower().lstrip(".")
    named_slack = kind == "slack" or (fmt is None and kind == "zip")
    if named_slack or (fmt is None and where.is_dir() and is_slack_export(where)):
        if not is_slack_export(where):
            raise InputFileError(f"{where}: not a Slack export (a zip or its unpacked folder)")
        yield from _read_slack(where)
        return
    if where.is_dir() or kind in EMAIL_FORMATS:
        if not where.exists():
            raise InputFileError(f"{where}: no such file or directory")
        yield from _read_emails(where, boilerplate)
        return
    fields = Fields(text_field, id_field, author_field, time_field)
    file = require_file(path)
    if kind in {"txt", "text"}:
        require_utf8(file)
        yield from _read_text(file)
        return
    builder = tabular_format(file, fmt)
    if builder == "parquet":
        yield from _read_parquet(file, fields)
        return
    require_utf8(file)
    if builder == "csv":
        yield from _read_csv(file, fields, tabs=kind == "tsv")
    else:
        yield from _read_jsonl(file, fields)


def estimate_records(path: str | Path, fmt: str | None = None) -> int | None:
    """A cheap count of the records in an archive, for a progress ETA; ``None`` when costly.

    Lines for text, JSONL and CSV/TSV (one less for the header; cells with newlines make it an
    overestimate), row counts from Parquet metadata, nothing for email and Slack archives.
    """
    where = Path(path)
    if not where.is_file():
        return None
    kind = (fmt or where.suffix).lower().lstrip(".")
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(where).metadata.num_rows)
        if kind not in {"txt", "text", "jsonl", "ndjson", "json", "csv", "tsv"}:
            return None
        lines = 0
        with where.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                lines += chunk.count(b"\n")
    except Exception:  # an estimate must never stop a scan; the reader reports real problems
        return None
    return max(lines - (kind in {"csv", "tsv"}), 0)
