"""A self-contained HTML report of a scan, for the people who review its flags.

The page is one file with no external resources: inline CSS, charts drawn as inline SVG and no
JavaScript, so it opens offline, prints, and can be attached to a case file. Everything from the
scan is escaped by the template, because message text is hostile input.

Flagged rows arrive as a stream that may be millions long. They are read once: the
``max_messages`` highest-scoring rows are kept for the message list and the rest only counted
(per author, per author and month), so memory does not grow with the archive.
"""

from __future__ import annotations

import heapq
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from flagger.errors import ConfigError

logger = logging.getLogger(__name__)

UNKNOWN_MONTH = "unknown"
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_TOP_AUTHORS = 50
_GRID_AUTHORS = 15
_CHART_WIDTH = 720  # SVG units; the charts scale down with the page
_CHART_HEIGHT = 180


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: a label, its count, its share of the total and its length (0-1)."""

    label: str
    count: int
    share: float
    length: float


@dataclass(frozen=True)
class MonthRow:
    """One month of the scan: messages read, flagged, and the flag rate."""

    month: str
    messages: int | None
    flagged: int
    rate: float | None


@dataclass(frozen=True)
class Segment:
    """A piece of message text: plain, ``evidence`` (with its weight) or a ``target`` mention."""

    text: str
    weight: float | None = None
    kind: str | None = None


@dataclass(frozen=True)
class MessageView:
    """One flagged message as the report shows it."""

    row: Mapping[str, Any]
    score: float
    segments: list[Segment] | None  # None when the text was not kept
    span_texts: list[str]
    cut_before: bool = False  # a long message is shown as its deciding part with some context
    cut_after: bool = False


@dataclass(frozen=True)
class AuthorRow:
    """An author's flags in the repeat-patterns table."""

    author: str
    messages: int | None
    flagged: int
    rate: float | None
    months: list[str]  # months with at least one flag, in order


def month_of(sent_at: object) -> str:
    """The ``YYYY-MM`` a message was sent in, or ``"unknown"`` when its time is not ISO-like."""
    if isinstance(sent_at, str) and _MONTH.match(sent_at):
        return sent_at[:7]
    return UNKNOWN_MONTH


def _ranges(spans: object, text: str) -> list[tuple[int, int, float | None]]:
    """Valid ``(start, end, weight)`` of stored spans; malformed or out-of-range ones skipped."""
    valid: list[tuple[int, int, float | None]] = []
    for span in spans if isinstance(spans, list) else []:
        if not isinstance(span, Mapping):
            continue
        start, end, weight = span.get("start"), span.get("end"), span.get("weight")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
            valid.append((start, end, float(weight) if isinstance(weight, int | float) else None))
    return valid


def highlight(text: str, spans: object, targets: object = None) -> list[Segment]:
    """Cut ``text`` into plain, evidence and target pieces at the stored character offsets.

    Spans out of range, malformed or overlapping an earlier one are skipped rather than trusted;
    evidence wins over a target it overlaps (rows written before targets existed).
    """
    pieces: list[tuple[int, int, str, float | None]] = [
        (s, e, "evidence", w if w is not None else 0.0) for s, e, w in _ranges(spans, text)
    ]
    pieces += [(s, e, "target", None) for s, e, _ in _ranges(targets, text)]
    segments: list[Segment] = []
    cursor = 0
    for start, end, kind, weight in sorted(pieces, key=lambda p: (p[0], p[2] != "evidence")):
        if start < cursor:
            continue
        if start > cursor:
            segments.append(Segment(text[cursor:start]))
        segments.append(Segment(text[start:end], weight, kind))
        cursor = end
    if cursor < len(text) or not segments:
        segments.append(Segment(text[cursor:]))
    return segments


# Characters of context kept either side of the deciding part of a long message.
CONTEXT_CHARS = 300


def shown_range(text: str, part: object) -> tuple[int, int]:
    """The characters of ``text`` a reader is shown: all of a short message; of a long one, the
    part that decided its score with ``CONTEXT_CHARS`` either side, cut at spaces."""
    if not isinstance(part, Mapping):  # rows written before parts existed
        return 0, len(text)
    start, end = part.get("start"), part.get("end")
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text)):
        return 0, len(text)
    if len(text) <= 2 * CONTEXT_CHARS + 400:
        return 0, len(text)
    low, high = start - CONTEXT_CHARS, end + CONTEXT_CHARS
    low = text.rfind(" ", 0, low) + 1 if low > 0 else 0
    cut = text.find(" ", high) if high < len(text) else -1
    return low, cut if cut >= 0 else len(text)


