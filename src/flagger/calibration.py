"""Calibrate the sexist score: temperature scaling, or isotonic regression where it helps.

Both are fitted on the dev split's logits at training time (or by ``flagger calibrate``) and
stored in ``flagger.json``. Isotonic regression is chosen only when it beats temperature scaling
out of fold (cross-validated on dev), because in-sample it always looks better than it is.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import minimize_scalar
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold

from flagger.metrics import expected_calibration_error

logger = logging.getLogger(__name__)

# Isotonic must beat temperature scaling out of fold by this much ECE to be worth its steps.
ISOTONIC_MARGIN = 0.005


class Calibration(BaseModel):
    """A monotone map from the sexist head's logit to a calibrated probability."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["identity", "temperature", "isotonic"] = "identity"
    temperature: float = Field(default=1.0, gt=0.0)
    isotonic_logits: list[float] = Field(default_factory=list)
    isotonic_probabilities: list[float] = Field(default_factory=list)
    report: dict[str, Any] = Field(
        default_factory=dict, description="how it was chosen: out-of-fold ECE and Brier per method"
    )

    def probability(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for raw logits."""
        logits = np.asarray(logits, dtype=np.float64)
        if self.method == "isotonic":
            return np.asarray(np.interp(logits, self.isotonic_logits, self.isotonic_probabilities))
        return np.asarray(expit(logits / self.temperature))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels``."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        # log(1 + e^z) - y z, computed stably
        return float(np.mean(np.logaddexp(0.0, z) - labels * z))

    found = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(found.x))


def _fit(method: str, logits: np.ndarray, labels: np.ndarray) -> Calibration:
    if method == "temperature":
        return Calibration(method="temperature", temperature=fit_temperature(logits, labels))
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(logits, labels)
    return Calibration(
        method="isotonic",
        isotonic_logits=[float(x) for x in iso.X_thresholds_],
        isotonic_probabilities=[float(y) for y in iso.y_thresholds_],
    )


def fit_calibration(
    logits: np.ndarray, labels: np.ndarray, *, folds: int = 5, seed: int = 0
) -> Calibration:
    """Fit temperature scaling and isotonic regression; keep isotonic only if it helps out of fold.

    Args:
        logits: raw sexist-head logits of the dev messages.
        labels: their gold labels (0/1).
        folds: cross-validation folds used to compare the methods honestly.
        seed: shuffles the folds.

    Returns:
        The chosen calibration, refitted on all of ``logits``, with the comparison in ``report``.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    out_of_fold = {m: np.zeros_like(logits) for m in ("temperature", "isotonic")}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, held_rows in splitter.split(logits, labels):
        for method, predictions in out_of_fold.items():
            fitted = _fit(method, logits[fit_rows], labels[fit_rows])
            predictions[held_rows] = fitted.probability(logits[held_rows])
    uncalibrated = expit(logits)
    report: dict[str, Any] = {
        "messages": int(labels.size),
        "folds": folds,
        "ece_uncalibrated": round(expected_calibration_error(uncalibrated, labels), 4),
        "brier_uncalibrated": round(float(brier_score_loss(labels, uncalibrated)), 4),
    }
    for method, predictions in out_of_fold.items():
        report[f"ece_{method}_out_of_fold"] = round(
            expected_calibration_error(predictions, labels), 4
        )
        report[f"brier_{method}_out_of_fold"] = round(
            float(brier_score_loss(labels, predictions)), 4
        )
    isotonic_wins = (
        report["ece_isotonic_out_of_fold"]
        <= report["ece_temperature_out_of_fold"] - ISOTONIC_MARGIN
        and report["brier_isotonic_out_of_fold"] <= report["brier_temperature_out_of_fold"]
    )
    chosen = _fit("isotonic" if isotonic_wins else "temperature", logits, labels)
    report["ece_calibrated_in_sample"] = round(
        expected_calibration_error(chosen.probability(logits), labels), 4
    )
    logger.info("calibration: %s (%s)", chosen.method, report)
    return chosen.model_copy(update={"report": report})
