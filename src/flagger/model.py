"""``Flagger``: the front door. Load a model directory and score messages.

Texts longer than the model window are split into overlapping windows; a message takes the
scores of its most severe window. Windows are scored in length-bucketed passes (``passes``) on a
thread count that is set explicitly, so throughput does not depend on the caller's environment.

The network runs on a ``Backend``: ONNX Runtime int8 when the model directory carries a measured
export, PyTorch otherwise (``backend="torch"`` forces it; training always uses it).

The decision layer sits on top: the sexist logit is calibrated (``calibration``), compared with
a named operating point (``thresholds``), and flagged messages are explained by the spans of
their original text that drive the score (``explain``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tokenizers import Tokenizer

from flagger.backends import Backend, BackendName, TorchBackend, load_backend
from flagger.encoding import (
    Window,
    as_tokenizer,
    context_window,
    encode_parts,
    encode_windows,
    load_tokenizer,
    special_tokens,
)
from flagger.errors import ConfigError
from flagger.explain import Explanation, Range, SpanSearch, find_spans
from flagger.labels import CATEGORIES, VECTORS
from flagger.model_dir import ModelInfo, check_model_dir, default_model_dir
from flagger.normalize import Normalized, normalize
from flagger.passes import PassRunner
from flagger.results import Part, ScoreResult, Target, ThresholdRef
from flagger.thresholds import resolve_threshold

if TYPE_CHECKING:
    from flagger.network import MultiTaskClassifier

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Probabilities:
    """Per-message outputs of the heads, taken from each message's most severe window."""

    sexist: np.ndarray  # (n,) calibrated probability
    sexist_logit: np.ndarray  # (n,) raw logit, before calibration
    category: np.ndarray  # (n, len(CATEGORIES))
    vector: np.ndarray  # (n, len(VECTORS))
    windows: np.ndarray  # (n,) number of parts (windows) per message
    focus: list[tuple[int, int]]  # character range of the most severe part
    tokens: np.ndarray  # (n,) tokens per message, which the length-aware verdict depends on
    # (n,) raw logit of the most severe part read with its neighbours (``LengthRule``'s
    # context); the part's own logit where the message is one part or the rule reads no context
    context_logit: np.ndarray