def _shifted(items: object, low: int, high: int) -> list[dict[str, Any]]:
    """Stored spans inside ``text[low:high]``, their offsets made relative to it."""
    return [
        {**item, "start": item["start"] - low, "end": item["end"] - low}
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, Mapping)
        and isinstance(item.get("start"), int)
        and isinstance(item.get("end"), int)
        and low <= item["start"] < item["end"] <= high
    ]


def _score(row: Mapping[str, Any]) -> float:
    try:
        return float(row.get("score") or 0.0)
    except (TypeError, ValueError):
        return 0.0


class _Collector:
    """Reads flagged rows once: keeps the top rows by score and counts all of them."""

    def __init__(self, max_messages: int) -> None:
        self.max_messages = max_messages
        self.total = 0
        self.without_author = 0
        self.by_author: Counter[str] = Counter()
        self.by_author_month: Counter[tuple[str, str]] = Counter()
        self.months: Counter[str] = Counter()
        self.author_months: dict[str, set[str]] = {}
        # min-heap on (score, -order): the lowest score, then the latest row, is dropped first
        self._heap: list[tuple[float, int, Mapping[str, Any]]] = []

    def add(self, row: Mapping[str, Any]) -> None:
        if row.get("flagged") is False:  # a full scan output was passed: skip what is not a flag
            return
        self.total += 1
        month = month_of(row.get("sent_at"))
        self.months[month] += 1
        author = row.get("author")
        if isinstance(author, str) and author:
            self.by_author[author] += 1
            self.by_author_month[author, month] += 1
            self.author_months.setdefault(author, set()).add(month)
        else:
            self.without_author += 1
        if self.max_messages == 0:
            return
        entry = (_score(row), -self.total, row)
        if len(self._heap) < self.max_messages:
            heapq.heappush(self._heap, entry)
        else:
            heapq.heappushpop(self._heap, entry)

    def top(self) -> list[MessageView]:
        """The kept rows, highest score first."""
        views = []
        for score, _, row in sorted(self._heap, key=lambda e: (-e[0], -e[1])):
            text, spans, targets = row.get("text"), row.get("spans"), row.get("targets")
            span_texts = [
                str(s.get("text", ""))
                for s in (spans if isinstance(spans, list) else [])
                if isinstance(s, Mapping)
            ]
            if not isinstance(text, str):
                views.append(MessageView(row, score, None, span_texts))
                continue
            low, high = shown_range(text, row.get("part"))
            segments = highlight(
                text[low:high], _shifted(spans, low, high), _shifted(targets, low, high)
            )
            views.append(MessageView(row, score, segments, span_texts, low > 0, high < len(text)))
        return views


def _bars(counts: Mapping[str, Any], *, sort: bool = True) -> list[Bar]:
    """Bars for a label → count mapping, longest first unless ``sort`` is off."""
    items = [(str(k), int(v)) for k, v in counts.items()]
    if sort:
        items.sort(key=lambda kv: (-kv[1], kv[0]))
    total = sum(c for _, c in items) or 1
    peak = max((c for _, c in items), default=0) or 1
    return [Bar(label, count, count / total, count / peak) for label, count in items]


def _histogram(counts: list[int]) -> list[Bar]:
    """Score histogram bars; lengths on a log scale so the rare high scores stay visible."""
    peak = math.log10(1 + max(counts, default=0)) or 1.0
    total = sum(counts) or 1
    bins = len(counts)
    return [
        Bar(
            f"{i / bins:.1f}\N{EN DASH}{(i + 1) / bins:.1f}",
            count,
            count / total,
            math.log10(1 + count) / peak,
        )
        for i, count in enumerate(counts)
    ]


def _months(months: Mapping[str, Any]) -> list[MonthRow]:
    """The summary's per-month counts in calendar order, ``unknown`` last."""
    rows = []
    for month in sorted(months, key=lambda m: (m == UNKNOWN_MONTH, m)):
        messages, flagged = months[month].get("messages"), int(months[month].get("flagged", 0))
        rows.append(MonthRow(month, messages, flagged, flagged / messages if messages else None))
    return rows


def _number(value: object) -> str:
    """``1234`` → ``1,234``; a missing value → a dash."""
    return f"{value:,}" if isinstance(value, int | float) else "—"


