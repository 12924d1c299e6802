"""Emails: the author's own words from mbox, Maildir and .eml, with headers decoded."""

import json
import mailbox
from email.message import EmailMessage
from pathlib import Path

from typer.testing import CliRunner

from flagger.cli import app
from flagger.emails import html_to_text, own_words
from flagger.readers import Message, Skipped, read_messages


def _mail(body: str, *, subtype: str = "plain", charset: str = "utf-8", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = headers.get("sender", "=?utf-8?q?Zo=C3=AB_Smith?= <zoe@example.org>")
    message["To"] = "team@example.org"
    message["Date"] = "Tue, 03 Mar 2026 09:15:00 +0000"
    message["Message-ID"] = headers.get("mid", "<m1@example.org>")
    message.set_content(body, subtype=subtype, charset=charset)
    return bytes(message)


def test_quoted_replies_and_signatures_are_removed() -> None:
    body = (
        "Women are useless at this.\n"
        "> earlier quoted line\n"
        "Sent from my iPhone\n"
        "-- \n"
        "PC Smith, Response Team\n"
    )
    text, removed = own_words(body)
    assert text == "Women are useless at this."
    assert removed == len(body.strip()) - len(text)
    text, _ = own_words("Fine by me.\n\nOn Mon, 2 Mar 2026, Tom wrote:\n> women are stupid\n")
    assert text == "Fine by me."
    text, _ = own_words("Agreed.\n-----Original Message-----\nFrom: Tom\nwomen are stupid")
    assert text == "Agreed."


def test_html_bodies_become_text_without_quotes() -> None:
    html = "<html><style>p{}</style><p>Hello <b>team</b></p><blockquote>old</blockquote>ok</html>"
    assert html_to_text(html) == "Hello team\nok"


def test_eml_folder_mbox_and_maildir(tmp_path: Path) -> None:
    folder = tmp_path / "inbox.old"  # a dotted folder name is still a mailbox
    folder.mkdir()
    (folder / "a.eml").write_bytes(_mail("First message.\n> quoted\n"))
    (folder / "b.eml").write_bytes(
        _mail("<p>Second <i>one</i></p>", subtype="html", mid="<m2@example.org>")
    )
    (folder / "c.eml").write_bytes(_mail("> only quoted text\n", mid="<m3@example.org>"))
    records = list(read_messages(folder))
    first, second, third = records
    assert isinstance(first, Message) and first.text == "First message."
    assert first.id == "<m1@example.org>" and first.author == "Zoë Smith <zoe@example.org>"
    assert first.sent_at == "2026-03-03T09:15:00+00:00" and first.removed_chars == 9
    assert isinstance(second, Message) and second.text == "Second one"
    assert third == Skipped(str(folder / "c.eml"), "only quoted text or signature")

    box = mailbox.mbox(str(tmp_path / "archive.mbox"))
    for i in range(3):
        box.add(_mail(f"mbox message {i}", mid=f"<b{i}@x>", charset="iso-8859-1"))
    box.close()
    texts = [r.text for r in read_messages(tmp_path / "archive.mbox") if isinstance(r, Message)]
    assert texts == ["mbox message 0", "mbox message 1", "mbox message 2"]

    maildir = mailbox.Maildir(str(tmp_path / "Maildir"))
    maildir.add(_mail("café talk", charset="iso-8859-1"))
    (record,) = read_messages(tmp_path / "Maildir")
    assert isinstance(record, Message) and record.text == "café talk"


def test_scan_of_an_email_folder_reports_sender_and_removed_text(
    tmp_path: Path, tiny_model: Path
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.eml").write_bytes(_mail("women are stupid\n-- \nsig"))
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["scan", str(folder), "-o", str(out), "-m", str(tiny_model)])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["author"].startswith("Zoë Smith") and row["removed_chars"] == 8
    assert row["sent_at"].startswith("2026-03-03")
