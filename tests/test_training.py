"""Training on tiny synthetic data with a tiny random BERT: the directory, determinism, config."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from flagger.errors import ConfigError, InputFileError
from flagger.model_dir import MANIFEST_FILE, read_info
from flagger.training import TrainingConfig, train


def test_model_directory_describes_itself(tiny_model: Path) -> None:
    names = {p.name for p in tiny_model.iterdir()}
    assert {
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "flagger.json",
        "README.md",
        MANIFEST_FILE,
    } <= names
    info = read_info(tiny_model)
    assert (info.name, info.version) == ("tiny", "0.0.1")
    assert info.training["max_steps"] == 6 and info.training["seed"] == 1
    assert info.data["train_rows"] > 0 and len(info.data["sha256"]) == 64
    assert "task_a_macro_f1" in info.metrics["dev"]
    manifest = json.loads((tiny_model / MANIFEST_FILE).read_text())
    assert set(manifest) == names - {MANIFEST_FILE}
    card = (tiny_model / "README.md").read_text()
    for section in ("## Intended use", "## Training data", "## Metrics", "## Limitations"):
        assert section in card
    weights = load_file(str(tiny_model / "model.safetensors"))
    assert {str(t.dtype) for t in weights.values()} == {"torch.float16"}


def test_training_is_deterministic(tmp_path: Path, tiny_base: Path, edos_csv: Path) -> None:
    config = TrainingConfig(
        base_model=str(tiny_base),
        max_length=24,
        window_stride=8,
        max_steps=3,
        batch_size=8,
        seed=7,
        num_threads=1,
        average_top_k=1,
    )
    first = train(edos_csv, tmp_path / "a", config, progress=False)
    second = train(edos_csv, tmp_path / "b", config, progress=False)
    a = load_file(str(first.model_dir / "model.safetensors"))
    b = load_file(str(second.model_dir / "model.safetensors"))
    assert all((a[k] == b[k]).all() for k in a)


def test_trains_on_plain_text_label_file(tmp_path: Path, tiny_base: Path) -> None:
    rows = [
        {"id": f"r{i}", "text": "women are weak" if i % 2 else "the team meets", "label": i % 2}
        for i in range(60)
    ]
    data = tmp_path / "plain.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = TrainingConfig(
        base_model=str(tiny_base),
        max_length=16,
        window_stride=8,
        max_steps=2,
        batch_size=8,
        num_threads=1,
        dev_fraction=0.3,
    )
    result = train(data, tmp_path / "plain", config, progress=False)
    assert "task_a_macro_f1" in result.dev_metrics
    assert "task_b_macro_f1" not in result.dev_metrics  # no category labels: head not scored


def test_config_validates_itself() -> None:
    with pytest.raises(ConfigError, match="window_stride"):
        TrainingConfig(max_length=32, window_stride=40)
    with pytest.raises(ConfigError, match="epochs"):
        TrainingConfig(epochs=0)


def test_config_file_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "recipe.json"
    path.write_text('{"epochs": 2, "learning_rat": 1e-4}')
    with pytest.raises(ConfigError, match="learning_rat"):
        TrainingConfig.from_file(path)
    path.write_text('{"epochs": 2}')
    assert TrainingConfig.from_file(path, seed=3).seed == 3


def test_training_needs_a_dev_split(tmp_path: Path, tiny_base: Path) -> None:
    data = tmp_path / "train_only.csv"
    data.write_text("text,label,split\nhello,0,train\nwomen are weak,1,train\n")
    with pytest.raises(InputFileError, match="train and dev"):
        train(data, tmp_path / "out", TrainingConfig(base_model=str(tiny_base)), progress=False)


def test_soup_averages_models_from_one_base(
    tmp_path: Path, tiny_base: Path, edos_csv: Path
) -> None:
    from flagger.training.soup import make_soup

    dirs = []
    for seed in (1, 2):
        config = TrainingConfig(
            base_model=str(tiny_base),
            max_length=24,
            window_stride=8,
            max_steps=3,
            batch_size=8,
            seed=seed,
            num_threads=1,
        )
        dirs.append(train(edos_csv, tmp_path / f"m{seed}", config, progress=False).model_dir)
    result = make_soup(dirs, edos_csv, tmp_path / "soup", version="9.9.9", num_threads=1)
    info = read_info(result.model_dir)
    assert info.version == "9.9.9" and "greedy soup" in info.metrics["selected"]
    assert info.training["soup"]["kept"][0] in {str(d) for d in dirs}
    # each ingredient as the soup measured it (the saved weights, on the same dev split)
    scores = info.training["soup"]["scores"]
    assert set(scores) == {str(d) for d in dirs}
    assert info.metrics["dev_fp32"]["selection"] >= max(scores.values()) - 1e-9
    with pytest.raises(ConfigError, match="at least two"):
        make_soup(dirs[:1], edos_csv, tmp_path / "one")
    # Fixed weights: a straight interpolation of the two, 3:1.
    mixed = make_soup(dirs, edos_csv, tmp_path / "mix", weights=[3, 1], num_threads=1)
    from safetensors.torch import load_file

    first, second, blend = (
        load_file(str(d / "model.safetensors")) for d in (*dirs, mixed.model_dir)
    )
    key = "sexist_head.weight"
    expected = 0.75 * first[key].float() + 0.25 * second[key].float()
    assert torch.allclose(blend[key].float(), expected, atol=2e-3)
    assert read_info(mixed.model_dir).training["soup"]["weights"][str(dirs[0])] == 0.75
    with pytest.raises(ConfigError, match="one non-negative weight per model"):
        make_soup(dirs, edos_csv, tmp_path / "bad", weights=[1])


def test_recipe_paths_are_relative_to_the_recipe(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "recipes" / "corpus").mkdir(parents=True)
    recipe = tmp_path / "recipes" / "r.json"
    recipe.write_text('{"extra_train": ["corpus"], "extra_train_weight": 2}')
    monkeypatch.chdir(tmp_path)
    config = TrainingConfig.from_file(recipe)
    assert config.extra_train == ("recipes/corpus",) and config.extra_train_weight == 2
    with pytest.raises(ConfigError, match="extra_train_weight"):
        TrainingConfig(extra_train_weight=0)


def test_never_train_data_is_refused(tmp_path: Path) -> None:
    from flagger.training.trainer import training_files

    blind = tmp_path / "blind"
    blind.mkdir()
    (blind / "blind.csv").write_text("id,text,label_sexist\nb1,hello,not sexist\n")
    (blind / ".never-train").write_text("")
    for path in (blind, blind / "blind.csv"):
        with pytest.raises(InputFileError, match="never-train"):
            training_files([path])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "b.csv").write_text("id,text,label_sexist\nc2,hi,not sexist\n")
    (corpus / "a.csv").write_text("id,text,label_sexist\nc1,hey,not sexist\n")
    assert [p.name for p in training_files([corpus])] == ["a.csv", "b.csv"]
    with pytest.raises(InputFileError, match="not found"):
        training_files([tmp_path / "missing.csv"])


def test_training_continues_from_a_model_with_extra_rows(
    tmp_path: Path, tiny_model: Path, edos_csv: Path
) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "corpus.csv").write_text(
        "id,text,label_sexist,label_category,label_vector\n"
        "x1,she is weak and useless,sexist,2. derogation,2.1 descriptive attacks\n"
        "x2,the meeting is at six,not sexist,none,none\n"
    )
    config = TrainingConfig(
        init_model=str(tiny_model),
        extra_train=(str(extra),),
        extra_train_weight=3,
        max_length=24,
        window_stride=8,
        max_steps=2,
        batch_size=8,
        num_threads=1,
        average_top_k=1,
    )
    result = train(edos_csv, tmp_path / "continued", config, progress=False)
    info = read_info(result.model_dir)
    assert info.data["extra_train"][0]["rows"] == 2
    assert "continued from" in info.base_model
    before = load_file(str(tiny_model / "model.safetensors"))
    after = load_file(str(result.model_dir / "model.safetensors"))
    assert set(before) == set(after)
    # Continued, not restarted: the heads start from the model's, so they stay close to them.
    head = "sexist_head.weight"
    assert torch.allclose(before[head].float(), after[head].float(), atol=0.05)
    assert not torch.equal(before[head], after[head])
