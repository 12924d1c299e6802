"""Checks shared by every reader of user files: the file exists, is not empty, and is UTF-8.

Each check raises ``InputFileError`` naming the file (and, for encoding, the line), so a user
sees what to fix instead of a decoder's stack trace.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from flagger.errors import InputFileError

TABULAR_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
    ".parquet": "parquet",
}


def require_file(path: str | Path) -> Path:
    """Return ``path`` as a ``Path`` if it is a non-empty file.

    Raises:
        InputFileError: if it does not exist, is a directory, or is empty.
    """
    file = Path(path)
    if not file.exists():
        raise InputFileError(f"{file}: no such file")
    if not file.is_file():
        raise InputFileError(f"{file}: is a directory, expected a file")
    if file.stat().st_size == 0:
        raise InputFileError(f"{file}: file is empty")
    return file


def require_utf8(path: Path) -> None:
    """Check a text file decodes as UTF-8, reading it in chunks.

    Raises:
        InputFileError: naming the line of the first byte that is not UTF-8.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            try:
                decoded = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line += chunk[: exc.start].count(b"\n")
                raise InputFileError(
                    f"{path}:{line}: not valid UTF-8 (byte {chunk[exc.start]:#04x}); "
                    "re-save the file as UTF-8"
                ) from None
            line += decoded.count("\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise InputFileError(f"{path}:{line}: file ends inside a UTF-8 character") from None


def tabular_format(path: Path, fmt: str | None = None) -> str:
    """Name the Hugging Face ``datasets`` builder for a file: ``csv``, ``json`` or ``parquet``.

    Raises:
        InputFileError: if the format is neither given nor known from the extension.
    """
    if fmt:
        fmt = fmt.lower().lstrip(".")
        fmt = {"jsonl": "json", "ndjson": "json", "tsv": "csv"}.get(fmt, fmt)
        if fmt in {"csv", "json", "parquet"}:
            return fmt
        raise InputFileError(f"unknown format {fmt!r}; expected csv, tsv, jsonl or parquet")
    try:
        return TABULAR_FORMATS[path.suffix.lower()]
    except KeyError:
        raise InputFileError(
            f"{path}: cannot tell the format from extension {path.suffix!r}; "
            f"expected one of {sorted(TABULAR_FORMATS)} or pass --format"
        ) from None
