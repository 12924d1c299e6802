"""The training loop: joint fine-tuning of the three heads, dev-based selection, checkpoint
averaging, threshold choice, and writing a self-contained model directory.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import AutoTokenizer, PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from flagger import __version__
from flagger.data import Example, hash_split, load_examples, train_dev_split
from flagger.encoding import pad_batch
from flagger.errors import InputFileError
from flagger.labels import CATEGORIES, VECTORS
from flagger.metrics import rounded
from flagger.model import Flagger
from flagger.model_dir import ModelInfo, read_info, sha256_file
from flagger.network import HeadLogits, MultiTaskClassifier, load_network
from flagger.normalize import normalize
from flagger.thresholds import DEFAULT, OperatingPoint
from flagger.training.config import TrainingConfig
from flagger.training.selection import DevEvaluator, State, average_states, save_measured

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingResult:
    """Where the model was written and how it scored on dev."""

    model_dir: Path
    dev_metrics: dict[str, Any]
    steps: int
    seconds: float


@dataclass(frozen=True)
class _Encoded:
    ids: list[list[int]]
    sexist: torch.Tensor  # float, -1 where unlabelled
    category: torch.Tensor  # long, -100 where unlabelled
    vector: torch.Tensor  # long, -100 where unlabelled


def _encode(
    tokenizer: PreTrainedTokenizerBase,
    examples: Sequence[Example],
    max_length: int,
    normalized: bool = True,
) -> _Encoded:
    texts = [normalize(e.text).text if normalized else e.text for e in examples]
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]

    def column(field: str, missing: int) -> list[int]:
        values = [getattr(e, field) for e in examples]
        return [missing if v is None else v for v in values]

    return _Encoded(
        ids=ids,
        sexist=torch.tensor(column("sexist", -1), dtype=torch.float32),
        category=torch.tensor(column("category", -100), dtype=torch.long),
        vector=torch.tensor(column("vector", -100), dtype=torch.long),
    )


def _class_weights(labels: torch.Tensor, classes: int, power: float) -> torch.Tensor:
    """Inverse-frequency weights raised to ``power``, normalised to mean 1 over seen classes."""
    counts = torch.bincount(labels[labels >= 0], minlength=classes).float()
    weights = torch.where(counts > 0, counts.clamp(min=1.0) ** -power, torch.zeros_like(counts))
    seen = counts > 0
    return weights / weights[seen].mean() if seen.any() else torch.ones(classes)


class _MultiTaskLoss:
    """Weighted sum of the three heads' losses; each head sees only rows labelled for it."""

    def __init__(self, encoded: _Encoded, config: TrainingConfig) -> None:
        self.encoded, self.config = encoded, config
        self.bce = nn.BCEWithLogitsLoss()
        power = config.class_weight_power
        self.category_ce = nn.CrossEntropyLoss(
            weight=_class_weights(encoded.category, len(CATEGORIES), power), ignore_index=-100
        )
        self.vector_ce = nn.CrossEntropyLoss(
            weight=_class_weights(encoded.vector, len(VECTORS), power), ignore_index=-100
        )

    def __call__(self, logits: HeadLogits, batch: list[int]) -> torch.Tensor:
        index = torch.tensor(batch)
        sexist = self.encoded.sexist[index]
        category, vector = self.encoded.category[index], self.encoded.vector[index]
        loss = torch.zeros(())
        labelled = sexist >= 0
        if labelled.any():
            loss = loss + self.config.sexist_loss_weight * self.bce(
                logits.sexist[labelled], sexist[labelled]
            )
        if (category >= 0).any():
            loss = loss + self.config.category_loss_weight * self.category_ce(
                logits.category, category
            )
        if (vector >= 0).any():
            loss = loss + self.config.vector_loss_weight * self.vector_ce(logits.vector, vector)
        return loss


def _optimizer(network: MultiTaskClassifier, config: TrainingConfig) -> torch.optim.AdamW:
    """AdamW with no decay on biases and norms, and a higher learning rate for the new heads."""
    heads = [p for n, p in network.named_parameters() if not n.startswith("encoder.")]
    decay = [p for p in network.encoder.parameters() if p.ndim > 1]
    no_decay = [p for p in network.encoder.parameters() if p.ndim <= 1]
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay, "lr": config.learning_rate},
            {"params": no_decay, "weight_decay": 0.0, "lr": config.learning_rate},
            {"params": heads, "weight_decay": 0.0, "lr": config.head_learning_rate},
        ]
    )


