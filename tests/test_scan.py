"""Scan: streaming in bounded batches, and no output left behind by a refused scan."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from flagger import Flagger
from flagger import scan as scan_module
from flagger.errors import ConfigError
from flagger.readers import Message, Record


@pytest.fixture(scope="module")
def flagger(tiny_model: Path) -> Flagger:
    return Flagger.load(tiny_model, num_threads=1)


def test_reads_only_a_batch_ahead(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, flagger: Flagger
) -> None:
    pulled = 0
    seen_at_scoring: list[int] = []

    def endless_enough(*_: object, **__: object) -> Iterator[Record]:
        nonlocal pulled
        for i in range(5000):
            pulled += 1
            yield Message(id=str(i), text="hello", source=f"x:{i}")

    real_score = flagger.score

    def spy(texts: list[str], *args: object, **options: object) -> object:
        seen_at_scoring.append(pulled)
        return real_score(texts, *args, **options)

    monkeypatch.setattr(scan_module, "read_messages", endless_enough)
    monkeypatch.setattr(flagger, "score", spy)
    stand_in = tmp_path / "archive.jsonl"  # read_messages is replaced; the file is only stamped
    stand_in.write_text("{}\n")
    summary = scan_module.scan(flagger, stand_in, tmp_path / "out.jsonl", batch_size=100)
    assert summary.read == 5000 and len(seen_at_scoring) == 50
    # When each batch is scored, at most that batch (plus the record peeked to check the input
    # opens) was read.
    assert all(seen <= (i + 1) * 100 + 1 for i, seen in enumerate(seen_at_scoring))


def test_bad_threshold_is_refused_before_output_exists(tmp_path: Path, flagger: Flagger) -> None:
    source = tmp_path / "m.jsonl"
    source.write_text('{"text": "hello"}\n')
    out = tmp_path / "out.jsonl"
    with pytest.raises(ConfigError, match="threshold"):
        scan_module.scan(flagger, source, out, threshold=2.0)
    assert not out.exists()


def test_only_flagged_writes_flags_but_counts_everything(tmp_path: Path, tiny_model: Path) -> None:
    archive = tmp_path / "in.jsonl"
    archive.write_text("".join(f'{{"id": "{i}", "text": "message {i}"}}\n' for i in range(5)))
    flagger = Flagger.load(tiny_model, num_threads=1)
    for cut, expected in ((1.0, 0), (0.0, 5)):
        out = tmp_path / f"flags-{cut}.jsonl"
        summary = scan_module.scan(flagger, archive, out, threshold=cut, only_flagged=True)
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert summary.read == 5 and summary.flagged == len(rows) == expected
        assert all(r["flagged"] for r in rows)
