"""Scan archives: read messages in bounded batches, score them, commit verdicts resumably.

Data flows one way: a ``RecordSource`` streams the inputs' records; an engine (local, or Ray in
``flagger.scan_ray``) turns each batch into rows with a ``Predictor``; the scan commits every
batch in order (output, errors file, then checkpoint) and keeps a running ``ScanSummary``.
Records that cannot be read, and records with no authored text to judge (skipped, not errors),
go to the errors file (kind, location and reason, never the text) and the scan goes on. Message
text is written only where asked (``keep_text``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Literal

from flagger.backends import BackendName
from flagger.boilerplate import Boilerplate
from flagger.checkpoint import Checkpoint, InputStamp, checkpoint_path, load_checkpoint
from flagger.errors import ConfigError, InputFileError
from flagger.model import Flagger
from flagger.progress import ProgressEvent, ProgressReporter
from flagger.readers import (
    Message,
    ReadError,
    Record,
    Skipped,
    estimate_records,
    read_messages,
)
from flagger.report import month_of
from flagger.results import SCHEMA_VERSION
from flagger.writers import open_writer, output_format, parts_dir, remove_outputs

logger = logging.getLogger(__name__)

KeepText = Literal["flagged", "all", "none"]
# Full distributions stay out of scan output: files stay small, the top label is there.
_DISTRIBUTIONS = {"categories", "vectors"}
Row = dict[str, Any]
Engine = Callable[["RecordSource", int], Iterator[tuple[int, list[Row]]]]


@dataclass(frozen=True)
class RecordSource:
    """The records of one or more archives in order, after skipping ``skip`` (picklable)."""

    paths: tuple[str, ...]
    text_field: str = "text"
    id_field: str = "id"
    author_field: str | None = None
    time_field: str | None = None
    fmt: str | None = None
    skip: int = 0
    boilerplate: str | None = None  # a rules file added to the defaults

    def __iter__(self) -> Iterator[Record]:
        rules = Boilerplate.with_file(Path(self.boilerplate)) if self.boilerplate else None
        records = chain.from_iterable(
            read_messages(
                path,
                text_field=self.text_field,
                id_field=self.id_field,
                fmt=self.fmt,
                author_field=self.author_field,
                time_field=self.time_field,
                boilerplate=rules,
            )
            for path in self.paths
        )
        return islice(records, self.skip, None)

    def with_skip(self, skip: int) -> RecordSource:
        """The same inputs with the first ``skip`` records left out (a resumed scan)."""
        return replace(self, skip=skip)

    def check(self) -> None:
        """Open every input and read its first record, so file-level errors come first.

        Raises:
            InputFileError: for a missing, unreadable or unsupported input.
        """
        for path in self.paths:
            next(iter(replace(self, paths=(path,), skip=0)), None)


def batches(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    """Cut a record stream into lists of ``size`` (the last may be shorter)."""
    while batch := list(islice(records, size)):
        yield batch


class Predictor:
    """Turns a batch of records into rows: a verdict per message, an error row per bad record.

    It is the unit every engine runs: in-process, or once per Ray actor (``model`` given as a
    path, loaded on first use, so the object pickles small).
    """

    def __init__(
        self,
        flagger: Flagger | None = None,
        *,
        model: str | Path | None = None,
        backend: BackendName = "auto",
        num_threads: int | None = None,
        threshold: str | float | None = None,
        explain: bool = True,
        keep_text: KeepText = "flagged",
    ) -> None:
        if keep_text not in ("flagged", "all", "none"):
            raise ConfigError(f"keep_text must be flagged, all or none, found {keep_text!r}")
        self._flagger = flagger
        self.model, self.backend, self.num_threads = model, backend, num_threads
        self.threshold, self.explain, self.keep_text = threshold, explain, keep_text

    @property
    def flagger(self) -> Flagger:
        """The model, loaded on first use."""
        if self._flagger is None:
            self._flagger = Flagger.load(
                self.model,
                backend=self.backend,
                num_threads=self.num_threads,
            )
        return self._flagger

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_flagger": None}  # actors load their own copy

    def __call__(self, records: Sequence[Record]) -> list[Row]:
        """Score the messages among ``records``; rows come back in the records' order."""
        flagger = self.flagger
        messages = [r for r in records if isinstance(r, Message)]
        results = iter(
            flagger.score([m.text for m in messages], self.threshold, explain=self.explain)
        )
        rows: list[Row] = []
        for record in records:
            if isinstance(record, ReadError):
                rows.append({"error": record.reason, "source": record.source})
                continue
            if isinstance(record, Skipped):
                rows.append({"skipped": record.reason, "source": record.source})
                continue
            result = next(results)
            row: Row = {
                "id": record.id,
                **result.model_dump(exclude=_DISTRIBUTIONS),
                "model_version": flagger.version,
                "source": record.source,
            }
            for key in ("author", "sent_at", "removed_chars"):
                if (value := getattr(record, key)) is not None:
                    row[key] = value
            if self.keep_text == "all" or (self.keep_text == "flagged" and result.flagged):
                row["text"] = record.text
            rows.append(row)
        return rows


