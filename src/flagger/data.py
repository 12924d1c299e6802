"""Labelled data for training and evaluation, read through Hugging Face ``datasets``.

EDOS files work as they are (``text``, ``label_sexist``, ``label_category``, ``label_vector``,
``split``, ``rewire_id``); a plain ``text,label`` file works too, and heads whose labels are
absent are simply not trained or scored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import datasets
from datasets import Dataset

from flagger.errors import InputFileError
from flagger.files import require_file, require_utf8, tabular_format
from flagger.labels import CATEGORIES, VECTORS, label_index, parse_binary_label

BINARY_COLUMNS = ("label_sexist", "label")
ID_COLUMNS = ("rewire_id", "id")


@dataclass(frozen=True)
class Example:
    """One labelled text; ``None`` means the label is not given for that task."""

    id: str
    text: str
    sexist: int | None
    category: int | None
    vector: int | None
    split: str | None


def _read_table(path: Path, fmt: str | None) -> Dataset:
    builder = tabular_format(path, fmt)
    if builder != "parquet":
        require_utf8(path)
    kwargs: dict[str, object] = {}
    if builder == "csv":
        # Keep every cell a string: "none" or "NA" are labels and words here, not missing values.
        kwargs = {"keep_default_na": False}
        if path.suffix.lower() == ".tsv":
            kwargs["sep"] = "\t"
    datasets.disable_progress_bars()
    try:
        table = datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)
    except ValueError as exc:
        if "corresponds to no data" in str(exc):  # datasets' way of saying "header only"
            raise InputFileError(f"{path}: contains no rows") from None
        raise InputFileError(f"{path}: could not be read as {builder} ({exc})") from None
    except Exception as exc:  # datasets wraps parser errors in several exception types
        raise InputFileError(
            f"{path}: could not be read as {builder} ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None
    if not isinstance(table, Dataset) or table.num_rows == 0:
        raise InputFileError(f"{path}: contains no rows")
    return table


def load_examples(
    path: str | Path, text_field: str = "text", fmt: str | None = None, require_labels: bool = True
) -> list[Example]:
    """Read a labelled file into examples.

    Args:
        path: CSV, TSV, JSONL or Parquet file.
        text_field: name of the column holding the text.
        fmt: override the format inferred from the extension.
        require_labels: refuse files with neither ``label_sexist`` nor ``label``.

    Raises:
        InputFileError: missing, empty or non-UTF-8 file, a missing column, or a bad label (with
            its row number).
    """
    file = require_file(path)
    table = _read_table(file, fmt)
    columns = set(table.column_names)
    if text_field not in columns:
        raise InputFileError(
            f"{file}: missing column {text_field!r}; found {sorted(columns)} "
            "(use --text-field to name the text column)"
        )
    binary_col = next((c for c in BINARY_COLUMNS if c in columns), None)
    if require_labels and binary_col is None:
        raise InputFileError(
            f"{file}: missing label column; expected one of {list(BINARY_COLUMNS)}, "
            f"found {sorted(columns)}"
        )
    id_col = next((c for c in ID_COLUMNS if c in columns), None)
    examples = []
    for row_number, row in enumerate(table, start=1):
        text = row[text_field]
        if text is None or not str(text).strip():
            raise InputFileError(f"{file}: row {row_number}: empty {text_field!r}")
        try:
            examples.append(
                Example(
                    id=str(row[id_col]) if id_col else str(row_number),
                    text=str(text),
                    sexist=parse_binary_label(row[binary_col]) if binary_col else None,
                    category=label_index(row.get("label_category"), CATEGORIES),
                    vector=label_index(row.get("label_vector"), VECTORS),
                    split=str(row["split"]).strip().lower() if row.get("split") else None,
                )
            )
        except ValueError as exc:
            raise InputFileError(f"{file}: row {row_number}: {exc}") from None
    return examples


def select_split(examples: Sequence[Example], split: str | None) -> list[Example]:
    """Keep the examples of one split (all of them when ``split`` is ``None``).

    Raises:
        InputFileError: if a split is asked for but no example belongs to it.
    """
    if split is None:
        return list(examples)
    chosen = [e for e in examples if e.split == split]
    if not chosen:
        found = sorted({e.split for e in examples if e.split})
        raise InputFileError(f"no rows with split={split!r}; splits found: {found or 'none'}")
    return chosen


def hash_split(example_id: str, dev_fraction: float) -> str:
    """Assign an id to ``train`` or ``dev`` deterministically, by hash of the id."""
    bucket = int(hashlib.sha256(example_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "dev" if bucket < dev_fraction else "train"


def split_names(examples: Sequence[Example], dev_fraction: float) -> list[str | None]:
    """Each example's split: its ``split`` column if any row has one, else ``train``/``dev`` by
    a hash of its id, so the same rows stay held out however often a file is read."""
    if any(e.split for e in examples):
        return [e.split for e in examples]
    return [hash_split(e.id, dev_fraction) for e in examples]


def train_dev_split(
    examples: list[Example], dev_fraction: float
) -> tuple[list[Example], list[Example]]:
    """Split into train and dev: by the ``split`` column if any row has one, else by id.

    Raises:
        InputFileError: if either side is empty or dev has no binary labels.
    """
    names = split_names(examples, dev_fraction)
    train = [e for e, name in zip(examples, names, strict=True) if name == "train"]
    dev = [e for e, name in zip(examples, names, strict=True) if name == "dev"]
    if not train or not dev or not any(e.sexist is not None for e in dev):
        raise InputFileError(
            f"need labelled train and dev rows, found {len(train)} train and {len(dev)} dev "
            "(give a 'split' column with train/dev, or more rows)"
        )
    return train, dev
