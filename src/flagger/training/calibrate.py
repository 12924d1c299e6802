"""Calibrate a model on dev and choose its operating points; at training time or afterwards.

``flagger calibrate DIR --data FILE`` re-fits an existing model directory without touching its
weights: the calibration, the ``default``/``review``/``alert`` thresholds and the dev metrics in
``flagger.json`` are replaced, and the model card and manifest are rewritten.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flagger.behaviour import load_suite, suite_report
from flagger.calibration import Calibration, fit_calibration
from flagger.data import Example, load_examples, select_split
from flagger.errors import InputFileError
from flagger.evaluate import report_from_probabilities
from flagger.metrics import best_f1_threshold, rounded
from flagger.model import Flagger, Probabilities
from flagger.model_dir import ModelInfo, rewrite_info, sha256_file
from flagger.thresholds import DEFAULT, choose_operating_points, measure
from flagger.training.card import render_card

logger = logging.getLogger(__name__)

# Fewer labelled messages of a class than this cannot support a calibration or a precision promise.
MIN_PER_CLASS = 10


def calibrate_info(
    info: ModelInfo, probs: Probabilities, examples: Sequence[Example], *, strict: bool = True
) -> ModelInfo:
    """Fit the calibration and operating points on ``examples`` and record their dev metrics.

    Args:
        info: the model description to update.
        probs: the model's outputs on ``examples``.
        examples: labelled messages (dev).
        strict: raise when there are too few labels; otherwise keep the scores uncalibrated,
            choose only the ``default`` point, and log a warning (tiny training runs).

    Raises:
        InputFileError: when ``strict`` and too few examples of each class carry a label.
    """
    labelled = [i for i, e in enumerate(examples) if e.sexist is not None]
    gold = np.array([examples[i].sexist for i in labelled], dtype=int)
    sexist, not_sexist = int(gold.sum()), int(gold.size - gold.sum())
    enough = min(sexist, not_sexist) >= MIN_PER_CLASS
    if not enough:
        problem = (
            f"calibration needs at least {MIN_PER_CLASS} labelled messages of each class, "
            f"found {sexist} sexist and {not_sexist} not sexist"
        )
        if strict:
            raise InputFileError(problem)
        logger.warning("%s; scores stay uncalibrated", problem)
    calibration = fit_calibration(probs.sexist_logit[labelled], gold) if enough else Calibration()
    calibrated = dataclasses.replace(probs, sexist=calibration.probability(probs.sexist_logit))
    scores = calibrated.sexist[labelled]
    if enough:
        points = choose_operating_points(scores, gold)
    else:
        cut = best_f1_threshold(scores, gold)[0] if gold.size else 0.5
        points = {DEFAULT: measure(scores, gold, cut, "best Task A macro-F1 on dev")}
    report = report_from_probabilities(calibrated, examples, points[DEFAULT].value)
    dev = rounded(report)
    return info.model_copy(
        update={
            "calibration": calibration,
            "operating_points": points,
            "metrics": {**info.metrics, "dev": dev},
        }
    )


def calibrate_model_dir(
    directory: str | Path,
    data: str | Path,
    *,
    split: str | None = "dev",
    text_field: str = "text",
    num_threads: int | None = None,
    suite: str | Path | None = None,
    baseline: str | Path | None = None,
    steps: str | Path | None = None,
) -> ModelInfo:
    """Re-fit calibration and operating points of a model directory on a labelled split.

    With ``suite``, the behavioural suite is also run at the new default operating point and its
    pass rates and fairness figures are recorded in ``flagger.json`` and the model card. With
    ``baseline``, the model this one replaces is measured the same way (dev and suite, at its own
    default operating point) and the card shows both, before and after. ``steps`` is a JSON list
    of the measured steps that led to this model (``step``, ``dev_task_a``, ``suite``, ``weakest``,
    ``women_fpr``), recorded in ``flagger.json`` and shown in the card.

    Raises:
        ModelDirectoryError: the directory is not a valid (untampered) model.
        InputFileError: unreadable data, or too few labelled messages.
    """
    flagger = Flagger.load(directory, backend="torch", num_threads=num_threads)
    examples = select_split(load_examples(data, text_field=text_field), split)
    probs = flagger.probabilities([e.text for e in examples])
    info = calibrate_info(flagger.info, probs, examples)
    info = info.model_copy(
        update={
            "data": {
                **info.data,
                "calibrated_on": {
                    "file": Path(data).name,
                    "sha256": sha256_file(Path(data)),
                    "split": split,
                    "rows": len(examples),
                },
            }
        }
    )
    metrics = dict(info.metrics)
    if suite is not None:
        recalibrated = flagger.with_info(info)
        metrics["suite"] = suite_metrics(recalibrated, suite)
    if baseline is not None:
        before = Flagger.load(baseline, backend="torch", num_threads=num_threads)
        report = report_from_probabilities(
            before.probabilities([e.text for e in examples]), examples, before.info.threshold
        )
        metrics["baseline"] = {
            "model": before.version,
            "dev": rounded(report),
            **({"suite": suite_metrics(before, suite)} if suite is not None else {}),
        }
    training = dict(info.training)
    if steps is not None:
        training["improvement_steps"] = _read_steps(Path(steps))
    info = info.model_copy(update={"metrics": metrics, "training": training})
    rewrite_info(Path(directory), info, render_card(info))
    return info


def _read_steps(path: Path) -> list[dict[str, Any]]:
    try:
        steps = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"{path}: not a readable JSON list of steps ({exc})") from None
    if not isinstance(steps, list) or not all(isinstance(s, dict) and "step" in s for s in steps):
        raise InputFileError(f"{path}: expected a JSON list of objects, each with a 'step'")
    return steps


def suite_metrics(flagger: Flagger, suite: str | Path) -> dict[str, Any]:
    """The behavioural suite's pass rates and fairness figures at the model's default point."""
    cases = load_suite(suite)
    report = suite_report(
        cases, flagger.sexist_scores([c.text for c in cases]), flagger.info.threshold
    )
    return {"path": str(suite), **{k: v for k, v in report.items() if k != "failures"}}
