"""Human rationales: stored as offsets only, checked against their texts, scored by word F1."""

import json
from pathlib import Path

import pytest

from flagger.errors import InputFileError
from flagger.rationales import (
    cohen_kappa,
    load_rationales,
    marked_tokens,
    message_texts,
    part_of,
    resolve,
    text_sha,
    token_f1,
)

TEXT = "Women are too emotional to make decisions"


def record(**changes: object) -> dict:
    row = {
        "source": "corpus",
        "id": "x-1",
        "annotator": "a1",
        "part": part_of("corpus:x-1"),
        "evidence": [[10, 41]],
        "targets": [[0, 5]],
        "no_evidence": False,
        "text_sha": text_sha(TEXT),
    }
    row.update(changes)
    return row


def test_load_resolve_and_score(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(record()) + "\n")
    [rationale] = load_rationales(path)
    [(found, text)] = resolve([rationale], {"corpus:x-1": TEXT})
    assert found.key == "corpus:x-1"
    assert text[slice(*found.evidence[0])] == "too emotional to make decisions"
    assert resolve([rationale], {}) == []  # an EDOS post not available here is left out
    with pytest.raises(InputFileError, match="has changed"):
        resolve([rationale], {"corpus:x-1": TEXT + "!"})


def test_a_malformed_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(record()) + "\n" + json.dumps({"source": "corpus"}) + "\n")
    with pytest.raises(InputFileError, match=r"r.jsonl:2"):
        load_rationales(path)


def test_word_f1_and_kappa() -> None:
    gold = [(10, 41)]  # "too emotional to make decisions": 5 words
    assert token_f1(TEXT, gold, gold) == 1.0
    assert token_f1(TEXT, [(14, 23)], gold) == pytest.approx(2 * 1 / (1 + 5))
    assert token_f1(TEXT, [(0, 5)], gold) == 0.0
    assert token_f1(TEXT, [], []) == 1.0
    assert marked_tokens(TEXT, [(15, 16)]) == {3}  # a span touching part of a word marks it
    assert cohen_kappa([(TEXT, gold, gold)]) == pytest.approx(1.0)
    assert cohen_kappa([(TEXT, gold, [(0, 5)])]) < 0


def test_parts_are_fixed_halves() -> None:
    parts = [part_of(f"corpus:m-{i}") for i in range(400)]
    assert parts == [part_of(f"corpus:m-{i}") for i in range(400)]
    assert 160 < parts.count("test") < 240


def test_the_repository_rationales_are_offsets_only() -> None:
    folder = Path(__file__).resolve().parent.parent / "training" / "rationales"
    texts = message_texts(None, folder.parent / "corpus")
    for name in ("rationales.jsonl", "second.jsonl"):
        rows = [json.loads(line) for line in (folder / name).read_text().splitlines()]
        assert all("text" not in row for row in rows)  # never copies of EDOS posts
        found = load_rationales(folder / name)
        for rationale, text in resolve(found, texts):  # corpus texts are ours: check offsets
            assert all(0 <= s < e <= len(text) for s, e in rationale.evidence + rationale.targets)
    first = load_rationales(folder / "rationales.jsonl")
    assert sum(r.source == "edos_dev" for r in first) >= 300
    assert sum(r.source == "corpus" for r in first) >= 100
    assert len(load_rationales(folder / "second.jsonl")) >= 100
