"""EDOS scoring and calibration metrics, shared by training, ``flagger evaluate`` and benches.

EDOS (SemEval-2023 Task 10) scores Task A (sexist or not) by macro-F1 over all posts, and Tasks B
(category) and C (vector) by macro-F1 over the posts whose gold label is sexist.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score


def expected_calibration_error(scores: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of binary probabilities over equal-width bins."""
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=float)
    if scores.size == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            error += in_bin.mean() * abs(scores[in_bin].mean() - labels[in_bin].mean())
    return float(error)


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Find the threshold on ``scores`` that maximises binary macro-F1.

    Candidates are midpoints between consecutive distinct scores, so the result does not sit on
    one example's score. Returns ``(threshold, macro_f1)``.
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=int)
    distinct = np.unique(scores)
    if distinct.size < 2:
        return 0.5, task_a_f1(labels, (scores >= 0.5).astype(int))
    candidates = (distinct[:-1] + distinct[1:]) / 2
    if candidates.size > 2000:  # a quantile grid is as good and keeps training fast
        candidates = np.unique(np.quantile(candidates, np.linspace(0, 1, 2000)))
    best = max(candidates, key=lambda t: task_a_f1(labels, (scores >= t).astype(int)))
    return float(best), task_a_f1(labels, (scores >= best).astype(int))


def task_a_f1(gold: Sequence[int] | np.ndarray, predicted: Sequence[int] | np.ndarray) -> float:
    """Macro-F1 over the two classes, sexist and not sexist."""
    return float(f1_score(gold, predicted, average="macro", labels=[0, 1], zero_division=0))


def class_macro_f1(gold: Sequence[int], predicted: Sequence[int]) -> float:
    """Macro-F1 over the classes that occur in ``gold`` (EDOS Task B and C scoring)."""
    if len(gold) == 0:
        return float("nan")
    labels = sorted(set(gold))
    return float(f1_score(gold, predicted, average="macro", labels=labels, zero_division=0))


def binary_report(scores: np.ndarray, gold: np.ndarray, threshold: float) -> dict[str, float]:
    """Task A macro-F1, precision, recall, PR-AUC and ECE for one threshold."""
    predicted = (scores >= threshold).astype(int)
    return {
        "task_a_macro_f1": task_a_f1(gold, predicted),
        "precision": float(precision_score(gold, predicted, zero_division=0)),
        "recall": float(recall_score(gold, predicted, zero_division=0)),
        "pr_auc": float(average_precision_score(gold, scores)) if gold.any() else float("nan"),
        "ece": expected_calibration_error(scores, gold),
    }
