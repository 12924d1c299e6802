"""The multi-task network: one BERT encoder, mean pooling, and three heads for the EDOS tasks.

Heads: ``sexist`` (one logit), ``category`` (4 logits) and ``vector`` (11 logits). The encoder is
built from a ``BertConfig`` so a saved model loads from local files only. Saving and loading the
weights of a model directory (fp16 safetensors) lives here too: it is the PyTorch side of it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import BertConfig, BertModel, PreTrainedTokenizerBase

from flagger.errors import ModelDirectoryError
from flagger.labels import CATEGORIES, VECTORS
from flagger.model_dir import (
    CARD_FILE,
    INFO_FILE,
    WEIGHTS_FILE,
    ModelInfo,
    check_model_dir,
    write_manifest,
)


@dataclass(frozen=True)
class HeadLogits:
    """Raw logits of the three heads for a batch."""

    sexist: torch.Tensor  # (batch,)
    category: torch.Tensor  # (batch, len(CATEGORIES))
    vector: torch.Tensor  # (batch, len(VECTORS))


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average token states over real (unpadded) tokens, as all-MiniLM-L6-v2 was trained to."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


class MultiTaskClassifier(nn.Module):
    """A BERT encoder shared by the sexist, category and vector heads."""

    def __init__(self, config: BertConfig, head_dropout: float = 0.1) -> None:
        super().__init__()
        self.config = config
        self.encoder = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(head_dropout)
        hidden = config.hidden_size
        self.sexist_head = nn.Linear(hidden, 1)
        self.category_head = nn.Linear(hidden, len(CATEGORIES))
        self.vector_head = nn.Linear(hidden, len(VECTORS))

    @classmethod
    def from_encoder(cls, encoder_dir: str, head_dropout: float = 0.1) -> MultiTaskClassifier:
        """Start from pretrained encoder weights in a local directory; heads are fresh."""
        encoder = BertModel.from_pretrained(encoder_dir, add_pooling_layer=False)
        model = cls(encoder.config, head_dropout=head_dropout)
        model.encoder = encoder
        return model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> HeadLogits:
        """Score a padded batch of token ids."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = self.dropout(mean_pool(hidden, attention_mask))
        return HeadLogits(
            sexist=self.sexist_head(pooled).squeeze(-1),
            category=self.category_head(pooled),
            vector=self.vector_head(pooled),
        )


def save_model_dir(
    directory: Path,
    network: MultiTaskClassifier,
    tokenizer: PreTrainedTokenizerBase,
    info: ModelInfo,
    card: str,
) -> Path:
    """Write a complete model directory (weights stored as fp16) and its manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in network.state_dict().items()}
    save_file(state, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
    (directory / WEIGHTS_FILE).chmod(0o644)  # safetensors writes 0600; others must read it
    network.config.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    (directory / INFO_FILE).write_text(info.model_dump_json(indent=2) + "\n")
    (directory / CARD_FILE).write_text(card)
    write_manifest(directory)
    return directory


def load_network(directory: str | os.PathLike[str]) -> MultiTaskClassifier:
    """Verify a model directory and load its network for inference (float32, eval mode).

    Raises:
        ModelDirectoryError: if the directory is missing, incomplete, tampered with or incompatible.
    """
    path, _ = check_model_dir(directory)
    return read_network(path)


def read_network(path: Path) -> MultiTaskClassifier:
    """Load the network of a model directory already checked by ``check_model_dir``.

    Raises:
        ModelDirectoryError: if the weights do not fit the config.
    """
    network = MultiTaskClassifier(BertConfig.from_pretrained(str(path)))
    state = {k: v.to(torch.float32) for k, v in load_file(str(path / WEIGHTS_FILE)).items()}
    try:
        network.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelDirectoryError(
            f"{path / WEIGHTS_FILE}: weights do not fit the config ({exc})"
        ) from None
    return network.eval()
