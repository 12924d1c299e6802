"""Named operating points: thresholds on the calibrated score, chosen on dev with their measured
precision and recall, so every flag can be traced to the rule that raised it.

- ``default``: the best Task A macro-F1 on dev (used when no threshold is named);
- ``review``: high recall for triage queues (the highest threshold with recall >= 0.90);
- ``alert``: high precision (the lowest threshold with precision >= 0.85).
"""

from __future__ import annotations

import logging
import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from flagger.errors import ConfigError
from flagger.metrics import best_f1_threshold, confusion_at, task_a_f1
from flagger.results import ThresholdRef

logger = logging.getLogger(__name__)

DEFAULT = "default"
REVIEW_RECALL = 0.90
ALERT_PRECISION = 0.85
# A precision measured on fewer flagged messages than this is too noisy to promise.
MIN_FLAGGED = 20


class OperatingPoint(BaseModel):
    """A named threshold and what it did on the data it was chosen on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float = Field(ge=0.0, le=1.0)
    description: str = ""
    precision: float | None = None
    recall: float | None = None
    macro_f1: float | None = None
    flag_rate: float | None = None


def measure(
    scores: np.ndarray, labels: np.ndarray, value: float, description: str = ""
) -> OperatingPoint:
    """The operating point at ``value`` with its precision, recall, macro-F1 and flag rate."""
    predicted = scores >= value
    flagged = int(predicted.sum())
    positives = int(labels.sum())
    hits = int((predicted & (labels == 1)).sum())
    return OperatingPoint(
        value=round(float(value), 6),
        description=description,
        precision=round(hits / flagged, 4) if flagged else None,
        recall=round(hits / positives, 4) if positives else None,
        macro_f1=round(task_a_f1(labels, predicted.astype(int)), 4),
        flag_rate=round(flagged / labels.size, 4) if labels.size else None,
    )


def _cuts(scores: np.ndarray) -> np.ndarray:
    """Candidate thresholds: midpoints between consecutive distinct scores, plus the extremes."""
    distinct = np.unique(scores)
    return np.concatenate([[0.0], (distinct[:-1] + distinct[1:]) / 2, [1.0]])


def choose_operating_points(
    scores: np.ndarray,
    labels: np.ndarray,
    *,
    review_recall: float = REVIEW_RECALL,
    alert_precision: float = ALERT_PRECISION,
    on: str = "dev",
) -> dict[str, OperatingPoint]:
    """Choose ``default``, ``review`` and ``alert`` on calibrated scores (of dev, or ``on``).

    ``alert`` is left out (with a warning) when no threshold reaches ``alert_precision`` on at
    least ``MIN_FLAGGED`` flagged messages.
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=int)
    default, _ = best_f1_threshold(scores, labels)
    points = {DEFAULT: measure(scores, labels, default, f"best Task A macro-F1 on {on}")}
    cuts = _cuts(scores)
    hits, false_alarms, _, _ = confusion_at(scores, labels, cuts)
    flagged = hits + false_alarms
    recall = hits / max(int(labels.sum()), 1)
    precision = np.divide(hits, flagged, out=np.zeros(len(cuts)), where=flagged > 0)
    reaching_recall = cuts[recall >= review_recall]
    if reaching_recall.size:
        points["review"] = measure(
            scores, labels, reaching_recall.max(), f"recall >= {review_recall:.2f} on {on}"
        )
    precise = cuts[(precision >= alert_precision) & (flagged >= MIN_FLAGGED)]
    if precise.size:
        points["alert"] = measure(
            scores, labels, precise.min(), f"precision >= {alert_precision:.2f} on {on}"
        )
    else:
        logger.warning(
            "no threshold reaches precision %.2f on %d+ messages; no 'alert' point",
            alert_precision,
            MIN_FLAGGED,
        )
    return points


def resolve_threshold(
    points: dict[str, OperatingPoint], threshold: str | float | None
) -> ThresholdRef:
    """Turn a threshold given by name, number or not at all into a ``ThresholdRef``.

    Raises:
        ConfigError: for an unknown name or a number outside [0, 1].
    """
    if threshold is None:
        return ThresholdRef(name=DEFAULT, value=points[DEFAULT].value)
    if isinstance(threshold, str):
        if threshold in points:
            return ThresholdRef(name=threshold, value=points[threshold].value)
        try:
            threshold = float(threshold)
        except ValueError:
            raise ConfigError(
                f"unknown threshold {threshold!r}: give a number in [0, 1] or one of "
                f"{', '.join(sorted(points))}"
            ) from None
    value = float(threshold)
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        raise ConfigError(f"threshold must be between 0 and 1, found {threshold}")
    return ThresholdRef(name="custom", value=value)
