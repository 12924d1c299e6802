"""The HTML scan report: counts, highlighted spans, escaping, capping, and a real browser render."""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flagger.errors import ConfigError
from flagger.report import (
    CONTEXT_CHARS,
    Segment,
    highlight,
    month_of,
    render_report,
    shown_range,
    write_report,
)

HOSTILE = "<script>alert(1)</script>"
AUTHORS = [f"officer{i}@force.example" for i in range(20)]


def make_summary(**changes: Any) -> dict[str, Any]:
    """A summary shaped like the scan's, with round numbers the tests can look for."""
    summary: dict[str, Any] = {
        "inputs": ["archive/mail.mbox"],
        "output": "out/results.jsonl",
        "model_version": "flagger-edos@1.1.0",
        "threshold": {"name": "default", "value": 0.321},
        "read": 20000,
        "flagged": 812,
        "uncertain": 640,
        "errors": 3,
        "errors_file": "out/results.jsonl.errors.jsonl",
        "seconds": 81.2,
        "messages_per_second": 246.3,
        "flag_rate": 0.0406,
        "categories": {
            "2. derogation": 500,
            "3. animosity": 200,
            "4. prejudiced discussions": 100,
            "1. threats, plans to harm and incitement": 12,
        },
        "vectors": {
            "2.1 descriptive attacks": 300,
            "2.2 aggressive and emotive attacks": 200,
            "3.1 casual use of gendered slurs, profanities, and insults": 150,
            "4.2 supporting systemic discrimination against women as a group": 100,
            "1.2 incitement and encouragement of harm": 12,
        },
        "score_histogram": [15000, 2500, 900, 500, 300, 250, 200, 150, 120, 80],
        "authors": {
            a: {"messages": 1000 - 40 * i, "flagged": max(0, 60 - 3 * i)}
            for i, a in enumerate(AUTHORS)
        },
        "months": {
            f"2024-{m:02d}": {"messages": 1600 + 10 * m, "flagged": 50 + 5 * m}
            for m in range(1, 13)
        },
        "started_at": "2026-11-24T10:00:00+00:00",
        "finished_at": "2026-11-24T10:01:21+00:00",
    }
    summary.update(changes)
    return summary


def make_row(i: int, score: float, **changes: Any) -> dict[str, Any]:
    """A flagged row with text and one span over the word ``whore``."""
    text = f"Message {i}: you are a whore, said nobody nice."
    start = text.index("whore")
    row: dict[str, Any] = {
        "id": f"<msg-{i}@x>",
        "score": score,
        "flagged": True,
        "uncertain": score < 0.4,
        "threshold": {"name": "default", "value": 0.321},
        "category": "2. derogation",
        "category_probability": 0.8,
        "vector": "2.1 descriptive attacks",
        "vector_probability": 0.6,
        "windows": 1,
        "spans": [{"start": start, "end": start + 5, "text": "whore", "weight": 0.4}],
        "score_without_spans": 0.1,
        "model_version": "flagger-edos@1.1.0",
        "source": f"mail.mbox:{i}",
        "author": AUTHORS[i % 7],
        "sent_at": f"2024-{i % 12 + 1:02d}-02T09:15:00+00:00",
        "removed_chars": 120,
        "text": text,
    }
    row.update(changes)
    return row


