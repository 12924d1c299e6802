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
        self.given_prepared: list[bool] = []  # per batch: its own preparations, or bare texts

    def prepare(self, texts: Sequence[str]) -> Prepared:
        self.gate.wait(10)
        return Prepared(list(texts), None, [], self)  # type: ignore[arg-type]

    def score(self, work: Prepared | list[str], threshold: object, *, explain: bool) -> list[str]:
        self.given_prepared.append(isinstance(work, Prepared))
        texts = work.texts if isinstance(work, Prepared) else work
        self.batches.append(texts)
        return list(texts)


def _batcher(model: _EchoModel, queue_max_messages: int = 100) -> MicroBatcher:
    return _batcher_of(lambda: model, queue_max_messages)


def _batcher_of(model: object, queue_max_messages: int = 100) -> MicroBatcher:
    return MicroBatcher(
        model,  # type: ignore[arg-type]
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
    assert model.given_prepared == [True, True]


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


def test_requests_prepared_before_a_reload_are_scored_by_the_new_model() -> None:
    old, new = _EchoModel(), _EchoModel()
    old.gate.set()
    new.gate.set()
    current = [old]

    async def run() -> list[str]:
        batcher = _batcher_of(lambda: current[0])
        batcher.start()
        try:
            pending = asyncio.ensure_future(batcher.score(["a"], None, False, 5))
            await asyncio.sleep(0.01)  # prepared by the old model, still waiting for company
            current[0] = new
            return await pending  # type: ignore[no-any-return]
        finally:
            await batcher.stop()

    assert asyncio.run(run()) == ["a"]
    assert new.batches == [["a"]] and old.batches == []
    assert new.given_prepared == [False]  # the old model's preparation is not trusted
