"""The multi-task network: one BERT encoder, mean pooling, and three heads for the EDOS tasks.

Heads: ``sexist`` (one logit), ``category`` (4 logits) and ``vector`` (11 logits). The encoder is
built from a ``BertConfig`` so a saved model loads from local files only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import BertConfig, BertModel

from flagger.labels import CATEGORIES, VECTORS


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