def make_rows(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """A stream of ``n`` flagged rows with varied scores (a generator: it can be read once)."""
    rng = random.Random(seed)
    for i in range(n):
        yield make_row(i, round(rng.uniform(0.33, 0.99), 3))


def test_headline_counts_and_header() -> None:
    html = render_report(make_summary(), make_rows(10))
    for expected in ("20,000", "812", "4.06%", "640", "flagger-edos@1.1.0", "0.321"):
        assert expected in html
    assert "out/results.jsonl.errors.jsonl" in html
    assert "archive/mail.mbox" in html
    assert "2024-01 to 2024-12" in html
    assert "not findings" in html


def test_spans_are_marked_and_text_around_them_kept() -> None:
    html = render_report(make_summary(), [make_row(1, 0.9)])
    assert 'Message 1: you are a <mark title="evidence: the score falls by 0.400 ' in html
    assert ">whore</mark>, said nobody nice." in html
    assert "dotted underline</u>: who the message is about" in html  # the legend, not colour


def test_targets_are_underlined_and_evidence_highlighted() -> None:
    text = "Women are too emotional to lead"
    row = make_row(
        1,
        0.9,
        text=text,
        spans=[{"start": 14, "end": 23, "text": "emotional", "weight": 0.5}],
        targets=[{"start": 0, "end": 5, "text": "Women"}],
        score_without_spans=0.1,
        evidence_complete=True,
    )
    html = render_report(make_summary(), [row])
    assert '<u class="target" title="who the message is about (not evidence)">Women</u>' in html
    assert 'without all the evidence it is 0.100">emotional</mark>' in html
    assert "partial evidence" not in html
    html = render_report(make_summary(), [{**row, "evidence_complete": False}])
    assert "partial evidence" in html


def test_rows_written_before_targets_still_render() -> None:
    # A schema-1 row: no targets, no schema_version, spans that may be a target word.
    row = make_row(1, 0.9)
    row.pop("targets", None)
    html = render_report(make_summary(), [row])
    assert ">whore</mark>" in html


def test_hostile_text_is_escaped_everywhere() -> None:
    text = f"hi {HOSTILE} you whore"
    start = text.index("whore")
    row = make_row(
        1,
        0.9,
        text=text,
        author=HOSTILE,
        source=HOSTILE,
        category=HOSTILE,
        spans=[
            {"start": 3, "end": 3 + len(HOSTILE), "weight": 0.2},
            {"start": start, "end": start + 5},
        ],
    )
    summary = make_summary(inputs=[HOSTILE], authors={HOSTILE: {"messages": 2, "flagged": 1}})
    html = render_report(summary, [row])
    assert "<script" not in html  # the page has no script of its own either
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '">&lt;script&gt;alert(1)&lt;/script&gt;</mark>' in html


def test_caps_the_list_to_the_highest_scores() -> None:
    rows = [make_row(i, i / 100) for i in range(40, 100)]  # scores 0.40 .. 0.99
    random.Random(1).shuffle(rows)
    html = render_report(make_summary(), iter(rows), max_messages=5)
    assert "Showing 5 of 60 flagged messages" in html
    assert html.count('<article class="message">') == 5
    assert "&lt;msg-99@x&gt;" in html and "&lt;msg-95@x&gt;" in html
    assert "&lt;msg-94@x&gt;" not in html
    assert html.index("0.990") < html.index("0.950")  # highest first


def test_long_stream_is_read_once_and_counted() -> None:
    pulled = 0

    def stream() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for row in make_rows(3000):
            pulled += 1
            yield row

    html = render_report(make_summary(authors={}, months={}), stream(), max_messages=20)
    assert pulled == 3000
    assert "Showing 20 of 3,000 flagged messages" in html
    # without summary counts, authors come from the rows: 7 authors share 3000 rows
    assert "officer0@force.example" in html and "officer7@force.example" not in html
    # and flags per month too, without message totals
    assert "counted from the flagged rows" in html
    assert "<td>2024-12</td>" in html


def test_rows_without_text_spans_or_author() -> None:
    bare = {"id": "bare-1", "score": 0.7, "flagged": True}
    spans_only = make_row(2, 0.8)
    del spans_only["text"], spans_only["author"], spans_only["sent_at"]
    no_spans = make_row(3, 0.75, spans=None, score_without_spans=None)
    html = render_report(make_summary(), [bare, spans_only, no_spans])
    assert "bare-1" in html
    assert "Text not kept and no spans recorded." in html
    assert "<li><mark>whore</mark></li>" in html
    assert "Message 3: you are a whore" in html


def test_rows_not_flagged_are_skipped() -> None:
    rows = [make_row(1, 0.9), make_row(2, 0.05, flagged=False)]
    html = render_report(make_summary(), rows)
    assert "&lt;msg-1@x&gt;" in html and "&lt;msg-2@x&gt;" not in html


def test_empty_scan() -> None:
    summary = make_summary(
        read=0,
        flagged=0,
        uncertain=0,
        errors=0,
        errors_file=None,
        flag_rate=0.0,
        categories={},
        vectors={},
        score_histogram=[0] * 10,
        authors={},
        months={},
    )
    html = render_report(summary, [])
    assert "No messages were flagged." in html
    assert "unknown (no message times)" in html
    assert "<article" not in html


def test_no_external_resources() -> None:
    html = render_report(make_summary(), make_rows(50))
    for external in ('src="http', "src='http", 'href="http', "href='http", "@import", "url("):
        assert external not in html


def test_authors_and_author_month_grid() -> None:
    rows = [make_row(i, 0.9, author="a@x", sent_at="2024-03-01") for i in range(3)]
    rows += [make_row(9, 0.9, author="a@x", sent_at="yesterday"), make_row(10, 0.9, author="b@x")]
    summary = make_summary(authors={"a@x": {"messages": 8, "flagged": 4}})
    html = render_report(summary, rows)
    assert "<td>a@x</td>" in html and "50.00%" in html  # 4 of 8 messages
    grid = html[html.index('<table class="grid">') :]
    grid = grid[: grid.index("</table>")]
    assert "<th>2024-03</th>" in grid and "<th>unknown</th>" in grid
    assert grid.index("<th>2024-03</th>") < grid.index("<th>unknown</th>")
    assert ">3</td>" in grid and "<b>4</b>" in grid


def test_highlight_skips_bad_spans() -> None:
    spans = [
        {"start": 0, "end": 99},  # past the end
        {"start": -1, "end": 2},
        {"start": 3, "end": 3},  # empty
        {"start": "0", "end": 2},
        "not a span",
        {"start": 6, "end": 11, "weight": 0.5},
        {"start": 8, "end": 10, "weight": 0.9},  # overlaps the one before
    ]
    assert highlight("hello world!", spans) == [
        Segment("hello "),
        Segment("world", 0.5, "evidence"),
        Segment("!"),
    ]
    assert highlight("", None) == [Segment("")]


def test_month_of() -> None:
    assert month_of("2024-03-02T09:15:00+00:00") == "2024-03"
    assert month_of("2024-13-01") == "unknown"
    assert month_of("02/03/2024") == "unknown"
    assert month_of(None) == "unknown"


def test_write_report_creates_folders(tmp_path: Path) -> None:
    out = write_report(tmp_path / "a" / "b" / "report.html", make_summary(), make_rows(3))
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_negative_cap_is_refused() -> None:
    with pytest.raises(ConfigError, match="max_messages"):
        render_report(make_summary(), [], max_messages=-1)


def test_renders_in_a_real_browser(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("needs Chromium (apt-get install chromium) to render the report headless")
    image_module = pytest.importorskip("PIL.Image", reason="needs Pillow to inspect the screenshot")
    rows = list(make_rows(30))
    rows.append(make_row(99, 0.999, text=f"{HOSTILE} you whore", spans=[]))
    page = write_report(tmp_path / "report.html", make_summary(), rows)
    flags = [
        "--headless",
        "--no-sandbox",  # Chromium refuses to run as root without it
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "812" in dom and "20,000" in dom
    assert ">whore</mark>" in dom
    assert "<script>alert(1)</script>" not in dom  # escaped text stays text in the DOM
    assert "&lt;script&gt;alert(1)&lt;/script&gt; you whore" in dom

    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri()],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert shot.exists() and shot.stat().st_size > 20_000
    with image_module.open(shot) as image:
        assert image.size == (1280, 2000)
        grey = image.convert("L")
        dark = sum(grey.histogram()[:200])  # pixels clearly darker than the white page
        assert dark > 0.02 * image.size[0] * image.size[1]


def test_a_long_message_is_shown_as_its_deciding_part_with_context() -> None:
    filler = "the rota for next week is attached and nothing has changed since. " * 40
    text = f"{filler}you are a whore, honestly. {filler}"
    start = text.index("whore")
    row = make_row(
        1,
        0.9,
        text=text,
        windows=12,
        part={"start": start - 10, "end": start + 20},
        spans=[{"start": start, "end": start + 5, "text": "whore", "weight": 0.4}],
        targets=[{"start": 0, "end": 3, "text": "the"}],  # outside what is shown: dropped
    )
    low, high = shown_range(text, row["part"])
    assert 0 < low < start < high < len(text) and high - low < 2 * CONTEXT_CHARS + 120
    assert text[low - 1] == " " and text[high] == " "  # cut between words
    html = render_report(make_summary(), [row])
    assert "A long message (12 parts)" in html and "[…]" in html
    assert ">whore</mark>, honestly." in html and "dotted 2px" in html
    short = make_row(2, 0.9, part={"start": 0, "end": 5})
    assert shown_range(short["text"], short["part"]) == (0, len(short["text"]))
    assert shown_range(text, None) == (0, len(text))  # rows written before parts existed
