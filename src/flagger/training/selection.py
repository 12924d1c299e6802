"""Choosing and recording weights on dev: the selection score, checkpoint averaging, and saving
a model directory with the metrics its saved (fp16) weights really reach.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from flagger.calibration import Calibration
from flagger.data import Example
from flagger.evaluate import report_from_probabilities
from flagger.metrics import best_f1_threshold
from flagger.model import Flagger
from flagger.model_dir import ModelInfo, rewrite_info
from flagger.network import MultiTaskClassifier, save_model_dir
from flagger.training.calibrate import calibrate_info
from flagger.training.card import render_card

State = dict[str, torch.Tensor]


def selection_score(report: dict[str, Any]) -> float:
    """Task A dominates model choice; B and C break ties between similar checkpoints."""
    extras = [report.get(k, math.nan) for k in ("task_b_macro_f1", "task_c_macro_f1")]
    return float(report["task_a_macro_f1"] + 0.25 * sum(x for x in extras if not math.isnan(x)))


def average_states(states: Sequence[State], weights: Sequence[float] | None = None) -> State:
    """Element-wise (weighted) mean of weight dictionaries with the same keys (float32)."""
    shares = torch.tensor(weights if weights is not None else [1.0] * len(states))
    shares = shares / shares.sum()
    return {
        k: torch.einsum("n,n...->...", shares, torch.stack([s[k].float() for s in states]))
        for k in states[0]
    }


class DevEvaluator:
    """Scores dev with a model's current weights at the threshold that maximises Task A F1."""

    def __init__(self, flagger: Flagger, dev: list[Example]) -> None:
        self.flagger, self.dev = flagger, dev
        self.texts = [e.text for e in dev]
        self.labelled = [i for i, e in enumerate(dev) if e.sexist is not None]

    def __call__(self) -> dict[str, Any]:
        """Return the EDOS report with ``threshold`` and ``selection`` filled in."""
        self.flagger.network.eval()
        probs = self.flagger.probabilities(self.texts)
        gold = np.array([self.dev[i].sexist for i in self.labelled])
        threshold, _ = best_f1_threshold(probs.sexist[self.labelled], gold)
        report = report_from_probabilities(probs, self.dev, threshold)
        report["selection"] = selection_score(report)
        return report


def save_measured(
    directory: Path,
    network: MultiTaskClassifier,
    tokenizer: PreTrainedTokenizerBase,
    info: ModelInfo,
    evaluator: DevEvaluator,
) -> ModelInfo:
    """Save a model directory, re-load it, and calibrate it on dev with the saved weights.

    Calibration, operating points and the ``dev`` metrics are measured on the fp16 weights as
    stored, so the card never reports what the shipped file does not do.
    """
    info = info.model_copy(update={"calibration": Calibration()})  # raw scores for the re-load
    save_model_dir(directory, network, tokenizer, info, render_card(info))
    saved = Flagger.load(directory, backend="torch", num_threads=evaluator.flagger.num_threads)
    info = calibrate_info(info, saved.probabilities(evaluator.texts), evaluator.dev, strict=False)
    rewrite_info(directory, info, render_card(info))
    return info
