"""Reviewers' labels in and out of files: CSV/JSONL rows and Label Studio JSON exports.

Rows need ``id``, ``text`` and ``label`` (``sexist`` / ``not sexist``; also 1/0, true/false),
and may carry ``category``, ``vector``, ``reviewer``, ``note`` and ``picked`` (``audit`` for a
uniformly random audit pick, ``queue`` for the review queue's). A Label Studio export is a
JSON list of tasks whose ``data`` holds ``text`` (and ``id``) and whose annotations hold a
``choices`` result with the label (and optionally category and vector choices). A bad row is
reported with its location and skipped; every good row is stored in its own transaction, so an
interrupted import keeps what it stored and can simply be run again (a label repeated by the same
reviewer changes nothing that counts: the latest label per reviewer is the one used).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flagger.errors import ConfigError, InputFileError
from flagger.labels import CATEGORIES, VECTORS
from flagger.store import Feedback, LabelStore

_TRUE = {"sexist", "1", "true", "yes"}
_FALSE = {"not sexist", "not_sexist", "0", "false", "no"}


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    stored: int
    skipped: list[str]  # "file:line: reason"


def _label(value: object) -> str:
    text = str(value).strip().lower()
    if text in _TRUE:
        return "sexist"
    if text in _FALSE:
        return "not sexist"
    raise ConfigError(f"label must be 'sexist' or 'not sexist', found {value!r}")


def _optional(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return None if text.lower() in {"", "none", "null"} else text


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                yield f"{path}:{reader.line_num}", dict(row)
    elif suffix in {".jsonl", ".ndjson"}:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        yield f"{path}:{number}", json.loads(line)
                    except json.JSONDecodeError as exc:
                        yield f"{path}:{number}", {"__error__": f"invalid JSON ({exc.msg})"}
    elif suffix == ".json":
        yield from _label_studio(path)
    else:
        raise InputFileError(f"{path}: labels must be .csv, .jsonl or a Label Studio .json export")


def _label_studio(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputFileError(f"{path}: not a readable Label Studio export ({exc})") from None
    if not isinstance(tasks, list):
        raise InputFileError(f"{path}: a Label Studio export is a JSON list of tasks")
    for index, task in enumerate(tasks):
        data = task.get("data", {}) if isinstance(task, dict) else {}
        for annotation in task.get("annotations", []) if isinstance(task, dict) else []:
            if annotation.get("was_cancelled"):
                continue
            choices = [
                choice
                for result in annotation.get("result", [])
                for choice in result.get("value", {}).get("choices", [])
            ]
            row = {
                "id": data.get("id", task.get("id")),
                "text": data.get("text"),
                "label": next((c for c in choices if c.lower() in _TRUE | _FALSE), None),
                "category": next((c for c in choices if c in CATEGORIES), None),
                "vector": next((c for c in choices if c in VECTORS), None),
                "reviewer": str(annotation.get("completed_by", "label-studio")),
                "picked": data.get("picked"),
            }
            yield f"{path}: task {index}", row


def import_labels(
    path: str | Path, store: LabelStore, *, reviewer: str = "import", source: str = "import"
) -> ImportReport:
    """Store every good row of a labels file; report the bad ones.

    Raises:
        InputFileError: for a missing file or an unsupported format.
    """
    file = Path(path)
    if not file.is_file():
        raise InputFileError(f"{file}: no such labels file")
    stored, skipped = 0, []
    for location, row in _rows(file):
        try:
            if "__error__" in row:
                raise ConfigError(row["__error__"])
            message_id, text = _optional(row.get("id")), _optional(row.get("text"))
            if message_id is None or text is None:
                raise ConfigError("needs an id and a text")
            store.add(
                Feedback(
                    message_id=message_id,
                    text=str(row.get("text")),
                    label=_label(row.get("label")),
                    reviewer=_optional(row.get("reviewer")) or reviewer,
                    category=_optional(row.get("category")),
                    vector=_optional(row.get("vector")),
                    note=_optional(row.get("note")),
                    source=source,
                    picked=_optional(row.get("picked")),
                )
            )
            stored += 1
        except ConfigError as exc:
            skipped.append(f"{location}: {exc}")
    return ImportReport(stored, skipped)


def export_labels(store: LabelStore, path: str | Path) -> int:
    """Write every label (history included) as JSON lines; return how many."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with target.open("w", encoding="utf-8") as handle:
        for message_id, (case, by_reviewer) in store.all_labels().items():
            for label in by_reviewer:
                row = {
                    "id": message_id,
                    "text": case.text,
                    "label": label.label,
                    "category": label.category,
                    "vector": label.vector,
                    "reviewer": label.reviewer,
                    "note": label.note,
                    "picked": case.picked,
                    "model_version": label.model_version,
                    "labelled_at": label.created_at.isoformat(),
                }
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
    return count
