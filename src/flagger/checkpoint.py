"""The small file that makes a scan resumable: how far it got and what it was doing.

After every committed batch the scan records how many input records it has consumed, where the
output and the errors file end, and its running summary, in ``OUT.checkpoint.json`` (written to a
temporary file, fsynced, then renamed, so a crash leaves the old or the new one, never half).
``--resume`` refuses a checkpoint made with other inputs or settings, naming what changed.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flagger.errors import InputFileError
from flagger.results import SCHEMA_VERSION

CHECKPOINT_VERSION = 1


class InputStamp(BaseModel):
    """An input as it was when the scan started, to notice it changing under a resume."""

    model_config = ConfigDict(frozen=True)

    path: str
    size: int
    modified: float

    @classmethod
    def of(cls, path: Path) -> InputStamp:
        """Stamp a file, or a folder by the newest of its files."""
        if path.is_dir():
            files = [p.stat() for p in path.rglob("*") if p.is_file()]
            size = sum(s.st_size for s in files)
            modified = max((s.st_mtime for s in files), default=path.stat().st_mtime)
        else:
            stat = path.stat()
            size, modified = stat.st_size, stat.st_mtime
        return cls(path=str(path.resolve()), size=size, modified=round(modified, 3))


class Checkpoint(BaseModel):
    """Everything a resumed scan needs to carry on exactly where the last commit left off."""

    version: int = CHECKPOINT_VERSION
    schema_version: int = Field(
        default=1, description="result contract of the rows written (1: before it had a version)"
    )
    inputs: list[InputStamp]
    settings: dict[str, Any] = Field(description="what decides the verdicts and the output rows")
    consumed: int = Field(
        default=0, description="input records (messages and errors) fully handled"
    )
    output_position: int | None = Field(
        default=None, description="bytes, or Parquet parts, committed"
    )
    errors_position: int = 0
    summary: dict[str, Any] = Field(default_factory=dict)
    complete: bool = False
    started_at: str = ""
    updated_at: str = ""

    def save(self, path: Path) -> None:
        """Replace the checkpoint file atomically."""
        self.updated_at = datetime.now(UTC).isoformat(timespec="seconds")
        partial = path.with_name(path.name + ".tmp")
        with partial.open("w", encoding="utf-8") as handle:
            handle.write(self.model_dump_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)

    def check_matches(self, inputs: list[InputStamp], settings: dict[str, Any]) -> None:
        """Refuse to resume a different scan.

        Raises:
            InputFileError: naming the input or setting that differs.
        """
        before = [(s.path, s.size, s.modified) for s in self.inputs]
        now = [(s.path, s.size, s.modified) for s in inputs]
        if [p for p, *_ in before] != [p for p, *_ in now]:
            raise InputFileError(
                f"cannot resume: the scan was of {[p for p, *_ in before]}, "
                f"not {[p for p, *_ in now]}"
            )
        for (path, *old), (_, *new) in zip(before, now, strict=True):
            if old != new:
                raise InputFileError(
                    f"cannot resume: {path} changed since the scan started "
                    "(size or modification time); start again with --overwrite"
                )
        changed = sorted(
            k
            for k in settings.keys() | self.settings.keys()
            if settings.get(k) != self.settings.get(k)
        )
        if changed:
            details = ", ".join(
                f"{k}: {self.settings.get(k)!r} then, {settings.get(k)!r} now" for k in changed
            )
            raise InputFileError(f"cannot resume with different settings ({details})")


def checkpoint_path(output: Path) -> Path:
    """Where the checkpoint of a scan writing ``output`` lives."""
    return output.with_name(output.name + ".checkpoint.json")


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint.

    Raises:
        InputFileError: if it is missing or unreadable.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        checkpoint = Checkpoint.model_validate(data)
    except FileNotFoundError:
        raise InputFileError(f"{path}: no checkpoint to resume from") from None
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise InputFileError(f"{path}: unreadable checkpoint ({exc})") from None
    if checkpoint.version != CHECKPOINT_VERSION:
        raise InputFileError(
            f"{path}: checkpoint version {checkpoint.version}, this flagger reads "
            f"{CHECKPOINT_VERSION}"
        )
    if checkpoint.schema_version != SCHEMA_VERSION:
        raise InputFileError(
            f"{path}: cannot resume: the rows already written use result schema "
            f"{checkpoint.schema_version} and this flagger writes schema {SCHEMA_VERSION} "
            "(evidence and targets are now separate); finish the scan with the flagger that "
            "started it, or start again with --overwrite"
        )
    return checkpoint