def _percent(value: object, digits: int = 2) -> str:
    """``0.0406`` → ``4.06%``; a missing value → a dash."""
    return f"{value:.{digits}%}" if isinstance(value, int | float) else "—"


def _authors(summary_authors: Mapping[str, Any], found: _Collector) -> list[AuthorRow]:
    """The authors with the most flags; the summary's counts win over the (capped) rows' counts."""
    rows = []
    for author in set(summary_authors) | set(found.by_author):
        known = summary_authors.get(author) or {}
        messages = known.get("messages")
        flagged = int(known.get("flagged", found.by_author[author]))
        if flagged <= 0:
            continue
        months = sorted(found.author_months.get(author, ()))
        rate = flagged / messages if messages else None
        rows.append(AuthorRow(author, messages, flagged, rate, months))
    rows.sort(key=lambda r: (-r.flagged, -(r.rate or 0.0), r.author))
    return rows[:_TOP_AUTHORS]


def _grid(found: _Collector) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """Flag counts for the most-flagged authors by month (known months in order, unknown last)."""
    authors = [a for a, _ in found.by_author.most_common(_GRID_AUTHORS)]
    cells = {(a, m): n for (a, m), n in found.by_author_month.items() if a in authors}
    months = sorted({m for _, m in cells}, key=lambda m: (m == UNKNOWN_MONTH, m))
    return authors, months, cells


_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("flagger", "templates"),
    autoescape=True,  # message text, authors and ids are untrusted
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["num"] = _number
_environment.filters["pct"] = _percent


def render_report(
    summary: Mapping[str, Any],
    flagged_rows: Iterable[Mapping[str, Any]],
    *,
    max_messages: int = 500,
) -> str:
    """Render a scan's summary and its flagged rows as one self-contained HTML page.

    Args:
        summary: the scan summary (counts, breakdowns, histogram, authors, months, times).
        flagged_rows: the scan's output rows for flagged messages, read once as a stream; rows
            with ``"flagged": false`` are skipped, so a full output file can be passed as is.
        max_messages: how many of the highest-scoring messages to list in full.

    Returns:
        The HTML document.

    Raises:
        ConfigError: if ``max_messages`` is negative.
    """
    if max_messages < 0:
        raise ConfigError(f"max_messages must be 0 or more, got {max_messages}")
    found = _Collector(max_messages)
    for row in flagged_rows:
        found.add(row)
    by_month: Mapping[str, Any] = summary.get("months") or {}
    if not by_month and set(found.months) - {UNKNOWN_MONTH}:
        # without totals from the scan, flags per month can still be counted from the rows
        by_month = {m: {"flagged": n} for m, n in found.months.items()}
    months = _months({str(k): v for k, v in by_month.items()})
    known_months = sorted(r.month for r in months if r.month != UNKNOWN_MONTH)
    grid_authors, grid_months, grid_cells = _grid(found)
    threshold = summary.get("threshold") or {}
    logger.info(
        "report: %d flagged rows read, %d listed", found.total, min(found.total, max_messages)
    )
    return _environment.get_template("report.html.j2").render(
        s=summary,
        threshold_name=threshold.get("name", "?"),
        threshold_value=float(threshold.get("value", 0.0)),
        time_range=(known_months[0], known_months[-1]) if known_months else None,
        categories=_bars(summary.get("categories") or {}),
        vectors=_bars(summary.get("vectors") or {}),
        histogram=_histogram(list(summary.get("score_histogram") or [])),
        authors=_authors(summary.get("authors") or {}, found),
        author_count=len(set(summary.get("authors") or {}) | set(found.by_author)),
        months=months,
        month_bars=_bars({r.month: r.flagged for r in months}, sort=False),
        grid_authors=grid_authors,
        grid_months=grid_months,
        grid_cells=grid_cells,
        grid_peak=max(grid_cells.values(), default=1),
        found=found,
        messages=found.top(),
        chart_width=_CHART_WIDTH,
        chart_height=_CHART_HEIGHT,
    )


def write_report(
    path: str | Path,
    summary: Mapping[str, Any],
    flagged_rows: Iterable[Mapping[str, Any]],
    *,
    max_messages: int = 500,
) -> Path:
    """Render the report (see ``render_report``) and write it as UTF-8, creating parent folders.

    Returns:
        The path written.
    """
    out = Path(path)
    html = render_report(summary, flagged_rows, max_messages=max_messages)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
