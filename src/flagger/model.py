"""``Flagger``: the front door. Load a model directory and score messages.

Texts longer than the model window are split into overlapping windows; a message takes the
scores of its most severe window. Windows are scored in length-bucketed batches on a thread
count that is set explicitly, so throughput does not depend on the caller's environment.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from flagger.encoding import encode_windows, length_bucketed_batches, pad_batch
from flagger.errors import ConfigError
from flagger.labels import CATEGORIES, VECTORS
from flagger.model_dir import ModelInfo, default_model_dir, load_model_dir
from flagger.network import MultiTaskClassifier
from flagger.results import ScoreResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Probabilities:
    """Per-message probabilities from the heads, taken from each message's most severe window."""

    sexist: np.ndarray  # (n,)
    category: np.ndarray  # (n, len(CATEGORIES))
    vector: np.ndarray  # (n, len(VECTORS))
    windows: np.ndarray  # (n,) number of windows per message


def default_threads() -> int:
    """The number of CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Flagger:
    """A loaded model that scores messages for sexism and names its category and vector."""

    def __init__(
        self,
        network: MultiTaskClassifier,
        tokenizer: PreTrainedTokenizerBase,
        info: ModelInfo,
        *,
        path: Path | None = None,
        batch_size: int = 64,
        num_threads: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, found {batch_size}")
        self.network = network.eval()
        self.tokenizer = tokenizer
        self.info = info
        self.path = path
        self.batch_size = batch_size
        self.num_threads = num_threads or default_threads()
        torch.set_num_threads(self.num_threads)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        batch_size: int = 64,
        num_threads: int | None = None,
    ) -> Flagger:
        """Load a model directory; the shipped model when ``path`` is ``None``.

        Raises:
            ModelDirectoryError: if the directory is missing, incomplete or tampered with.
        """
        directory = Path(path) if path is not None else default_model_dir()
        network, tokenizer, info = load_model_dir(directory)
        logger.info("loaded model %s %s from %s", info.name, info.version, directory)
        return cls(
            network, tokenizer, info, path=directory, batch_size=batch_size, num_threads=num_threads
        )

    @property
    def version(self) -> str:
        """``name@version`` of the loaded model, written next to every verdict."""
        return f"{self.info.name}@{self.info.version}"

    def probabilities(self, texts: Sequence[str]) -> Probabilities:
        """Run the heads over every window of every text; keep each text's most severe window."""
        n = len(texts)
        windows = encode_windows(
            self.tokenizer, texts, self.info.max_length, self.info.window_stride
        )
        sexist = np.zeros(len(windows), dtype=np.float32)
        category = np.zeros((len(windows), len(CATEGORIES)), dtype=np.float32)
        vector = np.zeros((len(windows), len(VECTORS)), dtype=np.float32)
        pad_id = self.tokenizer.pad_token_id or 0
        with torch.inference_mode():
            for batch in length_bucketed_batches(
                [len(w.input_ids) for w in windows], self.batch_size
            ):
                input_ids, attention_mask = pad_batch([windows[i].input_ids for i in batch], pad_id)
                logits = self.network(input_ids, attention_mask)
                sexist[batch] = torch.sigmoid(logits.sexist).numpy()
                category[batch] = torch.softmax(logits.category, dim=-1).numpy()
                vector[batch] = torch.softmax(logits.vector, dim=-1).numpy()
        owner = np.array([w.text_index for w in windows], dtype=np.int64)
        # Most severe window per text: sort by (text, score) and take each text's last row.
        order = np.lexsort((sexist, owner))
        last = np.r_[owner[order][1:] != owner[order][:-1], True]
        best = order[last]
        return Probabilities(
            sexist=sexist[best],
            category=category[best],
            vector=vector[best],
            windows=np.bincount(owner, minlength=n),
        )

    def resolve_threshold(self, threshold: float | None) -> float:
        """The threshold to flag at: ``threshold``, or the model's default when ``None``.

        Raises:
            ConfigError: if ``threshold`` is outside [0, 1].
        """
        cut = self.info.threshold if threshold is None else float(threshold)
        if not 0.0 <= cut <= 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, found {threshold}")
        return cut

    def score(self, texts: Sequence[str], threshold: float | None = None) -> list[ScoreResult]:
        """Score messages.

        Args:
            texts: the messages, any length.
            threshold: flag when ``score >= threshold``; the model's default when ``None``.

        Returns:
            One ``ScoreResult`` per text, in order.

        Raises:
            ConfigError: if ``threshold`` is outside [0, 1].
        """
        cut = self.resolve_threshold(threshold)
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            return []
        probs = self.probabilities(texts)
        return [
            _result(
                float(probs.sexist[i]),
                probs.category[i],
                probs.vector[i],
                int(probs.windows[i]),
                cut,
            )
            for i in range(len(texts))
        ]


def _result(
    score: float, category: np.ndarray, vector: np.ndarray, windows: int, threshold: float
) -> ScoreResult:
    flagged = score >= threshold
    top_category, top_vector = int(category.argmax()), int(vector.argmax())
    return ScoreResult(
        score=round(score, 6),
        flagged=flagged,
        threshold=threshold,
        category=CATEGORIES[top_category] if flagged else None,
        category_probability=round(float(category[top_category]), 6),
        vector=VECTORS[top_vector] if flagged else None,
        vector_probability=round(float(vector[top_vector]), 6),
        categories={name: round(float(p), 6) for name, p in zip(CATEGORIES, category, strict=True)},
        vectors={name: round(float(p), 6) for name, p in zip(VECTORS, vector, strict=True)},
        windows=windows,
    )
