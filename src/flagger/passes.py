"""Forward passes: token sequences in, head outputs out, several passes at a time.

Sequences are grouped by length (``length_bucketed_batches``), padded, and run on the backend.
A backend that may be called from several threads at once (ONNX Runtime, one thread per call)
gets its passes spread over a pool of that many threads: on 2 cores, two single-threaded passes
side by side do about a third more small batches per second than one pass on two threads, which
spends much of a small matrix product waiting for its partner thread. When there are fewer passes
than threads, the largest are halved so every thread has one, and passes start largest first so
one long pass does not finish alone at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from flagger.backends import Backend, HeadScores
from flagger.encoding import PADDING_TOLERANCE, length_bucketed_batches, pad_batch
from flagger.labels import CATEGORIES, VECTORS


def plan_passes(
    lengths: Sequence[int],
    batch_size: int,
    max_tokens: int | None,
    workers: int = 1,
    padding_tolerance: int = PADDING_TOLERANCE,
) -> list[list[int]]:
    """Indices of each forward pass, costliest first, at least ``workers`` when possible.

    The cost of a pass is taken as rows times padded length.
    """
    passes = length_bucketed_batches(lengths, batch_size, max_tokens, padding_tolerance)

    def cost(batch: list[int]) -> int:
        return len(batch) * max(lengths[i] for i in batch)

    while len(passes) < workers:
        largest = max((p for p in passes if len(p) > 1), key=cost, default=None)
        if largest is None:
            break
        passes.remove(largest)
        half = len(largest) // 2
        passes += [largest[:half], largest[half:]]
    return sorted(passes, key=cost, reverse=True)


class PassRunner:
    """Runs a backend over token sequences, ``backend.concurrent_calls`` passes at a time."""

    def __init__(
        self, backend: Backend, pad_id: int, *, batch_size: int, max_tokens: int | None
    ) -> None:
        self.backend, self.pad_id = backend, pad_id
        self.batch_size, self.max_tokens = batch_size, max_tokens
        self.workers = max(1, backend.concurrent_calls)
        self._pool: ThreadPoolExecutor | None = None

    def __call__(
        self, sequences: Sequence[Sequence[int]], padding_tolerance: int = PADDING_TOLERANCE
    ) -> HeadScores:
        """The heads' outputs for every sequence, in the order given."""
        n = len(sequences)
        logit = np.zeros(n, dtype=np.float32)
        category = np.zeros((n, len(CATEGORIES)), dtype=np.float32)
        vector = np.zeros((n, len(VECTORS)), dtype=np.float32)
        passes = plan_passes(
            [len(s) for s in sequences],
            self.batch_size,
            self.max_tokens,
            self.workers,
            padding_tolerance,
        )

        def run(batch: list[int]) -> HeadScores:
            return self.backend(*pad_batch([sequences[i] for i in batch], self.pad_id))

        if self.workers > 1 and len(passes) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="flagger-pass")
            outputs = self._pool.map(run, passes)
        else:
            outputs = map(run, passes)
        for batch, heads in zip(passes, outputs, strict=True):
            logit[batch] = heads.sexist_logit
            category[batch] = heads.category
            vector[batch] = heads.vector
        return HeadScores(sexist_logit=logit, category=category, vector=vector)