NEVER_TRAIN_MARKER = ".never-train"


def training_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand folders into their ``*.csv`` files; refuse data marked as never to be trained on.

    A folder holding a ``.never-train`` file (an evaluation split such as the corpus's blind
    split) cannot be trained on, by itself or through one of its files.

    Raises:
        InputFileError: a missing path, an empty folder, or data marked never-train.
    """
    files: list[Path] = []
    for value in paths:
        path = Path(value)
        folder = path if path.is_dir() else path.parent
        if (folder / NEVER_TRAIN_MARKER).exists():
            raise InputFileError(
                f"{path}: marked never-train ({folder / NEVER_TRAIN_MARKER}); it is evaluation "
                "data, remove it from the training files"
            )
        if path.is_dir():
            found = sorted(path.glob("*.csv"))
            if not found:
                raise InputFileError(f"{path}: a training folder with no CSV files")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InputFileError(f"{path}: training file not found")
    return files


def _bucketed_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Shuffle, sort within pools of 50 batches by length, then shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def train(
    data: str | Path,
    out_dir: str | Path,
    config: TrainingConfig | None = None,
    *,
    text_field: str = "text",
    name: str = "flagger-edos",
    version: str = "1.0.0",
    progress: bool = True,
    extra_train: Sequence[str | Path] = (),
) -> TrainingResult:
    """Fine-tune a multi-task model on a labelled file and write a model directory.

    Args:
        data: CSV/JSONL/Parquet with ``text`` and EDOS or ``label`` columns; a ``split`` column
            with ``train``/``dev`` chooses the dev set, else 10% is held out by id hash.
        out_dir: the model directory to write.
        config: the recipe; defaults to ``TrainingConfig()``.
        text_field: the text column.
        name, version: recorded in ``flagger.json`` and the model card.
        progress: show a progress bar.
        extra_train: labelled files (e.g. augmentations) whose rows are all added to the
            training split; they never reach dev, so they cannot sway selection.

    Raises:
        InputFileError, ConfigError: bad data or recipe.
    """
    config = config or TrainingConfig()
    started = time.monotonic()
    random.seed(config.seed)
    np.random.seed(config.seed)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)

    data_path = Path(data)
    examples = load_examples(data_path, text_field=text_field)
    train_set, dev_set = train_dev_split(examples, config.dev_fraction)
    if config.base_train_fraction < 1:
        train_set = [
            e
            for e in train_set
            if hash_split(f"replay:{e.id}", config.base_train_fraction) == "dev"
        ]
    weighted = training_files(config.extra_train)
    extras = [*weighted, *training_files(extra_train)]
    for extra in extras:
        rows = load_examples(extra, text_field=text_field)
        if extra in weighted:
            if config.extra_train_fraction < 1:
                rows = [
                    e
                    for e in rows
                    if hash_split(f"replay:{e.id}", config.extra_train_fraction) == "dev"
                ]
            rows = rows * config.extra_train_weight
        train_set = [*train_set, *rows]
    torch.manual_seed(config.init_seed)
    if config.init_model:
        # Continue from a fine-tuned model: its encoder and heads, its tokenizer.
        base = config.init_model
        network = load_network(base)
        network.dropout.p = config.head_dropout
    else:
        base = config.resolved_base_model()
        # Heads start from init_seed whatever the seed, so runs that differ only in data order
        # and dropout stay averageable (see soup.py).
        network = MultiTaskClassifier.from_encoder(base, head_dropout=config.head_dropout)
    tokenizer = AutoTokenizer.from_pretrained(base)
    start_state = (
        {k: v.detach().clone() for k, v in network.state_dict().items()}
        if config.init_weight
        else None
    )
    torch.manual_seed(config.seed)
    encoded = _encode(tokenizer, train_set, config.max_length, config.normalize)
    logger.info("training on %d examples, selecting on %d", len(train_set), len(dev_set))

    # A model continued from another keeps how that one treats long messages and uncertainty.
    inherited = (
        read_info(Path(config.init_model)).model_dump(include={"length", "uncertainty_band"})
        if config.init_model
        else {}
    )
    info = ModelInfo(
        **inherited,
        name=name,
        version=version,
        base_model=(
            f"{config.base_model_name()}, continued from {config.init_model}"
            if config.init_model
            else config.base_model_name()
        ),
        max_length=config.max_length,
        window_stride=config.window_stride,
        normalize=config.normalize,
        operating_points={DEFAULT: OperatingPoint(value=0.5)},
    )
    evaluator = DevEvaluator(
        Flagger.from_network(
            network, tokenizer, info, batch_size=64, num_threads=config.num_threads
        ),
        dev_set,
    )

    optimizer = _optimizer(network, config)
    steps_per_epoch = math.ceil(len(train_set) / config.batch_size)
    total_steps = math.ceil(steps_per_epoch * config.epochs)
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    scheduler = get_linear_schedule_with_warmup(  # type: ignore[no-untyped-call]
        optimizer, int(config.warmup_ratio * total_steps), total_steps
    )
    eval_every = (
        total_steps
        if config.selection == "last"
        else max(1, steps_per_epoch // config.evals_per_epoch)
    )

    loss_of = _MultiTaskLoss(encoded, config)

    rng = random.Random(config.seed)
    lengths = [len(ids) for ids in encoded.ids]
    pad_id = tokenizer.pad_token_id or 0
    history: list[dict[str, Any]] = []
    best: list[tuple[float, int, State, dict[str, Any]]] = []  # (selection, step, weights,
    # report), best first
    stale, step = 0, 0
    bar = tqdm(total=total_steps, desc="training", unit="step", disable=not progress)
    while step < total_steps and stale < config.patience:
        for batch in _bucketed_batches(lengths, config.batch_size, rng):
            network.train()
            input_ids, attention_mask = pad_batch([encoded.ids[i] for i in batch], pad_id)
            logits = network(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
            loss = loss_of(logits, batch)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if step % eval_every == 0 or step == total_steps:
                if start_state is not None and step == total_steps:  # WiSE-FT, then measured
                    trained = {k: v.detach().clone() for k, v in network.state_dict().items()}
                    network.load_state_dict(
                        average_states(
                            [trained, start_state], [1 - config.init_weight, config.init_weight]
                        )
                    )
                report = evaluator()
                report["step"] = step
                history.append(report)
                logger.info(
                    "step %d dev %s",
                    step,
                    {k: round(v, 4) for k, v in report.items() if isinstance(v, float)},
                )
                if progress:  # else the log has it; stdout may be someone's JSON
                    bar.write(
                        f"step {step}: dev task A {report['task_a_macro_f1']:.4f} "
                        f"B {report.get('task_b_macro_f1', float('nan')):.4f} "
                        f"C {report.get('task_c_macro_f1', float('nan')):.4f}"
                    )
                stale = 0 if not best or report["selection"] > best[0][0] else stale + 1
                best.append(
                    (
                        report["selection"],
                        step,
                        {k: v.detach().clone() for k, v in network.state_dict().items()},
                        report,
                    )
                )
                best = sorted(best, key=lambda item: -item[0])[: config.average_top_k]
            if step >= total_steps or stale >= config.patience:
                break
    bar.close()

    network.load_state_dict(best[0][2])
    final = best[0][3]  # measured on exactly these weights
    chosen = f"checkpoint at step {best[0][1]}"
    if start_state is not None:
        chosen += f", averaged with the starting model (weight {config.init_weight})"
    if len(best) > 1:
        network.load_state_dict(average_states([state for _, _, state, _ in best]))
        averaged = evaluator()
        if averaged["selection"] > final["selection"]:
            final = averaged
            chosen = f"average of checkpoints at steps {sorted(s for _, s, _, _ in best)}"
        else:
            network.load_state_dict(best[0][2])

    info = info.model_copy(
        update={
            "operating_points": {DEFAULT: OperatingPoint(value=round(final["threshold"], 6))},
            "metrics": {"dev_fp32": rounded(final), "selected": chosen},
            "training": {
                **config.to_dict(),
                "steps": step,
                "flagger_version": __version__,
                "history": [rounded(h) for h in history],
            },
            "data": {
                "file": data_path.name,
                "sha256": sha256_file(data_path),
                "train_rows": len(train_set),
                "dev_rows": len(dev_set),
                "extra_train": [
                    {"file": p.name, "sha256": sha256_file(p), "rows": len(load_examples(p))}
                    for p in extras
                ],
            },
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    directory = Path(out_dir)
    info = save_measured(directory, network, tokenizer, info, evaluator)
    seconds = time.monotonic() - started
    logger.info("wrote %s after %d steps in %.0fs (%s)", directory, step, seconds, chosen)
    return TrainingResult(
        model_dir=directory, dev_metrics=info.metrics["dev"], steps=step, seconds=seconds
    )
