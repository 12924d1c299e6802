"""Calibration: temperature scaling, the isotonic choice, and how it is stored."""

import numpy as np
import pytest
from scipy.special import expit

from flagger.calibration import Calibration, fit_calibration, fit_temperature
from flagger.metrics import expected_calibration_error


def _overconfident(n: int = 4000, temperature: float = 2.5, seed: int = 0) -> tuple:
    """Labels drawn from sigmoid(z), logits reported as z * temperature (overconfident)."""
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(0.0, 2.0, n)
    labels = (rng.random(n) < expit(true_logits)).astype(int)
    return true_logits * temperature, labels


def test_temperature_is_recovered() -> None:
    logits, labels = _overconfident(temperature=2.5)
    assert fit_temperature(logits, labels) == pytest.approx(2.5, rel=0.15)


def test_calibration_lowers_ece_and_keeps_order() -> None:
    logits, labels = _overconfident()
    calibration = fit_calibration(logits, labels)
    before = expected_calibration_error(expit(logits), labels)
    after = expected_calibration_error(calibration.probability(logits), labels)
    assert calibration.method == "temperature"  # the true miscalibration is a temperature
    assert after < before / 2
    probs = calibration.probability(np.sort(logits))
    assert np.all(np.diff(probs) >= 0)  # monotone: ranking and PR-AUC are unchanged
    assert calibration.report["ece_uncalibrated"] == pytest.approx(before, abs=1e-3)


def test_isotonic_is_chosen_when_it_really_helps() -> None:
    # Probability is a staircase in the logit: no sigmoid fits it, isotonic regression can.
    rng = np.random.default_rng(1)
    logits = rng.normal(0.0, 3.0, 4000)
    steps = np.where(logits < 0, 0.05, np.where(logits < 3, 0.5, 0.95))
    labels = (rng.random(4000) < steps).astype(int)
    calibration = fit_calibration(logits, labels)
    assert calibration.method == "isotonic"
    assert (
        calibration.report["ece_isotonic_out_of_fold"] < calibration.report["ece_platt_out_of_fold"]
    )
    ordered = calibration.probability(np.sort(logits))
    assert np.all(np.diff(ordered) > 0)  # no ties: ranking and PR-AUC are kept


def test_platt_fixes_a_bias_that_temperature_cannot() -> None:
    rng = np.random.default_rng(2)
    logits = rng.normal(0.0, 2.0, 4000)
    labels = (rng.random(4000) < expit(logits / 2 + 1.5)).astype(int)
    calibration = fit_calibration(logits, labels)
    assert calibration.method == "platt"
    assert calibration.temperature == pytest.approx(2.0, rel=0.2)
    assert calibration.bias == pytest.approx(1.5, abs=0.3)


def test_round_trip_through_json() -> None:
    logits, labels = _overconfident(n=500)
    calibration = fit_calibration(logits, labels)
    again = Calibration.model_validate_json(calibration.model_dump_json())
    assert np.allclose(again.probability(logits), calibration.probability(logits))


def test_identity_is_the_sigmoid() -> None:
    assert np.allclose(Calibration().probability(np.array([-2.0, 0.0, 3.0])), expit([-2, 0, 3]))
