"""Slack workspace exports: zip or folder, names for user ids, markup undone, system events out."""

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from flagger.errors import InputFileError
from flagger.readers import Message, ReadError, Skipped, read_messages
from flagger.slack import plain_text


def _export(root: Path) -> Path:
    root.mkdir()
    (root / "users.json").write_text(
        json.dumps([{"id": "U1", "real_name": "Sam Jones"}, {"id": "U2", "name": "kate"}])
    )
    (root / "channels.json").write_text(json.dumps([{"name": "general"}]))
    (root / "general").mkdir()
    (root / "general" / "2026-03-01.json").write_text(
        json.dumps(
            [
                {"type": "message", "subtype": "channel_join", "user": "U2", "text": "joined"},
                {
                    "type": "message",
                    "user": "U1",
                    "ts": "1772323200.000100",
                    "text": "<@U2> see <https://example.org/rota|the rota> &amp; reply",
                },
                {"type": "message", "user": "U2", "ts": "1772323260.000200", "text": ""},
            ]
        )
    )
    (root / "general" / "2026-03-02.json").write_text("{broken")
    return root


def test_folder_export(tmp_path: Path) -> None:
    root = _export(tmp_path / "export")
    records = list(read_messages(root))
    message, empty, broken = records
    assert isinstance(message, Message)
    assert message.text == "@kate see the rota & reply"
    assert message.author == "Sam Jones" and message.id == "general/1772323200.000100"
    assert message.sent_at == "2026-03-01T00:00:00.000100+00:00"
    assert message.source.endswith("general/2026-03-01.json:2")
    assert isinstance(empty, Skipped) and empty.reason == "empty text"
    assert isinstance(broken, ReadError) and "unreadable day file" in broken.reason


def test_zip_export_reads_the_same(tmp_path: Path) -> None:
    root = _export(tmp_path / "export")
    archive = tmp_path / "workspace.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for file in root.rglob("*.json"):
            handle.write(file, file.relative_to(root).as_posix())
    shutil.rmtree(root)
    texts = [r.text for r in read_messages(archive) if isinstance(r, Message)]
    assert texts == ["@kate see the rota & reply"]
    not_zip = tmp_path / "fake.zip"
    not_zip.write_text("hello")
    with pytest.raises(InputFileError, match="not a Slack export"):
        list(read_messages(not_zip))


def test_markup() -> None:
    assert plain_text("<!here> <mailto:a@b.org> <@U9>", {}) == "@here mailto:a@b.org @U9"
