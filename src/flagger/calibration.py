"""Calibrate the sexist score: temperature or Platt scaling, or isotonic regression where it helps.

All are fitted on the dev split's logits at training time (or by ``flagger calibrate``) and stored
in ``flagger.json``. Temperature scaling (one scale) and Platt scaling (a scale and a bias) keep
the order of scores; isotonic regression can fit any monotone shape but ties scores on its flat
steps (a sliver of the logit is mixed in, so scores stay in order and PR-AUC is unchanged).
Methods are compared out of fold (cross-validated on dev), because in-sample the more
flexible one always looks better than it is: Platt replaces temperature, and isotonic replaces
either, only when it measurably helps.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold

from flagger.metrics import expected_calibration_error

logger = logging.getLogger(__name__)

# A more flexible method must beat the simpler one out of fold by this much ECE (and no worse
# Brier score) to be used.
MARGIN = 0.005
METHODS = ("temperature", "platt", "isotonic")
_TIE_BREAK = 1e-3


class Calibration(BaseModel):
    """A monotone map from the sexist head's logit to a calibrated probability."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["identity", "temperature", "platt", "isotonic"] = "identity"
    temperature: float = Field(default=1.0, gt=0.0)
    bias: float = 0.0
    isotonic_logits: list[float] = Field(default_factory=list)
    isotonic_probabilities: list[float] = Field(default_factory=list)
    report: dict[str, Any] = Field(
        default_factory=dict, description="how it was chosen: out-of-fold ECE and Brier per method"
    )

    def probability(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for raw logits."""
        logits = np.asarray(logits, dtype=np.float64)
        if self.method == "isotonic":
            steps = np.interp(logits, self.isotonic_logits, self.isotonic_probabilities)
            # A sliver of the logit keeps scores in order on the flat steps (no ties).
            return np.asarray((1 - _TIE_BREAK) * steps + _TIE_BREAK * expit(logits))
        return np.asarray(expit(logits / self.temperature + self.bias))


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


def fit_platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Temperature and bias of ``sigmoid(logit / T + b)`` that minimise the NLL of ``labels``."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)

    def nll(params: np.ndarray) -> float:
        z = logits / np.exp(params[0]) + params[1]
        return float(np.mean(np.logaddexp(0.0, z) - labels * z))

    found = minimize(nll, x0=np.zeros(2), method="L-BFGS-B", bounds=[(-3.0, 3.0), (-10.0, 10.0)])
    return float(np.exp(found.x[0])), float(found.x[1])


def _fit(method: str, logits: np.ndarray, labels: np.ndarray) -> Calibration:
    if method == "temperature":
        return Calibration(method="temperature", temperature=fit_temperature(logits, labels))
    if method == "platt":
        temperature, bias = fit_platt(logits, labels)
        return Calibration(method="platt", temperature=temperature, bias=bias)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(logits, labels)
    return Calibration(
        method="isotonic",
        isotonic_logits=[float(x) for x in iso.X_thresholds_],
        isotonic_probabilities=[float(y) for y in iso.y_thresholds_],
    )


def _better(report: dict[str, Any], flexible: str, simple: str) -> bool:
    """Does ``flexible`` beat ``simple`` out of fold by enough, without losing elsewhere?"""
    return bool(
        report[f"ece_{flexible}_out_of_fold"] <= report[f"ece_{simple}_out_of_fold"] - MARGIN
        and report[f"brier_{flexible}_out_of_fold"] <= report[f"brier_{simple}_out_of_fold"]
    )


def fit_calibration(
    logits: np.ndarray,
    labels: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    only: str | None = None,
) -> Calibration:
    """Fit each method, compare them out of fold, and keep the simplest that is not beaten.

    Args:
        logits: raw sexist-head logits of the dev messages.
        labels: their gold labels (0/1).
        folds: cross-validation folds used to compare the methods honestly.
        seed: shuffles the folds.
        only: use this method whatever the comparison says (the comparison is still reported).

    Returns:
        The chosen calibration, refitted on all of ``logits``, with the comparison in ``report``.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    out_of_fold = {m: np.zeros_like(logits) for m in METHODS}
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
    method = "platt" if _better(report, "platt", "temperature") else "temperature"
    if _better(report, "isotonic", method):
        method = "isotonic"
    chosen = _fit(only or method, logits, labels)
    report["ece_calibrated_in_sample"] = round(
        expected_calibration_error(chosen.probability(logits), labels), 4
    )
    logger.info("calibration: %s (%s)", chosen.method, report)
    return chosen.model_copy(update={"report": report})
