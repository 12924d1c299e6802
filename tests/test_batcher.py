"""The micro-batcher: requests are prepared as they arrive, joined, and bounded while waiting."""

import asyncio
import threading
from collections.abc import Sequence

import pytest

from flagger.api.batcher import MicroBatcher, QueueFullError
from flagger.api.metrics import ServiceMetrics
from flagger.model import Prepared


class _EchoModel:
    """Prepares by wrapping the texts (waiting for ``gate``); scores each text as itself."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.batches: list[list[str]] = []

    def prepare(self, texts: Sequence[str]) -> Prepared:
        self.gate.wait(10)
        return Prepared(list(texts), None, [], (0, 0, 0, False))

    def score(self, work: Prepared, threshold: object, *, explain: bool) -> list[str]:
        self.batches.append(work.texts)
        return list(work.texts)


def _batcher(model: _EchoModel, queue_max_messages: int = 100) -> MicroBatcher:
    return MicroBatcher(
        lambda: model,  # type: ignore[arg-type, return-value]
        ServiceMetrics(),
        max_messages=64,
        max_wait_s=0.05,
        queue_max_messages=queue_max_messages,
    )


def test_concurrent_requests_share_a_batch_and_get_their_own_results() -> None:
    model = _EchoModel()
    model.gate.set()

    async def run() -> list[object]:
        batcher = _batcher(model)
        batcher.start()
        try:
            return await asyncio.gather(
                batcher.score(["a", "b"], None, False, 5),
                batcher.score(["c"], None, False, 5),
                batcher.score(["d"], "alert", False, 5),  # another threshold: its own batch
            )
        finally:
            await batcher.stop()

    assert asyncio.run(run()) == [["a", "b"], ["c"], ["d"]]
    assert sorted(model.batches) == [["a", "b", "c"], ["d"]]


def test_messages_being_prepared_count_against_the_queue() -> None:
    async def run() -> None:
        model = _EchoModel()
        batcher = _batcher(model, queue_max_messages=3)
        batcher.start()
        try:
            first = asyncio.ensure_future(batcher.score(["a", "b"], None, False, 5))
            await asyncio.sleep(0.05)  # "a", "b" are now being prepared, behind the gate
            with pytest.raises(QueueFullError):
                await batcher.score(["c", "d"], None, False, 5)
            model.gate.set()
            assert await first == ["a", "b"]
            assert await batcher.score(["c", "d"], None, False, 5) == ["c", "d"]
        finally:
            await batcher.stop()

    asyncio.run(run())


def test_timeout_covers_preparation() -> None:
    async def run() -> None:
        model = _EchoModel()  # the gate stays shut: preparation never ends in time
        batcher = _batcher(model)
        batcher.start()
        try:
            with pytest.raises(TimeoutError):
                await batcher.score(["a"], None, False, 0.05)
        finally:
            model.gate.set()
            await batcher.stop()

    asyncio.run(run())
