"""Write scan results as JSON Lines, flushed batch by batch so finished work is never lost."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from flagger.errors import InputFileError


class JsonlWriter:
    """Append JSON objects to a file, one per line; refuses to replace an existing file."""

    def __init__(self, path: str | Path, *, overwrite: bool = False) -> None:
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise InputFileError(
                f"{self.path}: output already exists; choose another path or pass --overwrite"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("w", encoding="utf-8")
        self.written = 0

    def write_batch(self, records: Iterable[dict[str, Any]]) -> None:
        """Write records and push them to disk before returning."""
        lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
        self._handle.writelines(lines)
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.written += len(lines)

    def close(self) -> None:
        """Close the file."""
        self._handle.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
