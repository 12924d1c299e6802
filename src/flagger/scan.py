"""Scan an archive: read messages in bounded batches, score them, write one verdict per message.

Output is flushed after every batch, so an interruption keeps every finished batch. Records that
cannot be read go to an errors file (location and reason, never the text) and the scan goes on.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any, TextIO

from tqdm.auto import tqdm

from flagger.model import Flagger
from flagger.readers import Message, ReadError, Record, read_messages
from flagger.writers import JsonlWriter

logger = logging.getLogger(__name__)


@dataclass
class ScanSummary:
    """What a scan did: counts, breakdowns and where the outputs are."""

    output: str
    model_version: str
    threshold: dict[str, Any]
    read: int = 0
    flagged: int = 0
    uncertain: int = 0
    errors: int = 0
    seconds: float = 0.0
    errors_file: str | None = None
    categories: Counter[str] = field(default_factory=Counter)
    vectors: Counter[str] = field(default_factory=Counter)
    score_histogram: list[int] = field(default_factory=lambda: [0] * 10)

    @property
    def messages_per_second(self) -> float:
        """Scoring throughput over the whole scan."""
        return self.read / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, as written by ``--report``."""
        flag_rate = self.flagged / self.read if self.read else 0.0
        return {
            **asdict(self),
            "categories": dict(self.categories.most_common()),
            "vectors": dict(self.vectors.most_common()),
            "flag_rate": round(flag_rate, 6),
            "messages_per_second": round(self.messages_per_second, 2),
        }


class _ErrorLog:
    """Where unreadable records go: created on the first error, flushed as it is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: TextIO | None = None

    def write(self, errors: list[ReadError]) -> None:
        if not errors:
            return
        if self._handle is None:
            self._handle = self.path.open("w", encoding="utf-8")
        for error in errors:
            self._handle.write(json.dumps({"source": error.source, "reason": error.reason}) + "\n")
        self._handle.flush()

    def __enter__(self) -> _ErrorLog:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()


# Full distributions stay out of scan output: files stay small, the top label is there.
_DISTRIBUTIONS = {"categories", "vectors"}


def _batches(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while batch := list(islice(records, size)):
        yield batch


def scan(
    flagger: Flagger,
    path: str | Path,
    output: str | Path,
    *,
    text_field: str = "text",
    id_field: str = "id",
    author_field: str | None = None,
    time_field: str | None = None,
    fmt: str | None = None,
    threshold: str | float | None = None,
    explain: bool = True,
    batch_size: int = 256,
    overwrite: bool = False,
    only_flagged: bool = False,
    progress: bool | None = None,
) -> ScanSummary:
    """Score every message of an archive file and write verdicts as JSON Lines.

    Args:
        flagger: the loaded model.
        path: CSV, TSV or JSONL archive.
        output: the JSONL file to write; never replaced unless ``overwrite``.
        text_field, id_field: where the text and id are in each record.
        author_field, time_field: where the sender and time are (tabular input), if anywhere.
        fmt: force the input format instead of inferring it from the extension.
        threshold: operating point name or number; the model's default when ``None``.
        explain: find the spans that drive each flagged message's score.
        batch_size: messages read, scored and written at a time (bounds memory).
        overwrite: allow replacing an existing output file.
        only_flagged: write only the flagged messages (the summary still counts every one).
        progress: show a progress bar; ``None`` shows it only on a terminal.

    Raises:
        InputFileError: unreadable input or an output that already exists.
    """
    started = time.monotonic()
    records = read_messages(
        path,
        text_field=text_field,
        id_field=id_field,
        fmt=fmt,
        author_field=author_field,
        time_field=time_field,
    )
    first = next(records, None)  # surfaces file-level errors before the output is created
    records = chain([first], records) if first is not None else iter(())
    rule = flagger.resolve_threshold(threshold)
    summary = ScanSummary(
        output=str(output), model_version=flagger.version, threshold=rule.model_dump()
    )
    errors = _ErrorLog(Path(f"{output}.errors.jsonl"))
    if overwrite:
        errors.path.unlink(missing_ok=True)  # a stale log would blame this scan for old errors
    with (
        JsonlWriter(output, overwrite=overwrite) as writer,
        errors,
        tqdm(
            desc="scanning", unit="msg", disable=None if progress is None else not progress
        ) as bar,
    ):
        for batch in _batches(records, batch_size):
            messages = [r for r in batch if isinstance(r, Message)]
            errors.write([r for r in batch if isinstance(r, ReadError)])
            results = flagger.score(
                [m.text for m in messages], threshold=threshold, explain=explain
            )
            rows: list[dict[str, Any]] = []
            for message, result in zip(messages, results, strict=True):
                summary.score_histogram[min(int(result.score * 10), 9)] += 1
                summary.uncertain += result.uncertain
                if result.flagged:
                    summary.flagged += 1
                    summary.categories[str(result.category)] += 1
                    summary.vectors[str(result.vector)] += 1
                if only_flagged and not result.flagged:
                    continue
                rows.append(
                    {
                        "id": message.id,
                        **result.model_dump(exclude=_DISTRIBUTIONS),
                        "model_version": flagger.version,
                        "source": message.source,
                        **{
                            key: value
                            for key in ("author", "sent_at", "removed_chars")
                            if (value := getattr(message, key)) is not None
                        },
                    }
                )
            writer.write_batch(rows)
            summary.read += len(messages)
            summary.errors += len(batch) - len(messages)
            bar.update(len(batch))
    if summary.errors:
        summary.errors_file = str(errors.path)
        logger.warning("%d records could not be read; see %s", summary.errors, errors.path)
    summary.seconds = round(time.monotonic() - started, 3)
    return summary