@dataclass(frozen=True)
class Prepared:
    """Texts made ready for the network by ``Flagger.prepare``."""

    texts: list[str]
    normalized: list[Normalized] | None
    windows: list[Window]
    model: Flagger = field(repr=False, compare=False)  # only this model may score them as they are

    @classmethod
    def join(cls, parts: Sequence[Prepared]) -> Prepared:
        """Several preparations by one model as one, texts in order.

        Raises:
            ConfigError: if there are none, or they were prepared by different models.
        """
        if not parts or any(part.model is not parts[0].model for part in parts):
            raise ConfigError("can only join one or more texts prepared by the same model")
        texts: list[str] = []
        windows: list[Window] = []
        for part in parts:
            windows += [replace(w, text_index=w.text_index + len(texts)) for w in part.windows]
            texts += part.texts
        normalized = None
        if parts[0].normalized is not None:  # the same model normalises all or none
            normalized = [m for part in parts for m in part.normalized or []]
        return cls(texts, normalized, windows, parts[0].model)


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
        backend: Backend,
        tokenizer: Tokenizer | Any,
        info: ModelInfo,
        *,
        path: Path | None = None,
        batch_size: int = 256,
        max_tokens: int = 8192,
        num_threads: int | None = None,
        span_search: SpanSearch | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, found {batch_size}")
        self.backend = backend
        self.tokenizer = as_tokenizer(tokenizer)
        self.pad_id = special_tokens(self.tokenizer).pad
        self.info = info
        self.path = path
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        # Spans should take a message clearly out of the flagged zone, not just under the line.
        self.span_search = span_search or SpanSearch(margin=info.uncertainty_band)
        self.num_threads = num_threads or default_threads()
        self.run_passes = PassRunner(
            backend, self.pad_id, batch_size=batch_size, max_tokens=max_tokens
        )

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        backend: BackendName = "auto",
        batch_size: int = 256,
        max_tokens: int = 8192,
        num_threads: int | None = None,
    ) -> Flagger:
        """Load a model directory; the shipped model when ``path`` is ``None``.

        Args:
            path: the model directory.
            backend: ``auto`` (ONNX Runtime when the model has a measured export, else PyTorch),
                ``onnx`` or ``torch``.
            batch_size: most windows per forward pass.
            max_tokens: most tokens (padding included) per forward pass.
            num_threads: CPU threads for the network (default: every core this process may use).

        Raises:
            ModelDirectoryError: if the directory is missing, incomplete or tampered with.
            ConfigError: if ``backend`` is ``onnx`` and the model or machine cannot provide it.
        """
        directory, info = check_model_dir(path if path is not None else default_model_dir())
        threads = num_threads or default_threads()
        runner = load_backend(directory, info, backend, threads)
        logger.info(
            "loaded model %s %s from %s on %s", info.name, info.version, directory, runner.name
        )
        return cls(
            runner,
            load_tokenizer(directory),
            info,
            path=directory,
            batch_size=batch_size,
            max_tokens=max_tokens,
            num_threads=threads,
        )

    @classmethod
    def from_network(
        cls, network: MultiTaskClassifier, tokenizer: Any, info: ModelInfo, **options: Any
    ) -> Flagger:
        """Wrap a PyTorch network being trained or edited (its weights are used live)."""
        threads = options.pop("num_threads", None) or default_threads()
        return cls(TorchBackend(network, threads), tokenizer, info, num_threads=threads, **options)

    def with_info(self, info: ModelInfo) -> Flagger:
        """The same network and tokenizer under another description (e.g. new calibration)."""
        return Flagger(
            self.backend,
            self.tokenizer,
            info,
            path=self.path,
            batch_size=self.batch_size,
            max_tokens=self.max_tokens,
            num_threads=self.num_threads,
        )

    @property
    def network(self) -> MultiTaskClassifier:
        """The PyTorch network (training, weight averaging, gradient explanations).

        Raises:
            ConfigError: when this model runs on ONNX Runtime.
        """
        if not isinstance(self.backend, TorchBackend):
            raise ConfigError(
                f"{self.version} runs on {self.backend.name}; load it with backend='torch' "
                "to reach its PyTorch network"
            )
        return self.backend.network

    @property
    def version(self) -> str:
        """``name@version`` of the loaded model, written next to every verdict."""
        return f"{self.info.name}@{self.info.version}"

    def prepare(self, texts: Sequence[str]) -> Prepared:
        """Normalise, tokenise and window texts: the work before the network, done ahead.

        A server prepares each request as it arrives, while the previous batch is on the
        network, and scores the joined requests later (``Prepared.join``).
        """
        texts = list(texts)
        normalized = [normalize(t) for t in texts] if self.info.normalize else None
        inputs = [m.text for m in normalized] if normalized else texts
        if self.info.length.split == "paragraphs":
            windows = encode_parts(self.tokenizer, inputs, self.info.max_length)
        else:
            windows = encode_windows(
                self.tokenizer, inputs, self.info.max_length, self.info.window_stride
            )
        return Prepared(texts, normalized, windows, self)

    def _prepared(self, texts: Sequence[str] | Prepared) -> Prepared:
        """Texts made ready by this model; another model's preparation is redone."""
        if isinstance(texts, Prepared):
            return texts if texts.model is self else self.prepare(texts.texts)
        return self.prepare(texts)

    def probabilities(self, texts: Sequence[str] | Prepared) -> Probabilities:
        """Run the heads over every window of every text; keep each text's most severe window."""
        prepared = self._prepared(texts)
        texts, normalized, windows = prepared.texts, prepared.normalized, prepared.windows
        n = len(texts)
        heads = self.run_passes([w.input_ids for w in windows])
        logit, category, vector = heads.sexist_logit, heads.category, heads.vector
        owner = np.array([w.text_index for w in windows], dtype=np.int64)
        # Most severe window per text: sort by (text, score) and take each text's last row.
        # Calibration is monotone, so the most severe window is the one with the largest logit.
        order = np.lexsort((logit, owner))
        last = np.r_[owner[order][1:] != owner[order][:-1], True]
        best = order[last]
        counts = np.bincount(owner, minlength=n)
        tokens = np.array([windows[b].text_tokens for b in best], dtype=np.int64)
        context = self._context_logits(windows, best, owner, logit[best])
        adjusted = self.info.length.adjust(logit[best], tokens, context)
        return Probabilities(
            sexist=self.info.calibration.probability(adjusted),
            sexist_logit=logit[best],  # before calibration and the length rule
            tokens=tokens,
            context_logit=context,
            category=category[best],
            vector=vector[best],
            windows=counts,
            focus=[
                _focus(windows[b], texts[i], counts[i], normalized[i] if normalized else None)
                for i, b in enumerate(best)
            ],
        )

    def _context_logits(
        self, windows: Sequence[Window], best: np.ndarray, owner: np.ndarray, own: np.ndarray
    ) -> np.ndarray:
        """Each message's most severe part read with its neighbours: one more pass per message
        of several parts, only when the length rule uses it (else the parts' own logits)."""
        context = np.array(own, dtype=float)
        if not self.info.length.context_weight:
            return context
        by_text = np.argsort(owner, kind="stable")  # each text's parts together, in order
        counts = np.bincount(owner, minlength=len(best))
        firsts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        several = [i for i in range(len(best)) if counts[i] > 1]
        side = self.info.length.context_tokens
        inputs = []
        for i in several:
            rows = by_text[firsts[i] : firsts[i] + counts[i]]
            index = int(np.flatnonzero(rows == best[i])[0])
            inputs.append(
                context_window([windows[r] for r in rows], index, self.info.max_length, side)
            )
        if inputs:
            context[several] = self.run_passes(inputs).sexist_logit
        return context

    def sexist_scores(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated sexist probabilities only (what explanations perturb and re-score)."""
        return self.probabilities(texts).sexist

    def resolve_threshold(self, threshold: str | float | None) -> ThresholdRef:
        """The rule to flag by: an operating point's name, a number, or the default when ``None``.

        Raises:
            ConfigError: for an unknown name or a number outside [0, 1].
        """
        return resolve_threshold(self.info.operating_points, threshold)

    def score(
        self,
        texts: Sequence[str] | Prepared,
        threshold: str | float | None = None,
        *,
        explain: bool = True,
        uncertainty_band: float | None = None,
    ) -> list[ScoreResult]:
        """Score messages.

        Args:
            texts: the messages, any length, or the same made ready by ``prepare``.
            threshold: an operating point's name (``default``, ``review``, ``alert``) or a number;
                flag when ``score >= threshold``. The default operating point when ``None``.
            explain: find the spans that drive each flagged message's score.
            uncertainty_band: mark ``uncertain`` when ``|score - threshold|`` is below this; the
                model's band when ``None``.

        Returns:
            One ``ScoreResult`` per text, in order.

        Raises:
            ConfigError: for an unknown threshold name or a number outside [0, 1].
        """
        ref = self.resolve_threshold(threshold)
        band = self.info.uncertainty_band if uncertainty_band is None else uncertainty_band
        if isinstance(texts, str):
            texts = [texts]
        prepared = self._prepared(texts)
        texts = prepared.texts
        if not texts:
            return []
        probs = self.probabilities(prepared)
        flagged = np.flatnonzero(probs.sexist >= ref.value).tolist()
        explanations: dict[int, Explanation] = {}
        if explain and flagged:
            found = find_spans(
                self.sexist_scores,
                [texts[i] for i in flagged],
                probs.sexist[flagged].tolist(),
                ref.value,
                focus=[probs.focus[i] for i in flagged],
                search=self.span_search,
            )
            explanations = dict(zip(flagged, found, strict=True))
        return [
            _result(
                float(probs.sexist[i]),
                probs.category[i],
                probs.vector[i],
                int(probs.windows[i]),
                ref,
                band,
                explanations.get(i),
                texts[i],
                probs.focus[i],
            )
            for i in range(len(texts))
        ]


def _focus(window: Window, original: str, windows: int, normalized: Normalized | None) -> Range:
    """The character range of a message's most severe window in its ORIGINAL text."""
    if windows == 1:
        return 0, len(original)
    if normalized is None:
        return window.start, window.end
    if window.start >= window.end:
        return normalized.origins[window.start], normalized.origins[window.end]
    return normalized.to_original(window.start, window.end)


def _result(
    score: float,
    category: np.ndarray,
    vector: np.ndarray,
    windows: int,
    threshold: ThresholdRef,
    band: float,
    explanation: Explanation | None,
    text: str,
    part: Range,
) -> ScoreResult:
    flagged = score >= threshold.value
    top_category, top_vector = int(category.argmax()), int(vector.argmax())
    return ScoreResult(
        score=round(score, 6),
        flagged=flagged,
        uncertain=abs(score - threshold.value) < band,
        threshold=threshold,
        category=CATEGORIES[top_category] if flagged else None,
        category_probability=round(float(category[top_category]), 6),
        vector=VECTORS[top_vector] if flagged else None,
        vector_probability=round(float(vector[top_vector]), 6),
        categories={name: round(float(p), 6) for name, p in zip(CATEGORIES, category, strict=True)},
        vectors={name: round(float(p), 6) for name, p in zip(VECTORS, vector, strict=True)},
        windows=windows,
        part=Part(start=part[0], end=part[1]),
        spans=explanation.spans if explanation else None,
        targets=_targets(explanation, text) if explanation else None,
        score_without_spans=explanation.score_without_spans if explanation else None,
        evidence_complete=explanation.complete if explanation else None,
    )


def _targets(explanation: Explanation, text: str) -> list[Target]:
    return [Target(start=s, end=e, text=text[s:e]) for s, e in explanation.targets]
