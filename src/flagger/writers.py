"""Write scan results as JSON Lines, CSV or Parquet (by extension), resumably, and read them back.

Every writer commits rows in batches and reports a ``position`` after each commit: a byte offset
for JSONL and CSV, a number of finished part files for Parquet. A resumed scan reopens the output
at the position its checkpoint recorded, which drops a half-written last line and any rows written
after the checkpoint, so no verdict is lost or written twice.

Parquet cannot be appended to, so a Parquet scan writes numbered part files next to the output
(``OUT.parts/``) and joins them into ``OUT`` when the scan finishes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from flagger.errors import InputFileError

OUTPUT_FORMATS = ("jsonl", "csv", "parquet")

_THRESHOLD = pa.struct([("name", pa.string()), ("value", pa.float64())])
_SPAN = pa.struct(
    [("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()), ("weight", pa.float64())]
)
_TARGET = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("text", pa.string())])
# Every row has these columns, in this order; absent values are null. ``schema_version`` is the
# result contract's (``flagger.results.SCHEMA_VERSION``); outputs written before it existed have
# none, and ``read_results`` gives them version 1.
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("flagged", pa.bool_()),
        ("score", pa.float64()),
        ("uncertain", pa.bool_()),
        ("threshold", _THRESHOLD),
        ("category", pa.string()),
        ("category_probability", pa.float64()),
        ("vector", pa.string()),
        ("vector_probability", pa.float64()),
        ("windows", pa.int64()),
        ("part", pa.struct([("start", pa.int64()), ("end", pa.int64())])),
        ("spans", pa.list_(_SPAN)),
        ("targets", pa.list_(_TARGET)),
        ("score_without_spans", pa.float64()),
        ("evidence_complete", pa.bool_()),
        ("model_version", pa.string()),
        ("schema_version", pa.int64()),
        ("source", pa.string()),
        ("author", pa.string()),
        ("sent_at", pa.string()),
        ("removed_chars", pa.int64()),
        ("text", pa.string()),
    ]
)
COLUMNS = tuple(SCHEMA.names)
_NESTED = {"threshold", "spans", "targets", "part"}
_BOOLEANS = {"flagged", "uncertain", "evidence_complete"}


def output_format(path: str | Path) -> str:
    """``jsonl``, ``csv`` or ``parquet`` from the output's extension.

    Raises:
        InputFileError: for any other extension.
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    kind = {"json": "jsonl", "ndjson": "jsonl", "pq": "parquet"}.get(suffix, suffix)
    if kind not in OUTPUT_FORMATS:
        raise InputFileError(
            f"{path}: output must end in .jsonl, .csv or .parquet (found {suffix or 'none'!r})"
        )
    return kind


class ResultWriter(Protocol):
    """Appends committed batches of rows; ``position`` is where a resumed scan picks up."""

    path: Path

    def write_batch(self, rows: list[dict[str, Any]]) -> None: ...

    def position(self) -> int: ...

    def close(self, *, finished: bool) -> None: ...


