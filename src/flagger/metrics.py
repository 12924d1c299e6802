"""EDOS scoring and calibration metrics, shared by training, ``flagger evaluate`` and benches.

EDOS (SemEval-2023 Task 10) scores Task A (sexist or not) by macro-F1 over all posts, and Tasks B
(category) and C (vector) by macro-F1 over the posts whose gold label is sexist.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def confusion_at(
    scores: np.ndarray, labels: np.ndarray, cuts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """True/false positives and negatives when flagging ``scores >= cut``, for every cut at once."""
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=int)
    positives = np.sort(scores[labels == 1])
    negatives = np.sort(scores[labels == 0])
    tp = positives.size - np.searchsorted(positives, cuts, side="left")
    fp = negatives.size - np.searchsorted(negatives, cuts, side="left")
    return tp, fp, positives.size - tp, negatives.size - fp


def macro_f1_at(scores: np.ndarray, labels: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Binary macro-F1 (Task A) for every cut, as ``task_a_f1`` computes it for one."""
    tp, fp, fn, tn = (x.astype(float) for x in confusion_at(scores, labels, cuts))
    f1_pos = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=2 * tp + fp + fn > 0)
    f1_neg = np.divide(2 * tn, 2 * tn + fn + fp, out=np.zeros_like(tn), where=2 * tn + fn + fp > 0)
    return np.asarray((f1_pos + f1_neg) / 2)


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
    best = int(np.argmax(macro_f1_at(scores, labels, candidates)))
    return float(candidates[best]), task_a_f1(labels, (scores >= candidates[best]).astype(int))


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


def rounded(report: dict[str, Any]) -> dict[str, Any]:
    """Round the float metrics of a report to 4 places for storage."""
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in report.items()}
