"""Reading labelled files, and clear errors for bad ones."""

from pathlib import Path

import pytest

from flagger.data import hash_split, load_examples, select_split
from flagger.errors import InputFileError


def test_reads_edos_columns(edos_csv: Path) -> None:
    examples = load_examples(edos_csv)
    assert len(examples) == 48
    sexist = [e for e in examples if e.sexist == 1]
    assert sexist and all(e.category is not None and e.vector is not None for e in sexist)
    assert all(e.category is None for e in examples if e.sexist == 0)
    assert {e.split for e in examples} == {"train", "dev"}
    assert examples[0].id == "synthetic-0"


def test_reads_plain_text_label_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl"
    path.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": 0}\n')
    examples = load_examples(path)
    assert [(e.text, e.sexist, e.category, e.split) for e in examples] == [
        ("a", 1, None, None),
        ("b", 0, None, None),
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        load_examples(tmp_path / "absent.csv")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputFileError, match="empty"):
        load_examples(tmp_path / "empty.csv")


def test_header_only_file(tmp_path: Path) -> None:
    (tmp_path / "header.csv").write_text("text,label\n")
    with pytest.raises(InputFileError, match="no rows"):
        load_examples(tmp_path / "header.csv")


def test_missing_column(tmp_path: Path) -> None:
    (tmp_path / "cols.csv").write_text("message,label\nhello,0\n")
    with pytest.raises(InputFileError, match="missing column 'text'"):
        load_examples(tmp_path / "cols.csv")
    (tmp_path / "nolabel.csv").write_text("text,other\nhello,0\n")
    with pytest.raises(InputFileError, match="missing label column"):
        load_examples(tmp_path / "nolabel.csv")


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\nfine,0\ncaf\u00e9,1\n".encode("latin-1"))
    with pytest.raises(InputFileError, match=r"latin1.csv:3: not valid UTF-8"):
        load_examples(path)


def test_bad_label_names_the_row(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("text,label\nhello,0\nworld,perhaps\n")
    with pytest.raises(InputFileError, match="row 2"):
        load_examples(tmp_path / "bad.csv")


def test_unknown_extension(tmp_path: Path) -> None:
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(InputFileError, match="cannot tell the format"):
        load_examples(tmp_path / "data.xlsx")


def test_select_split(edos_csv: Path) -> None:
    examples = load_examples(edos_csv)
    assert all(e.split == "dev" for e in select_split(examples, "dev"))
    with pytest.raises(InputFileError, match="no rows with split='test'"):
        select_split(examples, "test")


def test_hash_split_is_deterministic() -> None:
    splits = [hash_split(f"id-{i}", 0.2) for i in range(1000)]
    assert splits == [hash_split(f"id-{i}", 0.2) for i in range(1000)]
    assert 150 < splits.count("dev") < 250


def test_reads_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "labels.parquet"
    table = pa.table(
        {
            "text": ["women are weak", "hello"],
            "label_sexist": ["sexist", "not sexist"],
            "label_vector": ["2.1 descriptive attacks", "none"],
        }
    )
    pq.write_table(table, path)
    examples = load_examples(path)
    assert [(e.sexist, e.vector) for e in examples] == [(1, 2), (0, None)]
