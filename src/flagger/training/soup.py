"""Greedy model soups: average the weights of models fine-tuned from the same base.

Runs that start from the same pretrained encoder stay in one basin of the loss, so their
weights can be averaged into one model that often scores better than each of them, at the
inference cost of one model. Ingredients are added best first, and only while dev improves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer

from flagger.data import Example, load_examples, train_dev_split
from flagger.errors import ConfigError
from flagger.metrics import rounded
from flagger.model import Flagger
from flagger.model_dir import sha256_file
from flagger.thresholds import DEFAULT, OperatingPoint
from flagger.training.selection import (
    DevEvaluator,
    State,
    average_states,
    save_measured,
)
from flagger.training.trainer import TrainingResult

logger = logging.getLogger(__name__)


def make_soup(
    model_dirs: Sequence[str | Path],
    data: str | Path,
    out_dir: str | Path,
    *,
    text_field: str = "text",
    version: str | None = None,
    num_threads: int | None = None,
    weights: Sequence[float] | None = None,
) -> TrainingResult:
    """Average model directories greedily on dev and write the result as a new model directory.

    With ``weights``, every model is kept and averaged with those weights instead (e.g. 0.7/0.3
    to interpolate a model trained on augmentations back towards the one it improves on).

    Args:
        model_dirs: models fine-tuned from the same base with the same tokenizer and heads.
        data: the labelled file whose dev split chooses the ingredients and the threshold.
        out_dir: the model directory to write.
        text_field: the text column of ``data``.
        version: version of the soup (default: the best ingredient's).
        num_threads: CPU threads.
        weights: one non-negative weight per model, in the order given; greedy when ``None``.

    Raises:
        ConfigError: fewer than two models, models that cannot be averaged, or bad weights.
    """
    if len(model_dirs) < 2:
        raise ConfigError(f"a soup needs at least two models, found {len(model_dirs)}")
    if weights is not None and (
        len(weights) != len(model_dirs) or min(weights) < 0 or sum(weights) <= 0
    ):
        raise ConfigError(
            f"need one non-negative weight per model ({len(model_dirs)}) with a positive sum, "
            f"found {list(weights)}"
        )
    started = time.monotonic()
    models = [Flagger.load(d, backend="torch", num_threads=num_threads) for d in model_dirs]
    first = models[0]
    for other in models[1:]:
        if (
            sha256_file(Path(str(other.path)) / "tokenizer.json")
            != sha256_file(Path(str(first.path)) / "tokenizer.json")
            or first.network.state_dict().keys() != other.network.state_dict().keys()
        ):
            raise ConfigError(
                f"{other.path} cannot be averaged with {first.path}: "
                "different tokenizer or architecture"
            )
    examples = load_examples(data, text_field=text_field)
    _, dev = train_dev_split(examples, float(first.info.training.get("dev_fraction", 0.1)))

    if weights is not None:
        return _weighted(models, weights, dev, Path(out_dir), version, started)
    scored = []
    for model in models:
        report = DevEvaluator(model, dev)()
        logger.info("ingredient %s: dev selection %.4f", model.path, report["selection"])
        scored.append((report["selection"], model))
    scored.sort(key=lambda item: -item[0])
    best_model = scored[0][1]
    evaluator = DevEvaluator(best_model, dev)
    # Clones: loading an average into the network writes into its live state tensors.
    states = [_cloned(best_model.network.state_dict())]
    final = evaluator()
    kept = [str(best_model.path)]
    for _, model in scored[1:]:
        trial = [*states, _cloned(model.network.state_dict())]
        best_model.network.load_state_dict(average_states(trial))
        report = evaluator()
        logger.info("adding %s: dev selection %.4f", model.path, report["selection"])
        if report["selection"] > final["selection"]:
            states, final = trial, report
            kept.append(str(model.path))
        else:
            best_model.network.load_state_dict(average_states(states))
    logger.info("soup of %d models: dev selection %.4f", len(kept), final["selection"])
    return _save(
        best_model,
        evaluator,
        final,
        Path(out_dir),
        version,
        f"greedy soup of {len(kept)} of {len(models)} models",
        {
            "kept": kept,
            "tried": [str(m.path) for _, m in scored],
            "scores": {str(m.path): round(score, 4) for score, m in scored},
        },
        started,
    )


def _weighted(
    models: Sequence[Flagger],
    weights: Sequence[float],
    dev: list[Example],
    directory: Path,
    version: str | None,
    started: float,
) -> TrainingResult:
    first = models[0]
    states = [_cloned(m.network.state_dict()) for m in models]
    first.network.load_state_dict(average_states(states, weights))
    evaluator = DevEvaluator(first, dev)
    shares = [w / sum(weights) for w in weights]
    recipe = ", ".join(f"{share:.2f} x {m.path}" for share, m in zip(shares, models, strict=True))
    return _save(
        first,
        evaluator,
        evaluator(),
        directory,
        version,
        f"weighted average: {recipe}",
        {"weights": {str(m.path): share for share, m in zip(shares, models, strict=True)}},
        started,
    )


def _save(
    model: Flagger,
    evaluator: DevEvaluator,
    final: dict[str, Any],
    directory: Path,
    version: str | None,
    selected: str,
    soup: dict[str, Any],
    started: float,
) -> TrainingResult:
    """Write the averaged weights now in ``model`` as a calibrated, measured model directory."""
    info = model.info.model_copy(
        update={
            "version": version or model.info.version,
            "onnx": None,  # new weights: any export of the ingredients no longer applies
            "operating_points": {DEFAULT: OperatingPoint(value=round(final["threshold"], 6))},
            "metrics": {"dev_fp32": rounded(final), "selected": selected},
            "training": {**model.info.training, "soup": soup},
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    tokenizer = AutoTokenizer.from_pretrained(str(model.path))
    info = save_measured(directory, model.network, tokenizer, info, evaluator)
    return TrainingResult(
        model_dir=directory,
        dev_metrics=info.metrics["dev"],
        steps=0,
        seconds=time.monotonic() - started,
    )


def _cloned(state: State) -> State:
    return {k: v.detach().clone() for k, v in state.items()}
