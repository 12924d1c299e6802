"""Micro-batching: concurrent requests share forward passes, behind a bounded queue.

Each request is first prepared (normalised and tokenised) on a thread of its own, so that work
overlaps the batch on the network instead of delaying the next one. Prepared requests wait at
most ``max_wait_s`` for company; a batch takes up to ``max_messages`` messages of requests that
ask for the same threshold and explanation setting. When the queue (messages being prepared or
waiting) holds ``queue_max_messages`` the next request is refused (``QueueFullError`` -> 503), so
memory is bounded however many callers there are. Scoring runs in one worker thread, off the
event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from flagger.api.metrics import ServiceMetrics
from flagger.model import Flagger, Prepared
from flagger.results import ScoreResult


class QueueFullError(Exception):
    """The batcher holds as many messages as it may; try again shortly."""


@dataclass
class _Job:
    prepared: Prepared
    key: tuple[Any, bool]  # (threshold, explain): jobs share a pass only when these agree
    future: asyncio.Future[list[ScoreResult]]
    enqueued: float = field(default_factory=time.monotonic)


class MicroBatcher:
    """Gathers scoring requests into shared batches."""

    def __init__(
        self,
        model: Callable[[], Flagger],
        metrics: ServiceMetrics,
        *,
        max_messages: int,
        max_wait_s: float,
        queue_max_messages: int,
    ) -> None:
        self._model = model
        self._metrics = metrics
        self.max_messages, self.max_wait_s = max_messages, max_wait_s
        self.queue_max_messages = queue_max_messages
        self._jobs: deque[_Job] = deque()
        self._queued = 0  # messages waiting for a batch
        self._preparing = 0  # messages being prepared
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flagger-score")
        self._preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flagger-prepare")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the batching loop on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop and the worker thread."""
        if self._task is not None:
            self._task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._preparer.shutdown(wait=False, cancel_futures=True)

    async def run(self, call: Callable[[], Any]) -> Any:
        """Run other model work (warm-up, reload) on the scoring thread, in turn."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def score(
        self, texts: list[str], threshold: str | float | None, explain: bool, timeout: float
    ) -> list[ScoreResult]:
        """Score texts in a shared batch.

        Raises:
            QueueFullError: when accepting them would exceed the queue bound.
            TimeoutError: when they are not scored within ``timeout`` seconds.
        """
        count = len(texts)
        if self._queued + self._preparing + count > self.queue_max_messages:
            raise QueueFullError
        loop = asyncio.get_running_loop()
        job = None
        self._preparing += count
        try:
            async with asyncio.timeout(timeout):
                try:
                    prepare = self._model().prepare
                    prepared = await loop.run_in_executor(self._preparer, prepare, texts)
                finally:
                    self._preparing -= count
                job = _Job(prepared, (threshold, explain), loop.create_future())
                self._jobs.append(job)
                self._queued += count
                self._metrics.queue_depth.set(self._queued)
                self._wakeup.set()
                return await asyncio.shield(job.future)
        except TimeoutError:
            if job is not None:
                job.future.cancel()  # if it has not started, it is dropped unscored
            raise

    def _take(self) -> list[_Job]:
        first = self._jobs.popleft()
        taken, count = [first], len(first.prepared.texts)
        kept: deque[_Job] = deque()
        while self._jobs:
            job = self._jobs.popleft()
            size = len(job.prepared.texts)
            if job.key == first.key and count + size <= self.max_messages:
                taken.append(job)
                count += size
            else:
                kept.append(job)
        self._jobs.extendleft(reversed(kept))
        return taken

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            if not self._jobs:
                self._wakeup.clear()
                continue
            waited = time.monotonic() - self._jobs[0].enqueued
            if waited < self.max_wait_s and self._queued < self.max_messages:
                await asyncio.sleep(self.max_wait_s - waited)
            jobs = [job for job in self._take() if not job.future.cancelled()]
            self._queued = sum(len(j.prepared.texts) for j in self._jobs)
            self._metrics.queue_depth.set(self._queued)
            if not jobs:
                continue
            started = time.monotonic()
            for job in jobs:
                self._metrics.queue_wait.observe(started - job.enqueued)
            flagger = self._model()
            prepared = [job.prepared for job in jobs]
            work: Prepared | list[str] = (
                Prepared.join(prepared)
                if all(p.model is flagger for p in prepared)
                else [t for p in prepared for t in p.texts]  # a reload came between them
            )
            threshold, explain = jobs[0].key
            self._metrics.batch_size.observe(sum(len(p.texts) for p in prepared))
            try:
                results = await loop.run_in_executor(
                    self._executor, partial(flagger.score, work, threshold, explain=explain)
                )
            except Exception as exc:  # hand the failure to every waiting request
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            self._metrics.batch_seconds.observe(time.monotonic() - started)
            offset = 0
            for job in jobs:
                part = results[offset : offset + len(job.prepared.texts)]
                offset += len(job.prepared.texts)
                if not job.future.done():
                    job.future.set_result(part)
