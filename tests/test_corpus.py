"""The authored corpus: it loads, its labels are EDOS labels, it is diverse, it repeats neither
the behavioural suite nor quoted examples, and its blind split is never trained on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from flagger.behaviour import load_suite
from flagger.errors import InputFileError
from flagger.labels import VECTORS
from flagger.training.config import TrainingConfig
from flagger.training.corpus import (
    COLUMNS,
    diversity,
    near_duplicates,
    quoted_sentences,
    read_corpus,
    read_corpus_file,
    skeleton,
)
from flagger.training.trainer import training_files

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "training" / "corpus"
BLIND = ROOT / "training" / "blind"
sys.path.insert(0, str(ROOT / "training"))

HEADER = ",".join(COLUMNS)


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def test_a_bad_corpus_row_names_file_and_line(tmp_path: Path) -> None:
    good = "c-1,She is lovely,not sexist,none,none,positive,statement,she"
    cases = {
        "c-2,x,sexist,2. derogation,1.1 threats of harm,sexist,statement,she": "belongs to",
        "c-2,x,sexist,2. derogation,2.9 made up,sexist,statement,she": "not an EDOS vector",
        "c-2,x,not sexist,2. derogation,none,neutral,statement,she": "'none'",
        "c-2,x,not sexist,none,none,praise,statement,she": "kind 'praise'",
        "c-2,x,maybe,none,none,neutral,statement,she": "label_sexist",
        "c-2,x,not sexist,none,none,neutral,haiku,she": "shape 'haiku'",
    }
    for line, message in cases.items():
        path = write(tmp_path / "bad.csv", good, line)
        with pytest.raises(InputFileError, match=message) as error:
            read_corpus_file(path)
        assert "bad.csv:3" in str(error.value)
    (tmp_path / "header.csv").write_text("id,text\n1,x\n")
    with pytest.raises(InputFileError, match="header"):
        read_corpus_file(tmp_path / "header.csv")


def test_ids_are_unique_across_files(tmp_path: Path) -> None:
    row = "c-1,She is lovely,not sexist,none,none,positive,statement,she"
    write(tmp_path / "a.csv", row)
    write(tmp_path / "b.csv", row)
    with pytest.raises(InputFileError, match="more than once"):
        read_corpus(tmp_path)


def test_skeletons_mask_content_words_and_catch_templates() -> None:
    assert skeleton("Women are too emotional to lead.") == skeleton(
        "Managers are too lazy to plan!"
    )
    assert skeleton("She can't drive") != skeleton("She drives")
    templated = [f"{who} are too {what} to lead" for who in ("cats", "dogs") for what in "xyz"]
    varied = ["The rota is out", "Can someone cover Friday?", "She smashed the interview", "lol no"]
    assert diversity(templated)["largest_skeleton_share"] == 1.0
    assert diversity(varied)["largest_skeleton_share"] == 0.25
    assert diversity(varied)["distinct_trigram_ratio"] == 1.0


def test_near_duplicates_survive_case_punctuation_and_small_edits() -> None:
    refs = ["Women are too emotional to lead."]
    found = near_duplicates(
        ["women are TOO emotional to lead!!", "Women are too emotional to lead teams.", "Lunch?"],
        refs,
    )
    assert [i for i, _, _ in found] == [0, 1]
    assert quoted_sentences('He said "women can\'t park" and "ok"') == ["women can't park"]


def corpus_rows() -> list:
    if not any(CORPUS.glob("*.csv")):
        pytest.fail("training/corpus has no CSV files")
    return read_corpus(CORPUS)


def test_corpus_meets_its_coverage_floors() -> None:
    rows = corpus_rows()
    sexist = [r for r in rows if r.sexist]
    assert len(sexist) >= 1500
    counts = {v: sum(r.vector == v for r in sexist) for v in VECTORS}
    assert min(counts.values()) >= 80, counts
    negatives = [r for r in rows if not r.sexist]
    assert len(negatives) >= len(sexist)
    kinds = {r.kind for r in negatives}
    assert {"other_target", "positive", "neutral", "counter_speech", "policy"} <= kinds
    assert len({r.shape for r in rows}) >= 8


def test_corpus_is_diverse() -> None:
    figures = diversity([r.text for r in corpus_rows()])
    assert figures["largest_skeleton_share"] <= 0.01, figures
    assert figures["distinct_trigram_ratio"] >= 0.8, figures


def test_corpus_is_disjoint_from_the_suite_and_quoted_examples() -> None:
    from corpus_report import quoted_examples

    texts = [r.text for r in corpus_rows()]
    suite = [c.text for c in load_suite(ROOT / "training" / "behaviour")]
    assert near_duplicates(texts, suite) == []
    assert near_duplicates(texts, quoted_examples()) == []


def test_blind_split_is_written_apart_and_never_trained_on() -> None:
    blind = read_corpus(BLIND)
    assert len(blind) >= 600
    assert {r.sexist for r in blind} == {True, False}
    assert (BLIND / ".never-train").exists()
    with pytest.raises(InputFileError, match="never-train"):
        training_files([BLIND])
    corpus = corpus_rows()
    assert not {r.id for r in blind} & {r.id for r in corpus}
    assert near_duplicates([r.text for r in blind], [r.text for r in corpus], 0.6) == []
    # No recipe trains on it.
    for recipe in (ROOT / "training").glob("*.json"):
        values = json.loads(recipe.read_text())
        if isinstance(values, dict) and "extra_train" in values:
            config = TrainingConfig.from_file(recipe)
            files = training_files(config.extra_train)
            assert not any(BLIND in f.resolve().parents for f in files), recipe
