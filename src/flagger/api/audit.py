"""The audit trail: who classified or labelled what, as JSON lines (ids and verdicts, no text)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class AuditLog:
    """Appends one JSON object per action, flushed as written; safe across threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def record(self, action: str, *, key: str, request_id: str, **details: Any) -> None:
        """Write one entry: time, action, key name, request id and the details given."""
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "action": action,
            "key": key,
            "request_id": request_id,
            **details,
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self._handle.write(line)
            self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._handle.close()
