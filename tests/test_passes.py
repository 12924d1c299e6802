"""Forward passes: planning (bucketing, splitting, order) and running several at a time."""

import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagger import Flagger
from flagger.backends import HeadScores
from flagger.labels import CATEGORIES, VECTORS
from flagger.passes import PassRunner, plan_passes


def _cost(batch: list[int], lengths: list[int]) -> int:
    return len(batch) * max(lengths[i] for i in batch)


@given(st.lists(st.integers(1, 128), max_size=120), st.integers(1, 8), st.integers(0, 64))
def test_plan_covers_every_sequence_once(lengths: list[int], workers: int, tolerance: int) -> None:
    passes = plan_passes(lengths, 16, 2048, workers, tolerance)
    assert sorted(i for p in passes for i in p) == list(range(len(lengths)))
    assert len(passes) >= min(workers, len(lengths))
    costs = [_cost(p, lengths) for p in passes]
    assert costs == sorted(costs, reverse=True)


def test_plan_halves_a_lone_pass_so_every_worker_has_one() -> None:
    assert plan_passes([5, 5, 5, 5], 16, None, workers=1) == [[0, 1, 2, 3]]
    assert sorted(plan_passes([5, 5, 5, 5], 16, None, workers=2)) == [[0, 1], [2, 3]]
    # a single long sequence cannot be split; the pass beside it is split instead
    assert sorted(plan_passes([100, 5, 5], 16, None, workers=3)) == [[0], [1], [2]]


class _SumBackend:
    """Logit = sum of a row's real token ids; records which threads called it."""

    name = "fake"

    def __init__(self, concurrent_calls: int) -> None:
        self.concurrent_calls = concurrent_calls
        self.threads: set[str] = set()

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> HeadScores:
        self.threads.add(threading.current_thread().name)
        rows = len(input_ids)
        return HeadScores(
            sexist_logit=(input_ids * attention_mask).sum(axis=1).astype(np.float32),
            category=np.full((rows, len(CATEGORIES)), 1 / len(CATEGORIES), np.float32),
            vector=np.full((rows, len(VECTORS)), 1 / len(VECTORS), np.float32),
        )


@pytest.mark.parametrize("workers", [1, 2])
def test_runner_returns_rows_in_input_order(workers: int) -> None:
    rng = np.random.default_rng(0)
    sequences = [rng.integers(1, 50, size=rng.integers(1, 40)).tolist() for _ in range(60)]
    backend = _SumBackend(workers)
    heads = PassRunner(backend, pad_id=0, batch_size=8, max_tokens=None)(sequences)
    assert heads.sexist_logit.tolist() == [float(sum(s)) for s in sequences]
    on_pool = {name for name in backend.threads if name.startswith("flagger-pass")}
    assert bool(on_pool) == (workers > 1)


@pytest.mark.shipped_model
def test_concurrent_passes_score_as_one_pass_at_a_time() -> None:
    texts = [f"message number {i} " + "word " * (i % 37) for i in range(80)]
    one = Flagger.load(num_threads=1).probabilities(texts)
    two = Flagger.load(num_threads=2).probabilities(texts)
    assert np.allclose(one.sexist_logit, two.sexist_logit, atol=1e-4)
    assert np.allclose(one.category, two.category, atol=1e-5)
