"""Progress: JSON lines off a terminal, at most one per interval, with rate and ETA."""

import io
import json

from flagger.progress import BarReporter, JsonLinesReporter, ProgressEvent, make_reporter


def test_json_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    reporter = make_reporter(ProgressEvent(0, 0, 0, 100), stream=stream)
    assert isinstance(reporter, JsonLinesReporter)
    reporter._interval = 0.0  # report every update in this test
    reporter.update(ProgressEvent(40, 3, 1, 100))
    line = json.loads(stream.getvalue())
    assert line["event"] == "progress" and line["read"] == 40 and line["flagged"] == 3
    assert line["msgs_per_s"] > 0 and "eta_s" in line


def test_json_lines_are_rate_limited() -> None:
    stream = io.StringIO()
    reporter = JsonLinesReporter(ProgressEvent(0, 0, 0, None), stream, interval=3600)
    for n in range(1, 50):
        reporter.update(ProgressEvent(n, 0, 0, None))
    assert stream.getvalue() == ""


def test_bar_on_a_terminal() -> None:
    stream = io.StringIO()
    reporter = make_reporter(ProgressEvent(10, 1, 0, 100), terminal=True, stream=stream)
    assert isinstance(reporter, BarReporter)
    reporter.update(ProgressEvent(60, 5, 2, 100))
    reporter.close()
    assert "62/100" in stream.getvalue()
