"""Emails as messages: the author's own words from mbox files, Maildirs and ``.eml`` files.

Bodies prefer ``text/plain``; HTML-only mail is converted to text; attachments are skipped.
Quoted reply text (``>`` lines, "On ... wrote:" and "Original Message" blocks, Outlook header
blocks), signatures (after the ``-- `` delimiter, "Sent from my ..." lines) and boilerplate
(protective markings, disclaimers, mailing-list footers: ``flagger.boilerplate``) are removed so
each message is judged on what its author wrote, and the number of characters removed is kept.
Encoded headers (RFC 2047) and declared charsets are decoded by the standard library's
``email.policy.default``; an unknown charset falls back to a lossy decode rather than failing.
"""

from __future__ import annotations

import email
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from html.parser import HTMLParser
from pathlib import Path

from flagger.boilerplate import Boilerplate

EMAIL_SUFFIXES = (".eml",)

# A line that starts the quoted part of a reply: everything from it on is someone else's text.
_REPLY_HEADER = re.compile(
    r"^\s*(On .{0,200}wrote:|-{2,}\s*Original Message\s*-{2,}|-{2,}\s*Forwarded message\s*-{2,}|"
    r"From:\s.+)\s*$",
    re.IGNORECASE,
)
_SENT_FROM = re.compile(r"^\s*Sent from my \w+", re.IGNORECASE)
_BLOCK_TAGS = frozenset(
    "p div br li tr h1 h2 h3 h4 h5 h6 blockquote table ul ol pre section article".split()
)


@dataclass(frozen=True)
class EmailText:
    """What a scan needs from one email."""

    message_id: str | None
    author: str | None
    sent_at: str | None
    text: str
    removed_chars: int


class _HtmlText(HTMLParser):
    """Collects the visible text of an HTML body; quoted ``blockquote`` parts are dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0  # depth inside script, style or blockquote

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "blockquote", "head"}:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "blockquote", "head"}:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML body, one block per line."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def own_words(body: str, boilerplate: Boilerplate | None = None) -> tuple[str, int]:
    """Strip quoted replies, the signature and boilerplate from a plain-text body.

    Args:
        body: the decoded text body.
        boilerplate: the protective-marking, disclaimer and footer rules (the defaults when
            ``None``).

    Returns:
        The author's own text and how many characters were removed.
    """
    kept: list[str] = []
    for line in body.splitlines():
        if line.rstrip() == "--" or _REPLY_HEADER.match(line):
            break  # signature delimiter ("-- ") or the start of the quoted message
        if line.lstrip().startswith(">") or _SENT_FROM.match(line):
            continue
        kept.append(line)
    text = "\n".join((boilerplate or Boilerplate()).strip(kept)).strip()
    return text, len(body.strip()) - len(text)


def _decoded(part: Message) -> str:
    try:
        return str(part.get_content()) if isinstance(part, EmailMessage) else ""
    except (LookupError, UnicodeDecodeError):  # unknown or lying charset
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _decoded(part)
    return html_to_text(text) if part.get_content_type() == "text/html" else text


class NoAuthoredTextError(ValueError):
    """A readable message with nothing of its author's to judge; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def email_text(message: EmailMessage, boilerplate: Boilerplate | None = None) -> EmailText:
    """The author's own words and the headers a scan reports.

    Raises:
        NoAuthoredTextError: the message is readable but has no words of its author's (no body, an
            empty one, attachments only, or only quoted text and signature).
    """
    body = _body(message)
    text, removed = own_words(body, boilerplate)
    if not text:
        if body.strip():
            raise NoAuthoredTextError("only quoted text or signature")
        if any(True for _ in message.iter_attachments()):
            raise NoAuthoredTextError("attachments only")
        raise NoAuthoredTextError("empty body")
    date = message.get("Date")
    try:
        sent_at = message["Date"].datetime.isoformat() if date else None
    except (AttributeError, TypeError, ValueError):
        sent_at = str(date)
    return EmailText(
        message_id=str(message["Message-ID"]).strip() if message["Message-ID"] else None,
        author=str(message["From"]) if message["From"] else None,
        sent_at=sent_at,
        text=text,
        removed_chars=removed,
    )


def parse_bytes(raw: bytes) -> EmailMessage:
    """Parse one RFC 5322 message with the modern policy (decoded headers)."""
    return email.message_from_bytes(raw, policy=default_policy)


def iter_mailbox(path: Path) -> Iterator[tuple[str, bytes]]:
    """``(location, raw bytes)`` of every message in an mbox file, a Maildir or a folder of .eml.

    Locations are ``file:index`` for mbox, ``file`` for Maildir and ``.eml`` files.
    """
    if path.is_file() and path.suffix.lower() in EMAIL_SUFFIXES:
        yield str(path), path.read_bytes()
    elif path.is_file():
        box = mailbox.mbox(str(path), create=False)
        try:
            for index, key in enumerate(box.iterkeys(), start=1):
                yield f"{path}:{index}", box.get_bytes(key)
        finally:
            box.close()
    elif (path / "cur").is_dir() and (path / "new").is_dir():
        maildir = mailbox.Maildir(str(path), create=False)
        for key in sorted(maildir.iterkeys()):
            yield f"{path}/{key}", maildir.get_bytes(key)
    else:
        for file in sorted(path.rglob("*")):
            if file.is_file() and file.suffix.lower() in EMAIL_SUFFIXES:
                yield str(file), file.read_bytes()
