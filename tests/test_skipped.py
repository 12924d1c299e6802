"""Skipped is not an error: records with no authored text are counted apart, in every format.

Only read errors (bad JSON, a missing text field, a damaged e-mail) make a scan exit non-zero.
"""

import json
import mailbox
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flagger.cli import app

runner = CliRunner()


def _scan(archive: Path, tmp_path: Path, model: Path) -> tuple[int, dict, list[dict]]:
    """Scan ``archive``: exit code, JSON summary, and the errors file's lines."""
    out, summary_file = tmp_path / "v.jsonl", tmp_path / "s.json"
    args = ["scan", str(archive), "-o", str(out), "--model", str(model), "--no-explain"]
    result = runner.invoke(app, [*args, "--report", str(summary_file)])
    listed = [json.loads(x) for x in Path(f"{out}.errors.jsonl").read_text().splitlines()]
    return result.exit_code, json.loads(summary_file.read_text()), listed


def _mail(body: str | None, *, attachment: bool = False, mid: str = "<m@x>") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "a@example.org"
    message["Message-ID"] = mid
    if body is not None:
        message.set_content(body)
    if attachment:
        message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="a.pdf")
    return message


def _archive(tmp_path: Path, kind: str, broken: bool) -> Path:
    """One message with text and one with none, plus a read error when ``broken``."""
    if kind == "csv":
        path = tmp_path / "a.csv"
        path.write_text('id,text\n1,the rota is out\n2,"   "\n' + ('"3\n' if broken else ""))
    elif kind == "jsonl":
        path = tmp_path / "a.jsonl"
        lines = [{"id": "1", "text": "the rota is out"}, {"id": "2", "text": ""}]
        path.write_text("".join(json.dumps(x) + "\n" for x in lines) + ("{bad\n" if broken else ""))
    elif kind == "parquet":
        path = tmp_path / "a.parquet"
        rows = {"id": ["1", "2"], "text": ["the rota is out", " \n "]}
        if broken:
            rows = {"id": ["1", "2", "3"], "text": ["the rota is out", " \n ", None]}
        pq.write_table(pa.table(rows), path)
    elif kind == "mbox":
        path = tmp_path / "a.mbox"
        box = mailbox.mbox(str(path))
        box.add(_mail("the rota is out", mid="<1@x>"))
        box.add(_mail(None, attachment=True, mid="<2@x>"))
        box.add(_mail("> only what they said before\n", mid="<3@x>"))
        box.flush()
        box.close()
        if broken:  # a message whose bytes cannot be parsed into a body
            with path.open("ab") as handle:
                handle.write(b"From x\nContent-Type: text/plain; charset=utf-8\n")
                handle.write(b"Content-Transfer-Encoding: base64\n\n\xff\xfe not base64 \x00\n")
    else:  # a Slack export
        path = tmp_path / "a.zip"
        day = [
            {"type": "message", "user": "U1", "ts": "1.0", "text": "the rota is out"},
            {"type": "message", "user": "U1", "ts": "2.0", "text": "", "files": [{"id": "F1"}]},
        ]
        with zipfile.ZipFile(path, "w") as export:
            export.writestr("channels.json", json.dumps([{"name": "general"}]))
            export.writestr("general/2026-03-01.json", json.dumps(day))
            if broken:
                export.writestr("general/2026-03-02.json", "{broken")
    return path


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet", "mbox", "slack"])
def test_skipped_records_are_counted_and_do_not_fail_the_scan(
    tmp_path: Path, tiny_model: Path, kind: str
) -> None:
    code, summary, listed = _scan(_archive(tmp_path, kind, broken=False), tmp_path, tiny_model)
    assert code == 0
    expected = 2 if kind == "mbox" else 1
    assert summary["read"] == 1 and summary["errors"] == 0 and summary["skipped"] == expected
    assert [x["kind"] for x in listed] == ["skipped"] * expected
    assert all(x["reason"] and "text" not in x for x in listed)  # why, never the message
    if kind == "mbox":
        assert sorted(summary["skipped_reasons"]) == [
            "attachments only",
            "only quoted text or signature",
        ]
    if kind == "slack":
        assert summary["skipped_reasons"] == {"attachments only": 1}


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet", "slack"])
def test_read_errors_fail_the_scan_and_are_marked_errors(
    tmp_path: Path, tiny_model: Path, kind: str
) -> None:
    code, summary, listed = _scan(_archive(tmp_path, kind, broken=True), tmp_path, tiny_model)
    assert code == 1
    assert summary["errors"] == 1 and summary["skipped"] == 1
    assert sorted(x["kind"] for x in listed) == ["error", "skipped"]


def test_the_report_shows_skipped_records_and_their_reasons(
    tmp_path: Path, tiny_model: Path
) -> None:
    archive = _archive(tmp_path, "mbox", broken=False)
    html = tmp_path / "r.html"
    args = ["scan", str(archive), "-o", str(tmp_path / "v.jsonl"), "--model", str(tiny_model)]
    assert runner.invoke(app, [*args, "--report", str(html), "--no-explain"]).exit_code == 0
    page = html.read_text()
    assert "skipped (no text to judge)" in page and "attachments only 1" in page
