"""Show a scan's progress: a bar with rate and ETA on a terminal, JSON lines otherwise.

The scan reports cumulative counts after every committed batch; a reporter decides how to show
them. On a terminal that is a ``tqdm`` bar; in a pipeline or a log file it is one JSON object per
``interval`` seconds (counts and rate only, never message text), easy to parse and quiet.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from typing import Protocol, TextIO

from tqdm.auto import tqdm


@dataclass(frozen=True)
class ProgressEvent:
    """Cumulative counts of a scan, this run included."""

    read: int
    flagged: int
    errors: int
    total: int | None  # an estimate of the records in the input, when it can be had cheaply


class ProgressReporter(Protocol):
    """Receives progress events and shows them."""

    def update(self, event: ProgressEvent) -> None: ...

    def close(self) -> None: ...


class BarReporter:
    """A ``tqdm`` bar counting records, with the flag count alongside."""

    def __init__(self, initial: ProgressEvent, stream: TextIO | None = None) -> None:
        done = initial.read + initial.errors
        self._bar = tqdm(
            total=initial.total, initial=done, desc="scanning", unit="msg", file=stream
        )
        self._done = done

    def update(self, event: ProgressEvent) -> None:
        """Advance the bar to the event's count."""
        done = event.read + event.errors
        if event.total is not None and event.total < done:
            self._bar.total = done  # the estimate was low (e.g. CSV cells with newlines)
        self._bar.update(done - self._done)
        self._done = done
        self._bar.set_postfix(flagged=event.flagged, errors=event.errors, refresh=False)

    def close(self) -> None:
        """Finish the bar."""
        self._bar.close()


class JsonLinesReporter:
    """One JSON line per ``interval`` seconds: counts, rate and (when known) ETA."""

    def __init__(
        self, initial: ProgressEvent, stream: TextIO | None = None, interval: float = 10.0
    ) -> None:
        self._stream = stream or sys.stderr
        self._interval = interval
        self._started = time.monotonic()
        self._last = self._started
        self._first = initial.read + initial.errors

    def update(self, event: ProgressEvent) -> None:
        """Write a line if ``interval`` has passed since the last one."""
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        elapsed = now - self._started
        rate = (event.read + event.errors - self._first) / elapsed if elapsed else 0.0
        line = {"event": "progress", **asdict(event), "msgs_per_s": round(rate, 1)}
        if event.total and rate > 0:
            line["eta_s"] = round(max(event.total - event.read - event.errors, 0) / rate)
        self._stream.write(json.dumps(line) + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Nothing to finish: the final summary line is the caller's."""


def make_reporter(
    initial: ProgressEvent, *, terminal: bool | None = None, stream: TextIO | None = None
) -> ProgressReporter:
    """A bar on a terminal, JSON lines otherwise; ``terminal=None`` asks the stream."""
    out = stream or sys.stderr
    if terminal is None:
        terminal = out.isatty()
    return BarReporter(initial, out) if terminal else JsonLinesReporter(initial, out)