def local_engine(predictor: Predictor) -> Engine:
    """Run the predictor in this process, one batch at a time."""

    def run(source: RecordSource, batch_size: int) -> Iterator[tuple[int, list[Row]]]:
        for batch in batches(iter(source), batch_size):
            yield len(batch), predictor(batch)

    return run


@dataclass
class ScanSummary:
    """What a scan did (all runs of it, when resumed): counts, breakdowns, where outputs are."""

    inputs: list[str]
    output: str
    model_version: str
    threshold: dict[str, Any]
    read: int = 0
    flagged: int = 0
    uncertain: int = 0
    errors: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    errors_file: str | None = None
    categories: Counter[str] = field(default_factory=Counter)
    vectors: Counter[str] = field(default_factory=Counter)
    score_histogram: list[int] = field(default_factory=lambda: [0] * 10)
    authors: dict[str, dict[str, int]] = field(default_factory=dict)
    months: dict[str, dict[str, int]] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""

    @property
    def messages_per_second(self) -> float:
        """Scoring throughput over the whole scan."""
        return self.read / self.seconds if self.seconds else 0.0

    def count(self, row: Row) -> None:
        """Add one verdict row."""
        flagged = bool(row["flagged"])
        self.read += 1
        self.flagged += flagged
        self.uncertain += bool(row["uncertain"])
        self.score_histogram[min(int(row["score"] * 10), 9)] += 1
        if flagged:
            self.categories[str(row["category"])] += 1
            self.vectors[str(row["vector"])] += 1
        for table, key in ((self.authors, row.get("author")), (self.months, row.get("sent_at"))):
            if key is None:
                continue
            name = str(key) if table is self.authors else month_of(key)
            entry = table.setdefault(name, {"messages": 0, "flagged": 0})
            entry["messages"] += 1
            entry["flagged"] += flagged

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, as written by ``--report FILE.json`` and kept in the checkpoint."""
        flag_rate = self.flagged / self.read if self.read else 0.0
        return {
            **{k: v for k, v in self.__dict__.items()},
            "categories": dict(self.categories.most_common()),
            "vectors": dict(self.vectors.most_common()),
            "months": dict(sorted(self.months.items())),
            "flag_rate": round(flag_rate, 6),
            "messages_per_second": round(self.messages_per_second, 2),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanSummary:
        """Rebuild a summary saved by ``to_dict`` (a resumed scan carries on counting)."""
        names = set(cls.__dataclass_fields__)
        summary = cls(**{k: v for k, v in data.items() if k in names})
        summary.categories = Counter(summary.categories)
        summary.vectors = Counter(summary.vectors)
        return summary


def scan(
    flagger: Flagger,
    paths: str | Path | Sequence[str | Path],
    output: str | Path,
    *,
    text_field: str = "text",
    id_field: str = "id",
    author_field: str | None = None,
    time_field: str | None = None,
    fmt: str | None = None,
    threshold: str | float | None = None,
    explain: bool = True,
    keep_text: KeepText = "flagged",
    batch_size: int = 2048,
    overwrite: bool = False,
    resume: bool = False,
    only_flagged: bool = False,
    boilerplate: str | Path | None = None,
    engine: Engine | None = None,
    progress: ProgressReporter | Callable[[ProgressEvent], ProgressReporter] | None = None,
) -> ScanSummary:
    """Score every message of one or more archives and write verdicts (JSONL, CSV or Parquet).

    Args:
        flagger: the loaded model.
        paths: archive files or folders, scanned in order as one stream.
        output: ``.jsonl``, ``.csv`` or ``.parquet``; never replaced unless ``overwrite``.
        text_field, id_field: where the text and id are in each record.
        author_field, time_field: where the sender and time are (tabular input), if anywhere.
        fmt: force the input format instead of inferring it from the extension.
        threshold: operating point name or number; the model's default when ``None``.
        explain: find the spans that drive each flagged message's score.
        keep_text: write message text for ``flagged`` messages (default), ``all`` or ``none``.
        batch_size: messages read, scored and committed at a time (bounds memory).
        overwrite: replace an existing output (and its checkpoint and errors file).
        resume: carry on an interrupted scan of the same inputs with the same settings.
        only_flagged: write only the flagged messages (the summary still counts every one).
        boilerplate: a file of boilerplate rules e-mails are stripped by, on top of the defaults
            (``flagger.boilerplate``).
        engine: how batches are scored; in this process when ``None``.
        progress: a reporter, or a factory given the starting counts, or ``None`` for none.

    Raises:
        InputFileError: unreadable input, an output that exists (without ``overwrite`` or
            ``resume``), or a checkpoint that does not match this scan.
        ConfigError: a bad threshold or option.
    """
    started = time.monotonic()
    inputs = [str(p) for p in ([paths] if isinstance(paths, str | Path) else paths)]
    if not inputs:
        raise ConfigError("nothing to scan: give at least one input")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, found {batch_size}")
    out = Path(output)
    output_format(out)  # refuse an unknown extension before any work
    rule = flagger.resolve_threshold(threshold)
    settings = {
        "model_version": flagger.version,
        "backend": flagger.backend.name,
        "threshold": rule.model_dump(),
        "explain": explain,
        "keep_text": keep_text,
        "only_flagged": only_flagged,
        "fields": [text_field, id_field, author_field, time_field],
        "format": fmt,
        "boilerplate": _rules_stamp(boilerplate),
    }
    source = RecordSource(
        tuple(inputs),
        text_field,
        id_field,
        author_field,
        time_field,
        fmt,
        boilerplate=str(boilerplate) if boilerplate else None,
    )
    source.check()
    stamps = [InputStamp.of(Path(p)) for p in inputs]
    state_file = checkpoint_path(out)
    errors_file = out.with_name(out.name + ".errors.jsonl")
    checkpoint = _start(out, state_file, errors_file, stamps, settings, overwrite, resume)
    summary = (
        ScanSummary.from_dict(checkpoint.summary)
        if checkpoint.summary
        else ScanSummary(inputs, str(out), flagger.version, rule.model_dump())
    )
    if checkpoint.complete:
        logger.info("%s is complete; nothing to resume", out)
        return summary
    summary.started_at = summary.started_at or datetime.now(UTC).isoformat(timespec="seconds")
    previous_seconds = summary.seconds
    total = sum(n for p in inputs if (n := estimate_records(p, fmt)) is not None) or None
    event = ProgressEvent(summary.read, summary.flagged, summary.errors, total)
    reporter = progress(event) if callable(progress) else progress
    writer = open_writer(out, start=checkpoint.output_position)
    run = engine or local_engine(
        Predictor(flagger, threshold=threshold, explain=explain, keep_text=keep_text)
    )
    finished = False
    try:
        with _ErrorLog(errors_file, checkpoint.errors_position) as errors:
            for consumed, rows in run(source.with_skip(checkpoint.consumed), batch_size):
                kept = []
                for row in rows:
                    if "error" in row:
                        summary.errors += 1
                        errors.write_row(row)
                        continue
                    if "skipped" in row:
                        summary.skipped += 1
                        reasons = summary.skipped_reasons
                        reasons[row["skipped"]] = reasons.get(row["skipped"], 0) + 1
                        errors.write_row(row)
                        continue
                    summary.count(row)
                    if row["flagged"] or not only_flagged:
                        kept.append(row)
                writer.write_batch(kept)
                errors.commit()
                checkpoint.consumed += consumed
                checkpoint.output_position = writer.position()
                checkpoint.errors_position = errors.position()
                summary.seconds = round(previous_seconds + time.monotonic() - started, 3)
                checkpoint.summary = summary.to_dict()
                checkpoint.save(state_file)
                if reporter is not None:
                    reporter.update(
                        ProgressEvent(summary.read, summary.flagged, summary.errors, total)
                    )
        finished = True
    finally:
        writer.close(finished=finished)
        if reporter is not None:
            reporter.close()
    summary.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    summary.seconds = round(previous_seconds + time.monotonic() - started, 3)
    if summary.errors or summary.skipped:
        summary.errors_file = str(errors_file)
    if summary.errors:
        logger.warning("%d records could not be read; see %s", summary.errors, errors_file)
    if summary.skipped:
        logger.info(
            "%d records had no text to judge (skipped); see %s", summary.skipped, errors_file
        )
    checkpoint.summary = summary.to_dict()
    checkpoint.complete = True
    checkpoint.save(state_file)
    return summary


def _rules_stamp(boilerplate: str | Path | None) -> str | None:
    """What a resumed scan must find unchanged about the boilerplate rules: path and content."""
    if boilerplate is None:
        return None
    rules = Boilerplate.with_file(Path(boilerplate))  # refuses a bad file before any work
    digest = hashlib.sha256(repr([(r.scope, r.pattern.pattern) for r in rules.rules]).encode())
    return f"{Path(boilerplate).resolve()}#{digest.hexdigest()[:12]}"


class _ErrorLog:
    """The errors file: one JSON line per unreadable or skipped record, never its text.

    ``{"kind": "error" | "skipped", "source", "reason"}``: read errors make a scan fail, skipped
    records (nothing authored to judge) do not.

    Created on the first error; committed (fsynced) with each batch; reopened at a byte position
    by a resumed scan, dropping anything written after its checkpoint.
    """

    def __init__(self, path: Path, start: int) -> None:
        self.path = path
        self._pending: list[str] = []
        self._handle: BinaryIO | None = None
        self._position = start
        if start == 0:
            path.unlink(missing_ok=True)
        else:
            self._handle = path.open("r+b")
            self._handle.truncate(start)
            self._handle.seek(start)

    def write_row(self, row: Row) -> None:
        """Queue an error row until the batch commits."""
        kind = "error" if "error" in row else "skipped"
        record = {"kind": kind, "source": row["source"], "reason": row[kind]}
        self._pending.append(json.dumps(record))

    def commit(self) -> None:
        """Write queued rows and push them to disk."""
        if not self._pending:
            return
        if self._handle is None:
            self._handle = self.path.open("wb")
        self._handle.write("".join(line + "\n" for line in self._pending).encode("utf-8"))
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._pending.clear()
        self._position = self._handle.tell()

    def position(self) -> int:
        """Bytes committed so far."""
        return self._position

    def __enter__(self) -> _ErrorLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.close()


def _start(
    out: Path,
    state_file: Path,
    errors_file: Path,
    stamps: list[InputStamp],
    settings: dict[str, Any],
    overwrite: bool,
    resume: bool,
) -> Checkpoint:
    """The checkpoint to carry on from: a resumed one, or a fresh one for a new output."""
    if overwrite and resume:
        raise ConfigError("--overwrite and --resume contradict each other; choose one")
    started = out.exists() or parts_dir(out).exists() or state_file.exists()
    if resume and state_file.exists():
        checkpoint = load_checkpoint(state_file)
        checkpoint.check_matches(stamps, settings)
        return checkpoint
    if resume and started:
        raise InputFileError(
            f"{out}: exists but has no checkpoint ({state_file.name}), so it cannot be resumed; "
            "pass --overwrite to start again"
        )
    if started and not overwrite:
        raise InputFileError(
            f"{out}: output already exists; pass --resume to carry on an interrupted scan, "
            "--overwrite to start again, or choose another path"
        )
    remove_outputs(out, (state_file, errors_file))
    out.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = Checkpoint(
        inputs=stamps,
        settings=settings,
        schema_version=SCHEMA_VERSION,
        started_at=datetime.now(UTC).isoformat(),
    )
    checkpoint.save(state_file)
    return checkpoint
