"""Reliability diagrams: predicted probability against observed frequency, before and after
calibration. Needs matplotlib (``pip install 'flagger[plot]'``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.calibration import calibration_curve

from flagger.errors import ConfigError
from flagger.metrics import expected_calibration_error


def reliability_plot(
    path: str | Path,
    labels: np.ndarray,
    calibrated: np.ndarray,
    uncalibrated: np.ndarray | None = None,
    *,
    bins: int = 15,
    title: str = "Reliability",
) -> Path:
    """Draw a reliability diagram with a histogram of scores and save it as PNG.

    Raises:
        ConfigError: if matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError(
            "the reliability plot needs matplotlib: pip install 'flagger[plot]'"
        ) from None
    figure, (curve, histogram) = plt.subplots(
        2, 1, figsize=(5, 6), height_ratios=[3, 1], sharex=True
    )
    curve.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    series = [("calibrated", calibrated)]
    if uncalibrated is not None:
        series.insert(0, ("before calibration", uncalibrated))
    for name, scores in series:
        observed, predicted = calibration_curve(labels, scores, n_bins=bins, strategy="uniform")
        ece = expected_calibration_error(scores, labels, bins)
        curve.plot(predicted, observed, marker="o", label=f"{name} (ECE {ece:.3f})")
        histogram.hist(scores, bins=bins, range=(0, 1), alpha=0.5, label=name)
    curve.set_ylabel("observed frequency of sexist")
    curve.set_title(title)
    curve.legend(loc="upper left")
    histogram.set_xlabel("predicted probability of sexist")
    histogram.set_ylabel("messages")
    histogram.set_yscale("log")
    figure.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png", dpi=120)
    plt.close(figure)
    return out
