"""Loading model directories and scoring messages."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from flagger import Flagger, ScoreResult
from flagger.errors import ConfigError, ModelDirectoryError
from flagger.labels import CATEGORIES, VECTORS


@pytest.fixture(scope="module")
def flagger(tiny_model: Path) -> Flagger:
    return Flagger.load(tiny_model, num_threads=1)


def test_score_returns_one_result_per_text(flagger: Flagger) -> None:
    results = flagger.score(["women are stupid", "the team meets at six", "thanks"])
    assert len(results) == 3 and all(isinstance(r, ScoreResult) for r in results)
    for result in results:
        assert 0.0 <= result.score <= 1.0
        assert result.flagged == (result.score >= flagger.info.threshold)
        assert set(result.categories) == set(CATEGORIES) and set(result.vectors) == set(VECTORS)
        assert abs(sum(result.categories.values()) - 1) < 1e-3
        assert (result.category is None) == (not result.flagged)


def test_threshold_controls_flagging(flagger: Flagger) -> None:
    assert all(
        r.flagged and r.category in CATEGORIES for r in flagger.score(["a", "b"], threshold=0.0)
    )
    assert not any(r.flagged for r in flagger.score(["a", "b"], threshold=1.0))
    with pytest.raises(ConfigError):
        flagger.score(["a"], threshold=1.5)


def test_scores_do_not_depend_on_batch_company(flagger: Flagger) -> None:
    alone = flagger.score(["women are weak"])[0].score
    together = flagger.score(["the team meets at six tomorrow " * 3, "women are weak", "x"])[
        1
    ].score
    assert alone == pytest.approx(together, abs=1e-5)


def test_prepared_requests_joined_score_as_the_texts_do(flagger: Flagger) -> None:
    from flagger.model import Prepared

    first, second = ["women are weak", "w0m3n are w e a k"], ["the team meets at six " * 9]
    joined = Prepared.join([flagger.prepare(first), flagger.prepare(second)])
    assert joined.texts == first + second
    assert sorted({w.text_index for w in joined.windows}) == [0, 1, 2]
    direct = flagger.score(first + second, explain=False)
    assert [r.score for r in flagger.score(joined, explain=False)] == pytest.approx(
        [r.score for r in direct], abs=1e-6
    )


def test_another_models_preparation_is_redone(flagger: Flagger, tiny_model: Path) -> None:
    from flagger.model import Prepared

    other = Flagger.load(tiny_model, num_threads=1)  # the same files, another model object
    prepared = other.prepare(["women are weak"])
    assert flagger.score(prepared)[0].score == pytest.approx(
        flagger.score(["women are weak"])[0].score, abs=1e-6
    )
    with pytest.raises(ConfigError, match="same model"):
        Prepared.join([prepared, flagger.prepare(["hi"])])
    with pytest.raises(ConfigError):
        Prepared.join([])


def test_long_text_takes_its_most_severe_window(flagger: Flagger) -> None:
    # max_length 24 -> 22 body tokens; this text is far longer and must be windowed, not cut.
    neutral = "the team meets at six tomorrow thanks for the report " * 4
    severe = "women are stupid useless bitches"
    long_text = neutral + severe
    result = flagger.score([long_text])[0]
    assert result.windows > 1
    windows = flagger.tokenizer.encode(long_text, add_special_tokens=False).ids
    assert len(windows) > flagger.info.max_length
    # The message's score is the maximum over its windows, scored one by one.
    from flagger.encoding import encode_windows

    pieces = encode_windows(
        flagger.tokenizer, [long_text], flagger.info.max_length, flagger.info.window_stride
    )
    per_window = [
        flagger.score([flagger.tokenizer.decode(w.input_ids[1:-1], skip_special_tokens=False)])[
            0
        ].score
        for w in pieces
    ]
    assert result.score == pytest.approx(max(per_window), abs=1e-4)


def test_empty_input(flagger: Flagger) -> None:
    assert flagger.score([]) == []
    assert len(flagger.score("a single string")) == 1


def test_probabilities_shapes(flagger: Flagger) -> None:
    probs = flagger.probabilities(["a", "b " * 80])
    assert probs.sexist.shape == (2,) and probs.category.shape == (2, 4)
    assert probs.vector.shape == (2, 11) and probs.windows.tolist()[0] == 1
    assert np.all(probs.windows >= 1)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelDirectoryError, match="does not exist"):
        Flagger.load(tmp_path / "nope")


def test_incomplete_directory(tmp_path: Path, tiny_model: Path) -> None:
    copy = shutil.copytree(tiny_model, tmp_path / "copy")
    (copy / "flagger.json").unlink()
    with pytest.raises(ModelDirectoryError, match=r"missing flagger\.json"):
        Flagger.load(copy)


def test_tampered_weights_are_refused(tmp_path: Path, tiny_model: Path) -> None:
    copy = shutil.copytree(tiny_model, tmp_path / "copy")
    with (copy / "model.safetensors").open("r+b") as handle:
        handle.seek(-8, 2)
        handle.write(b"\x00" * 8)
    with pytest.raises(ModelDirectoryError, match="does not match its sha256"):
        Flagger.load(copy)


def test_incompatible_labels_are_refused(tmp_path: Path, tiny_model: Path) -> None:
    from flagger.model_dir import write_manifest

    copy = shutil.copytree(tiny_model, tmp_path / "copy")
    info = json.loads((copy / "flagger.json").read_text())
    info["categories"] = info["categories"][:3]
    (copy / "flagger.json").write_text(json.dumps(info))
    write_manifest(copy)
    with pytest.raises(ModelDirectoryError, match="label set"):
        Flagger.load(copy)


def test_shipped_model_location_can_be_overridden(
    monkeypatch: pytest.MonkeyPatch, tiny_model: Path
) -> None:
    monkeypatch.setenv("FLAGGER_MODEL", str(tiny_model))
    assert Flagger.load(num_threads=1).info.name == "tiny"


def test_obfuscated_text_is_scored_as_written_plainly(flagger: Flagger) -> None:
    plain, disguised = flagger.score(["women are stupid", "w0m3n are s t u p i d"], explain=False)
    assert disguised.score == pytest.approx(plain.score, abs=1e-5)
