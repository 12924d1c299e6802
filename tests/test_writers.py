"""Output writers: every format round-trips; resuming drops torn and uncommitted rows."""

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from flagger.errors import InputFileError
from flagger.writers import open_writer, output_format, read_results


def row(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"m{i}",
        "flagged": i % 2 == 0,
        "score": i / 10,
        "uncertain": False,
        "threshold": {"name": "default", "value": 0.3},
        "category": "2. derogation" if i % 2 == 0 else None,
        "category_probability": 0.5,
        "vector": None,
        "vector_probability": 0.25,
        "windows": 1,
        "spans": [{"start": 0, "end": 3, "text": 'a,"', "weight": 0.2}] if i % 2 == 0 else None,
        "targets": [{"start": 4, "end": 9, "text": "women"}] if i % 2 == 0 else None,
        "score_without_spans": 0.01 if i % 2 == 0 else None,
        "evidence_complete": True if i % 2 == 0 else None,
        "model_version": "tiny@0.0.1",
        "schema_version": 2,
        "source": f"in.jsonl:{i}",
        **extra,
    }


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    rows = [row(0, text='a,"\nquoted"', author="ann"), row(1, removed_chars=12), row(2)]
    writer = open_writer(tmp_path / f"out{suffix}")
    writer.write_batch(rows[:2])
    writer.write_batch(rows[2:])
    writer.close(finished=True)
    back = list(read_results(tmp_path / f"out{suffix}"))
    expected = [{k: v for k, v in r.items() if v is not None} for r in rows]
    assert [{k: v for k, v in r.items() if v is not None} for r in back] == expected


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_resume_drops_rows_after_the_committed_position(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    writer = open_writer(path)
    writer.write_batch([row(0), row(1)])
    committed = writer.position()
    writer.write_batch([row(2)])  # written, but the checkpoint never recorded it
    writer.close(finished=False)
    if suffix != ".parquet":
        with path.open("a") as handle:
            handle.write('{"id": "half')
    resumed = open_writer(path, start=committed)
    resumed.write_batch([row(3)])
    resumed.close(finished=True)
    assert [r["id"] for r in read_results(path)] == ["m0", "m1", "m3"]


def test_unknown_output_extension_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"\.jsonl, \.csv or \.parquet"):
        output_format(tmp_path / "out.xlsx")


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_outputs_written_before_the_schema_version_read_as_version_1(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"old{suffix}"
    old = {k: v for k, v in row(0).items() if k not in {"targets", "evidence_complete"}}
    old.pop("schema_version")
    if suffix == ".jsonl":
        path.write_text(json.dumps(old) + "\n")
    else:  # the CSV header of the old schema: no targets, no evidence_complete, no version
        columns = [c for c in old if c != "text"]
        values = [
            json.dumps(old[c]) if isinstance(old[c], dict | list) else old[c] for c in columns
        ]
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerow(["true" if v is True else "false" if v is False else v for v in values])
    [back] = list(read_results(path))
    assert back["schema_version"] == 1 and "targets" not in back
    assert back["spans"] == old["spans"]
