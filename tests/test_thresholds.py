"""Operating points: chosen on scores with labels, and resolved by name or number."""

import numpy as np
import pytest

from flagger.errors import ConfigError
from flagger.metrics import best_f1_threshold
from flagger.thresholds import choose_operating_points, measure, resolve_threshold


def _scores(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.25).astype(int)
    scores = np.clip(rng.normal(0.3 + 0.25 * labels, 0.12), 0, 1)
    return scores, labels


def test_points_meet_their_rules() -> None:
    scores, labels = _scores()
    points = choose_operating_points(scores, labels)
    assert set(points) == {"default", "review", "alert"}
    assert points["review"].recall is not None and points["review"].recall >= 0.90
    assert points["alert"].precision is not None and points["alert"].precision >= 0.85
    assert points["review"].value < points["default"].value < points["alert"].value
    assert points["default"].macro_f1 == pytest.approx(best_f1_threshold(scores, labels)[1], 1e-3)
    # Each stored figure is what the threshold really does.
    again = measure(scores, labels, points["alert"].value)
    assert again.precision == points["alert"].precision and again.recall == points["alert"].recall


def test_review_is_the_most_precise_point_with_enough_recall() -> None:
    scores, labels = _scores(seed=3)
    review = choose_operating_points(scores, labels)["review"].value
    above = np.unique(scores[scores > review])
    next_cut = above[0] + 1e-9 if above.size else 1.0
    assert measure(scores, labels, next_cut).recall < 0.90  # any higher cut loses the recall


def test_alert_is_left_out_when_no_threshold_is_precise_enough() -> None:
    rng = np.random.default_rng(0)
    labels = (rng.random(500) < 0.5).astype(int)
    noise = rng.random(500)  # scores unrelated to labels: precision stays near 0.5
    assert "alert" not in choose_operating_points(noise, labels)


def test_resolve_by_name_number_or_default() -> None:
    points = choose_operating_points(*_scores())
    assert resolve_threshold(points, None).name == "default"
    assert resolve_threshold(points, "alert").value == points["alert"].value
    custom = resolve_threshold(points, "0.4")
    assert (custom.name, custom.value) == ("custom", 0.4)
    assert resolve_threshold(points, 0.7).value == 0.7
    with pytest.raises(ConfigError, match=r"unknown threshold 'strict'.*alert, default, review"):
        resolve_threshold(points, "strict")
    with pytest.raises(ConfigError, match="between 0 and 1"):
        resolve_threshold(points, 1.5)


def test_vectorised_macro_f1_matches_sklearn() -> None:
    from flagger.metrics import macro_f1_at, task_a_f1

    scores, labels = _scores(n=300, seed=5)
    cuts = np.array([0.0, 0.2, 0.45, 0.5, 0.9, 1.01])
    expected = [task_a_f1(labels, (scores >= c).astype(int)) for c in cuts]
    assert np.allclose(macro_f1_at(scores, labels, cuts), expected)
