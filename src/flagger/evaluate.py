"""Evaluate a model on labelled examples with EDOS scoring (Tasks A, B and C)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import expit

from flagger.data import Example
from flagger.metrics import binary_report, class_macro_f1, expected_calibration_error
from flagger.model import Flagger, Probabilities


def report_from_probabilities(
    probs: Probabilities, examples: Sequence[Example], threshold: float
) -> dict[str, Any]:
    """EDOS metrics for precomputed probabilities.

    Task A uses every example with a binary label; Tasks B and C use the gold-sexist examples
    that carry a category or vector label, and are left out when there are none.
    """
    report: dict[str, Any] = {"messages": len(examples), "threshold": threshold}
    binary = [i for i, e in enumerate(examples) if e.sexist is not None]
    if binary:
        gold = np.array([examples[i].sexist for i in binary], dtype=int)
        report["sexist"] = int(gold.sum())
        report.update(binary_report(probs.sexist[binary], gold, threshold))
        report["ece_uncalibrated"] = expected_calibration_error(
            expit(probs.sexist_logit[binary]), gold
        )
    for task, field, matrix in (
        ("task_b", "category", probs.category),
        ("task_c", "vector", probs.vector),
    ):
        rows = [
            i for i, e in enumerate(examples) if e.sexist != 0 and getattr(e, field) is not None
        ]
        if rows:
            gold_labels = [getattr(examples[i], field) for i in rows]
            report[f"{task}_macro_f1"] = class_macro_f1(
                gold_labels, matrix[rows].argmax(axis=1).tolist()
            )
    return report


def evaluate(
    flagger: Flagger, examples: Sequence[Example], threshold: str | float | None = None
) -> tuple[dict[str, Any], Probabilities]:
    """Score ``examples`` with ``flagger`` and return the EDOS metrics and the probabilities.

    Args:
        flagger: the model.
        examples: labelled examples (see ``flagger.data.load_examples``).
        threshold: operating point name or number for Task A; the default point when ``None``.
    """
    ref = flagger.resolve_threshold(threshold)
    probs = flagger.probabilities([e.text for e in examples])
    report = report_from_probabilities(probs, examples, ref.value)
    return {"operating_point": ref.name, **report}, probs
