"""Calibrate a retrained model on the organisation's random audit sample, when it is big enough.

Labels the review queue picks sit near the threshold and do not show how common sexism is among
the organisation's messages, so a calibration or a threshold fitted on them would be biased.
The audit picks (``picked: audit``, drawn uniformly at random) are an unbiased sample: with at
least ``MIN_PER_CLASS`` of each class among them (the same floor as any calibration: fewer
messages of a class than that cannot place a threshold or fit a bias), the calibration and the
operating points are fitted on them alone. Audit picks are never trained on, so the fit is out of
sample. The fit is Platt scaling: the organisation's base rate differs from the base data's,
which takes a bias, not only a temperature, and a sample of tens of messages supports two
parameters but not an isotonic curve. Below the floor, the model keeps the calibration fitted on
the base data's dev split, and its card says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flagger.calibration import fit_calibration
from flagger.data import Example
from flagger.metrics import expected_calibration_error
from flagger.model import Flagger
from flagger.model_dir import rewrite_info
from flagger.thresholds import choose_operating_points
from flagger.training.calibrate import MIN_PER_CLASS
from flagger.training.card import render_card

logger = logging.getLogger(__name__)


def class_counts(examples: Sequence[Example]) -> tuple[int, int]:
    """Labelled sexist and not-sexist messages among ``examples``."""
    sexist = sum(e.sexist == 1 for e in examples)
    return sexist, sum(e.sexist == 0 for e in examples)


def can_calibrate(audit: Sequence[Example]) -> bool:
    """Whether the audit picks are enough to calibrate on (and so are kept out of training)."""
    return min(class_counts(audit)) >= MIN_PER_CLASS


def calibrate_on_audit(
    directory: str | Path, audit: Sequence[Example], num_threads: int | None = None
) -> dict[str, Any]:
    """Re-fit the model directory's calibration and operating points on ``audit`` if it can.

    Returns:
        What was done, as recorded in ``flagger.json`` under ``data.calibrated_on``.
    """
    path = Path(directory)
    flagger = Flagger.load(path, backend="torch", num_threads=num_threads)
    labelled = [e for e in audit if e.sexist is not None]
    gold = np.array([e.sexist for e in labelled], dtype=int)
    sexist, not_sexist = class_counts(labelled)
    record: dict[str, Any] = {
        "audit_labels": len(labelled),
        "audit_sexist": sexist,
        "minimum_per_class": MIN_PER_CLASS,
    }
    info = flagger.info
    if not can_calibrate(labelled):
        record["source"] = "base data dev split"
        record["why"] = (
            f"the random audit sample has {sexist} sexist and {not_sexist} not sexist labels; "
            f"at least {MIN_PER_CLASS} of each are needed to calibrate on it"
        )
        logger.warning("kept the base calibration: %s", record["why"])
    else:
        logits = flagger.probabilities([e.text for e in labelled]).sexist_logit
        calibration = fit_calibration(logits, gold, only="platt")
        scores = calibration.probability(logits)
        points = choose_operating_points(scores, gold, on="the audit sample")
        record["source"] = "organisation random audit sample"
        record["ece_before"] = round(
            expected_calibration_error(flagger.info.calibration.probability(logits), gold), 4
        )
        record["ece_in_sample"] = round(expected_calibration_error(scores, gold), 4)
        info = info.model_copy(update={"calibration": calibration, "operating_points": points})
    info = info.model_copy(update={"data": {**info.data, "calibrated_on": record}})
    rewrite_info(path, info, render_card(info))
    return record
