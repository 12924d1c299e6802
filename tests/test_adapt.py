"""Task-adaptive pre-training: MLM on training texts only, output usable as a base encoder."""

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from flagger.errors import ConfigError
from flagger.training import TrainingConfig, train
from flagger.training.adapt import AdaptConfig, adapt_encoder, training_texts


def test_adapted_encoder_trains_a_model(tmp_path: Path, tiny_base: Path, edos_csv: Path) -> None:
    config = AdaptConfig(base_model=str(tiny_base), max_steps=3, batch_size=8, num_threads=1)
    adapted = adapt_encoder(edos_csv, tmp_path / "adapted", config, progress=False)
    record = json.loads((adapted / "adapt_config.json").read_text())
    assert record["steps"] == 3 and record["texts"] == 36
    before = load_file(str(tiny_base / "model.safetensors"))
    after = load_file(str(adapted / "model.safetensors"))
    key = next(k for k in after if k.endswith("word_embeddings.weight"))
    assert not (before[key] == after[key]).all()  # the encoder really moved
    recipe = TrainingConfig(
        base_model=str(adapted),
        max_length=24,
        window_stride=8,
        max_steps=2,
        batch_size=8,
        num_threads=1,
    )
    result = train(edos_csv, tmp_path / "model", recipe, progress=False)
    assert "task_a_macro_f1" in result.dev_metrics


def test_dev_texts_are_never_used(edos_csv: Path) -> None:
    texts = training_texts(edos_csv, "text", 0.1)
    assert len(texts) == 36  # 48 rows, 12 of them dev


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="mask_probability"):
        AdaptConfig(mask_probability=0)
