"""Where the network runs: PyTorch (always there) or ONNX Runtime int8 (faster on CPU).

Both take padded ``input_ids`` and ``attention_mask`` arrays and return the heads' outputs as
NumPy arrays, so everything above them (windows, calibration, spans) is the same on either.
ONNX Runtime is used only for a model directory whose ``flagger.json`` records an ONNX export
that was measured to hold accuracy (see ``flagger.training.export``); PyTorch is the fallback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from flagger.errors import ConfigError, ModelDirectoryError
from flagger.model_dir import ModelInfo

if TYPE_CHECKING:
    from flagger.network import MultiTaskClassifier

logger = logging.getLogger(__name__)

BackendName = Literal["auto", "onnx", "torch"]
ONNX_OUTPUTS = ("sexist", "category", "vector")


@dataclass(frozen=True)
class HeadScores:
    """The heads' outputs for a batch: the raw sexist logit and the two label distributions."""

    sexist_logit: np.ndarray  # (batch,)
    category: np.ndarray  # (batch, len(CATEGORIES)) probabilities
    vector: np.ndarray  # (batch, len(VECTORS)) probabilities


class Backend(Protocol):
    """Runs the network on one padded batch."""

    name: str
    concurrent_calls: int  # how many batches may run at once, each from its own thread

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> HeadScores: ...


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


class TorchBackend:
    """The network in PyTorch, float32, on the CPU."""

    name = "torch"
    concurrent_calls = 1  # one batch at a time, on ``num_threads`` intra-op threads

    def __init__(self, network: MultiTaskClassifier, num_threads: int) -> None:
        import torch

        torch.set_num_threads(num_threads)
        self.network = network.eval()

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> HeadScores:
        import torch

        with torch.inference_mode():
            logits = self.network(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
            return HeadScores(
                sexist_logit=logits.sexist.float().numpy(),
                category=torch.softmax(logits.category.float(), dim=-1).numpy(),
                vector=torch.softmax(logits.vector.float(), dim=-1).numpy(),
            )


class OnnxBackend:
    """The exported network in ONNX Runtime: ``num_threads`` single-threaded calls at once.

    An ONNX Runtime session may be run from several threads at the same time. Each call runs on
    its caller's thread only, so ``PassRunner`` gives the cores whole batches rather than
    splitting every matrix product between them (``threads_per_call`` > 1 splits them again;
    ``bench/batching.py`` compares the two).
    """

    name = "onnx"

    def __init__(
        self,
        path: Path,
        num_threads: int,
        threads_per_call: int = 1,
        *,
        one_sequence_per_run: bool = True,
    ) -> None:
        import onnxruntime as ort

        self.one_sequence_per_run = one_sequence_per_run
        self._outputs = list(ONNX_OUTPUTS)
        self.concurrent_calls = max(1, num_threads // threads_per_call)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads_per_call
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: its warnings are about graph internals
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelDirectoryError(f"{path}: ONNX Runtime cannot load it ({exc})") from None

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> HeadScores:
        """Run each sequence on its own, without its padding (``one_sequence_per_run``).

        Dynamic int8 quantisation takes each activation's scale from the whole input tensor, so
        in a batch one sequence's score moves with its neighbours' (on EDOS dev up to 0.15 in
        probability, and 32 of 2,000 verdicts at ``default`` changed between a scan-sized batch
        and scoring alone: ``bench/batch_invariance.py``). One sequence per run scores a message
        the same in a scan, in an API batch or alone; the padding it saves pays for most of the
        extra runs. ``one_sequence_per_run=False`` runs the padded batch as one tensor.
        """
        if self.one_sequence_per_run:
            lengths = attention_mask.sum(axis=1).tolist()
            rows = [
                self._raw(input_ids[i : i + 1, :n], attention_mask[i : i + 1, :n])
                for i, n in enumerate(lengths)
            ]
            sexist, category, vector = (np.concatenate(heads) for heads in zip(*rows, strict=True))
        else:
            sexist, category, vector = self._raw(input_ids, attention_mask)
        return HeadScores(
            sexist_logit=np.asarray(sexist, dtype=np.float32).reshape(-1),
            category=softmax(np.asarray(category, dtype=np.float32)),
            vector=softmax(np.asarray(vector, dtype=np.float32)),
        )

    def _raw(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> list[np.ndarray]:
        """The three heads' raw outputs for one tensor."""
        return self.session.run(  # type: ignore[no-any-return]
            self._outputs, {"input_ids": input_ids, "attention_mask": attention_mask}
        )


def onnx_available() -> bool:
    """Whether ONNX Runtime can be imported here."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def choose_backend(directory: Path, info: ModelInfo, requested: BackendName) -> str:
    """Resolve ``auto`` to ``onnx`` when the model has a measured export and ONNX Runtime is here.

    Raises:
        ConfigError: if ``onnx`` is asked for and the model or the machine cannot provide it.
    """
    if requested not in ("auto", "onnx", "torch"):
        raise ConfigError(f"backend must be auto, onnx or torch, found {requested!r}")
    if requested == "torch":
        return "torch"
    problem = None
    if info.onnx is None:
        problem = f"{directory} has no ONNX export (make one with `flagger export-onnx`)"
    elif not (directory / info.onnx.file).is_file():
        problem = f"{directory / info.onnx.file} is missing"
    elif not onnx_available():
        problem = "onnxruntime is not installed"
    if problem is None:
        return "onnx"
    if requested == "onnx":
        raise ConfigError(f"cannot run on ONNX Runtime: {problem}")
    logger.info("running on PyTorch: %s", problem)
    return "torch"


def load_backend(
    directory: Path, info: ModelInfo, requested: BackendName, num_threads: int
) -> Backend:
    """Build the backend ``choose_backend`` picks for a directory checked by ``check_model_dir``."""
    if choose_backend(directory, info, requested) == "onnx" and info.onnx is not None:
        return OnnxBackend(directory / info.onnx.file, num_threads)
    from flagger.network import read_network  # torch is imported only here

    return TorchBackend(read_network(directory), num_threads)
