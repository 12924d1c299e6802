"""Slack workspace exports (the zip, or the folder it unpacks to) as messages.

An export holds ``users.json``, ``channels.json`` and one folder per channel with a JSON file per
day, each a list of message objects. Day files are read one at a time, so memory is bounded by
the largest day. User ids become display names, and Slack's markup for mentions and links is
turned back into what people saw (``<@U1>`` -> ``@Sam``, ``<https://x|label>`` -> ``label``).
Joins, leaves and other system messages are skipped.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

# System events, not things a person wrote.
_SKIPPED_SUBTYPES = frozenset(
    "channel_join channel_leave channel_topic channel_purpose channel_name channel_archive "
    "channel_unarchive group_join group_leave pinned_item unpinned_item bot_add bot_remove".split()
)
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^>|]+)(?:\|([^>]+))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)[^>]*>")


@dataclass(frozen=True)
class SlackMessage:
    """One message of an export, or the reason it could not be read."""

    location: str
    id: str | None = None
    author: str | None = None
    sent_at: str | None = None
    text: str | None = None
    error: str | None = None
    skipped: str | None = None  # readable, but no text to judge (why)


def is_slack_export(path: Path) -> bool:
    """A zip file, or a folder holding ``channels.json`` or ``users.json``."""
    if path.is_dir():
        return (path / "channels.json").is_file() or (path / "users.json").is_file()
    return path.is_file() and zipfile.is_zipfile(path)


class _Export:
    """Uniform access to the files of a zip or of a folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None

    def names(self) -> list[str]:
        if self.zip is not None:
            return sorted(n for n in self.zip.namelist() if not n.endswith("/"))
        return sorted(str(p.relative_to(self.path).as_posix()) for p in self.path.rglob("*.json"))

    def read(self, name: str) -> Any:
        raw = self.zip.read(name) if self.zip is not None else (self.path / name).read_bytes()
        return json.loads(raw.decode("utf-8"))

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _users(export: _Export, names: list[str]) -> dict[str, str]:
    if "users.json" not in names:
        return {}
    users = export.read("users.json")
    return {
        u["id"]: u.get("real_name") or u.get("profile", {}).get("real_name") or u.get("name", "")
        for u in users
        if isinstance(u, dict) and "id" in u
    }


def plain_text(text: str, users: dict[str, str]) -> str:
    """Slack markup turned back into what people saw."""
    text = _MENTION.sub(lambda m: "@" + users.get(m.group(1), m.group(1)), text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def read_slack(path: Path) -> Iterator[SlackMessage]:
    """Every message of every channel, channel by channel and day by day."""
    export = _Export(path)
    try:
        names = export.names()
        users = _users(export, names)
        days = [n for n in names if len(PurePosixPath(n).parts) >= 2 and n.endswith(".json")]
        for name in days:
            channel = PurePosixPath(name).parent.name
            location = f"{path}/{name}"
            try:
                messages = export.read(name)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield SlackMessage(location, error=f"unreadable day file ({exc})")
                continue
            if not isinstance(messages, list):
                yield SlackMessage(location, error="day file is not a JSON list")
                continue
            for index, item in enumerate(messages, start=1):
                found = _message(item, channel, f"{location}:{index}", users)
                if found is not None:
                    yield found
    finally:
        export.close()


def _message(item: Any, channel: str, location: str, users: dict[str, str]) -> SlackMessage | None:
    if not isinstance(item, dict):
        return SlackMessage(location, error="message is not a JSON object")
    if item.get("subtype") in _SKIPPED_SUBTYPES:
        return None
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        shared = item.get("files") or item.get("attachments")
        return SlackMessage(location, skipped="attachments only" if shared else "empty text")
    ts = str(item.get("ts", ""))
    try:
        sent_at = datetime.fromtimestamp(float(ts), tz=UTC).isoformat()
    except ValueError:
        sent_at = None
    user = item.get("user") or item.get("username") or item.get("bot_id")
    return SlackMessage(
        location,
        id=f"{channel}/{ts}" if ts else location,
        author=users.get(str(user), str(user)) if user else None,
        sent_at=sent_at,
        text=plain_text(text, users),
    )