class _LineWriter:
    """A text file appended line by line, fsynced per batch; reopened at a byte position."""

    def __init__(self, path: Path, start: int | None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if start is None:
            self._handle = path.open("w+b")
            self._write_header()
        else:
            self._handle = path.open("r+b")
            self._handle.truncate(start)  # drops a torn last line and anything uncommitted
            self._handle.seek(start)

    def _write_header(self) -> None:
        """Lines a new file starts with (none for JSONL)."""

    def _encode(self, rows: list[dict[str, Any]]) -> bytes:
        raise NotImplementedError

    def write_batch(self, rows: list[dict[str, Any]]) -> None:
        """Write rows and push them to disk before returning."""
        if rows:
            self._handle.write(self._encode(rows))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def position(self) -> int:
        """Bytes committed so far."""
        return self._handle.tell()

    def close(self, *, finished: bool) -> None:
        """Close the file (nothing more to do when finished)."""
        self._handle.close()


class JsonlWriter(_LineWriter):
    """One JSON object per line, nested fields kept as objects."""

    def _encode(self, rows: list[dict[str, Any]]) -> bytes:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


class CsvWriter(_LineWriter):
    """One row per message, every column of ``SCHEMA``; nested fields as JSON text."""

    def _write_header(self) -> None:
        self._handle.write(_csv_lines([dict(zip(COLUMNS, COLUMNS, strict=True))]))

    def _encode(self, rows: list[dict[str, Any]]) -> bytes:
        return _csv_lines([_flat(r) for r in rows])


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for column in COLUMNS:
        value = row.get(column)
        if column in _NESTED and value is not None:
            value = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        flat[column] = value
    return flat


def _csv_lines(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


class ParquetPartsWriter:
    """Numbered part files per batch; joined into one Parquet file when the scan finishes."""

    def __init__(self, path: Path, start: int | None) -> None:
        self.path = path
        self.parts = parts_dir(path)
        if start is None:
            shutil.rmtree(self.parts, ignore_errors=True)
            self._count = 0
        else:
            self._count = start
            for part in self.parts.glob("part-*.parquet"):  # written after the checkpoint
                if int(part.stem.split("-")[1]) >= start:
                    part.unlink()
        self.parts.mkdir(parents=True, exist_ok=True)

    def write_batch(self, rows: list[dict[str, Any]]) -> None:
        """Write rows as the next part file (atomically: a torn part is never counted)."""
        if not rows:
            return
        table = pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in rows], SCHEMA)
        final = self.parts / f"part-{self._count:06d}.parquet"
        partial = final.with_suffix(".tmp")
        pq.write_table(table, partial)
        os.replace(partial, final)
        self._count += 1

    def position(self) -> int:
        """Part files committed so far."""
        return self._count

    def close(self, *, finished: bool) -> None:
        """When finished, join the parts into the output file, one row group per part."""
        if not finished:
            return
        partial = self.path.with_name(self.path.name + ".tmp")
        with pq.ParquetWriter(partial, SCHEMA) as writer:
            for index in range(self._count):
                writer.write_table(pq.read_table(self.parts / f"part-{index:06d}.parquet"))
        os.replace(partial, self.path)
        shutil.rmtree(self.parts, ignore_errors=True)


def parts_dir(path: Path) -> Path:
    """Where a Parquet scan keeps its part files until it finishes."""
    return path.with_name(path.name + ".parts")


def open_writer(path: str | Path, *, start: int | None = None) -> ResultWriter:
    """A writer for ``path``'s format: new when ``start`` is ``None``, else resumed there."""
    target = Path(path)
    kind = output_format(target)
    if kind == "parquet":
        return ParquetPartsWriter(target, start)
    if start is not None and not target.is_file():
        raise InputFileError(f"{target}: cannot resume, the output file is gone")
    return (JsonlWriter if kind == "jsonl" else CsvWriter)(target, start)


def read_results(path: str | Path) -> Iterator[dict[str, Any]]:
    """Stream the rows of a finished scan output in the JSONL shape, whatever its format.

    Rows written before the contract was versioned come back with ``schema_version`` 1 (their
    ``spans`` may hold target words, and they have no ``targets``).
    """
    for row in _read_rows(Path(path)):
        row.setdefault("schema_version", 1)
        yield row


def _read_rows(target: Path) -> Iterator[dict[str, Any]]:
    kind = output_format(target)
    if kind == "jsonl":
        with target.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)
    elif kind == "csv":
        with target.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                yield _unflat(row)
    else:
        for batch in pq.ParquetFile(target).iter_batches(batch_size=1024):
            yield from ({k: v for k, v in r.items() if v is not None} for r in batch.to_pylist())


_FLOATS = {"score", "category_probability", "vector_probability", "score_without_spans"}
_INTS = {"windows", "removed_chars", "schema_version"}


def _unflat(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, value in row.items():
        if value == "":
            continue
        if column in _NESTED:
            out[column] = json.loads(value)
        elif column in _BOOLEANS:
            out[column] = value == "true"
        elif column in _FLOATS:
            out[column] = float(value)
        elif column in _INTS:
            out[column] = int(value)
        else:
            out[column] = value
    return out


def remove_outputs(path: Path, extra: Iterable[Path] = ()) -> None:
    """Delete an output and everything a scan keeps beside it (for ``--overwrite``)."""
    for stale in (path, *extra):
        stale.unlink(missing_ok=True)
    shutil.rmtree(parts_dir(path), ignore_errors=True)
