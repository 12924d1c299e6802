"""Task-adaptive pre-training: continue masked-language-model training of the encoder on the
training texts, so it learns their vocabulary and style before it is fine-tuned.

The dev split is never read, so dev stays a fair measure for model selection. The output is an
encoder directory (config, weights, tokenizer) that ``TrainingConfig.base_model`` can start from.
"""

from __future__ import annotations

import json
import logging
import math
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import (
    AutoTokenizer,
    BertForMaskedLM,
    DataCollatorForLanguageModeling,
    get_linear_schedule_with_warmup,
)

from flagger.data import load_examples, split_names
from flagger.errors import ConfigError, InputFileError
from flagger.training.config import packaged_base_model

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdaptConfig:
    """The masked-language-model recipe."""

    base_model: str | None = None  # None = packaged all-MiniLM-L6-v2
    epochs: float = 3.0
    max_steps: int | None = None
    batch_size: int = 32
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    mask_probability: float = 0.15
    max_length: int = 128
    dev_fraction: float = 0.1  # held out by id hash when there is no split column
    seed: int = 13
    num_threads: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.mask_probability < 1:
            raise ConfigError("invalid adapt config: mask_probability must be in (0, 1)")
        if self.epochs <= 0 or self.batch_size <= 0 or self.learning_rate <= 0:
            raise ConfigError("invalid adapt config: epochs, batch_size, learning_rate must be > 0")
        if self.max_steps is not None and self.max_steps <= 0:
            raise ConfigError("invalid adapt config: max_steps must be positive")


def training_texts(data: str | Path, text_field: str, dev_fraction: float) -> list[str]:
    """Texts of the training side of a file: ``split == train``, else by id hash; never dev."""
    examples = load_examples(data, text_field=text_field, require_labels=False)
    names = split_names(examples, dev_fraction)
    texts = [e.text for e, name in zip(examples, names, strict=True) if name == "train"]
    if not texts:
        raise InputFileError(f"{data}: no training rows to adapt the encoder on")
    return texts


def adapt_encoder(
    data: str | Path,
    out_dir: str | Path,
    config: AdaptConfig | None = None,
    *,
    text_field: str = "text",
    progress: bool = True,
) -> Path:
    """Continue MLM training of the base encoder on a file's training texts.

    Raises:
        InputFileError, ConfigError: bad data or recipe.
    """
    config = config or AdaptConfig()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    base = config.base_model or packaged_base_model()
    texts = training_texts(data, text_field, config.dev_fraction)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = BertForMaskedLM.from_pretrained(base)
    collator = DataCollatorForLanguageModeling(
        tokenizer, mlm_probability=config.mask_probability, seed=config.seed
    )
    encoded = tokenizer(texts, truncation=True, max_length=config.max_length)["input_ids"]
    steps_per_epoch = math.ceil(len(encoded) / config.batch_size)
    total = math.ceil(steps_per_epoch * config.epochs)
    total = min(total, config.max_steps) if config.max_steps else total
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = get_linear_schedule_with_warmup(  # type: ignore[no-untyped-call]
        optimizer, int(config.warmup_ratio * total), total
    )
    model.train()
    step = 0
    bar = tqdm(total=total, desc="adapting", unit="step", disable=not progress)
    while step < total:
        order = list(range(len(encoded)))
        rng.shuffle(order)
        for start in range(0, len(order), config.batch_size):
            batch = collator(
                [{"input_ids": encoded[i]} for i in order[start : start + config.batch_size]]
            )
            loss = _masked_lm_loss(model, batch)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if step >= total:
                break
    bar.close()
    directory = Path(out_dir)
    model.bert.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    (directory / "adapt_config.json").write_text(
        json.dumps({**asdict(config), "texts": len(texts), "steps": step}, indent=2) + "\n"
    )
    logger.info("adapted encoder written to %s after %d steps", directory, step)
    return directory


def _masked_lm_loss(model: BertForMaskedLM, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy at the masked positions only: projecting every position onto the
    30k-word vocabulary would cost more than the encoder itself."""
    hidden = model.bert(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    labels = batch["labels"]
    masked = labels != -100
    logits = model.cls(hidden[masked])
    return torch.nn.functional.cross_entropy(logits, labels[masked])
