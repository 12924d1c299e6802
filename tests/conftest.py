"""Shared fixtures: a tiny randomly initialised BERT, synthetic labelled data, a tiny trained model.

Nothing here downloads anything or needs the real base model; the whole suite runs in seconds.
Every test's default data directory (audit log, label store) is a temporary one, so no test
writes into the checkout or the user's data directory.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizer

from flagger.labels import CATEGORIES, VECTOR_TO_CATEGORY, VECTORS


@pytest.fixture(scope="session", autouse=True)
def _session_state_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A temporary data directory for module and session fixtures, and Schemathesis's cache.

    Wider-scoped fixtures are made before each test's own data directory is set. Schemathesis's
    engine keeps a run cache in ``./.schemathesis`` that only a ``schemathesis.toml`` could move;
    ``setattr`` fails loudly if a new version renames the root, rather than writing the checkout.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLAGGER_DATA_DIR", str(tmp_path_factory.mktemp("session-data")))
        try:
            from schemathesis.core import storage
        except ImportError:  # the dev extra is not installed: nothing to redirect
            pass
        else:
            patch.setattr(storage, "DEFAULT_ROOT", tmp_path_factory.mktemp("schemathesis"))
        yield


@pytest.fixture(autouse=True)
def flagger_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test's own data directory, so label stores and audit logs never leak between tests."""
    path = tmp_path_factory.mktemp("data-dir")
    monkeypatch.setenv("FLAGGER_DATA_DIR", str(path))
    return path


WORDS = (
    "women are stupid useless weak emotional bitches should stay kitchen hate her she "
    "the team meets at six meeting report coffee weather football match tomorrow great "
    "work thanks please office budget plan men people everyone good idea shift"
).split()

SEXIST_TEMPLATES = [
    "women are stupid and useless",
    "she is a stupid bitch",
    "women should stay in the kitchen",
    "i hate her she is weak and emotional",
]
NEUTRAL_TEMPLATES = [
    "the team meets at six tomorrow",
    "thanks for the report great work",
    "coffee and budget plan meeting please",
    "football match tomorrow good idea everyone",
]


def write_vocab(path: Path) -> Path:
    """A WordPiece vocabulary: specials, the test words, characters and their ## forms."""
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")
    tokens = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *sorted(set(WORDS)),
        *chars,
        *[f"##{c}" for c in chars],
    ]
    path.write_text("\n".join(dict.fromkeys(tokens)) + "\n")
    return path


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT encoder saved like a pretrained one (config, weights, tokenizer)."""
    directory = tmp_path_factory.mktemp("tiny_base")
    tokenizer = BertTokenizer(vocab_file=str(write_vocab(directory / "vocab.txt")))
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)  # the same tiny encoder in every run
    BertModel(config).save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


def write_edos_csv(path: Path, rows_per_class: int = 24, seed: int = 0) -> Path:
    """Synthetic EDOS-shaped data with train and dev splits."""
    rng = random.Random(seed)
    rows = []
    for i in range(rows_per_class * 2):
        sexist = i % 2 == 0
        text = rng.choice(SEXIST_TEMPLATES if sexist else NEUTRAL_TEMPLATES)
        vector = VECTORS[i % len(VECTORS)] if sexist else "none"
        rows.append(
            {
                "rewire_id": f"synthetic-{i}",
                "text": f"{text} {rng.choice(WORDS)}",
                "label_sexist": "sexist" if sexist else "not sexist",
                "label_category": VECTOR_TO_CATEGORY[vector] if sexist else "none",
                "label_vector": vector,
                "split": "dev" if i % 4 >= 2 and i % 8 < 4 else "train",
            }
        )
    assert {r["label_category"] for r in rows} >= set(CATEGORIES)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def edos_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small EDOS-shaped CSV with train and dev rows."""
    return write_edos_csv(tmp_path_factory.mktemp("data") / "edos.csv")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, tiny_base: Path, edos_csv: Path) -> Path:
    """A model directory trained for a few steps from the tiny base."""
    from flagger.training import TrainingConfig, train

    out = tmp_path_factory.mktemp("models") / "tiny"
    config = TrainingConfig(
        base_model=str(tiny_base),
        max_length=24,
        window_stride=8,
        max_steps=6,
        batch_size=8,
        evals_per_epoch=2,
        seed=1,
        num_threads=1,
    )
    train(edos_csv, out, config, name="tiny", version="0.0.1", progress=False)
    return out
