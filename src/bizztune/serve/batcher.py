"""Dynamic micro-batching: concurrent requests share forward passes, one thread owns the model.

    batcher = Batcher(provider, schema, max_batch=16, max_wait_s=0.01, max_queue=256)
    batcher.start()
    completions = await batcher.submit(requests)   # from any asyncio task
    batcher.stop()                                 # finishes what was submitted, then returns

The worker takes the oldest job, then waits up to ``max_wait_s`` for more jobs until the
batch holds ``max_batch`` items, and hands the whole batch to ``provider.complete`` in one
call: the local providers run it as one padded batch over the shared prompt prefix
(``providers/local/hf.py``), which is where the speed-up comes from. A job is never split, so
one /v1/classify request of many tickets may be larger than ``max_batch``; the provider then
cuts it into batches of its own ``batch_size`` (set to ``max_batch``).

Capacity counts items, waiting or running: ``submit`` raises ``Overloaded`` at once when the
job would take it over ``max_queue`` (the HTTP layer answers 429), and ``Closed`` once
``stop`` was called (503).

One client's request never fails another's: when the model fails on a micro-batch, each of
its jobs is answered again on its own. A job that still fails while others of the batch are
answered gets ``BadItem`` (its input is what the model could not take: 400); when no job can
be answered, or the job was alone, each gets ``ModelFailed`` (500). The HTTP layer refuses
every input it knows the model cannot read before it is queued (``bodies.parse_json``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bizztune.core.interfaces import Completion, Provider, Request, Schema

log = logging.getLogger("bizztune.serve")


class Overloaded(Exception):
    """The queue has no room for the job."""


class Closed(Exception):
    """The server is shutting down."""


class BadItem(Exception):
    """The model failed on this request alone, and answered the others of its batch."""


class ModelFailed(RuntimeError):
    """The model failed on every request it was given."""


@dataclass
class _Job:
    requests: Sequence[Request]
    future: asyncio.Future[list[Completion]]
    loop: asyncio.AbstractEventLoop
    queued_at: float = field(default_factory=time.perf_counter)


@dataclass
class BatchStats:
    batches: int = 0
    items: int = 0
    largest: int = 0
    failed_batches: int = 0
    """Micro-batches the model failed on as a whole (their jobs were then tried one by one)."""
    failed_items: int = 0
    """Items answered with an error (BadItem or ModelFailed)."""


class Batcher:
    def __init__(
        self,
        provider: Provider,
        schema: Schema,
        *,
        max_batch: int,
        max_wait_s: float,
        max_queue: int,
    ) -> None:
        self.provider = provider
        self.schema = schema
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self.stats = BatchStats()
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="bizztune-serve-worker")

    @property
    def pending(self) -> int:
        """Items submitted and not answered yet."""
        with self._lock:
            return self._pending

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> None:
        """Refuse new jobs, answer the ones already queued, then end the worker."""
        with self._lock:
            self._closed = True
        self._jobs.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    async def submit(self, requests: Sequence[Request]) -> list[Completion]:
        """The completions of ``requests``, in their order."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._closed:
                raise Closed("the server is shutting down")
            if self._pending + len(requests) > self.max_queue:
                raise Overloaded(
                    f"the queue is full ({self._pending} of {self.max_queue} items waiting or "
                    f"running); retry later"
                )
            self._pending += len(requests)
        job = _Job(requests, loop.create_future(), loop)
        self._jobs.put(job)
        # shield: a client that disconnects must not cancel a batch other clients share
        return await asyncio.shield(job.future)

    # -- the worker thread -----------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._jobs.get()
            if first is None:
                break
            batch = [first]
            n = len(first.requests)
            deadline = time.perf_counter() + self.max_wait_s
            while n < self.max_batch:
                left = deadline - time.perf_counter()
                try:
                    job = self._jobs.get(timeout=left) if left > 0 else self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True  # answer this batch, then end
                    break
                batch.append(job)
                n += len(job.requests)
            self._answer(batch, n)
        # Jobs that raced with stop(): answer them too, nothing submitted is dropped.
        rest: list[_Job] = []
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                rest.append(job)
        if rest:
            self._answer(rest, sum(len(j.requests) for j in rest))

    def _answer(self, batch: list[_Job], n: int) -> None:
        t0 = time.perf_counter()
        got, errors = self._complete(batch, n)
        dt = time.perf_counter() - t0
        with self._lock:
            self._pending -= n
            self.stats.batches += 1
            self.stats.items += n
            self.stats.largest = max(self.stats.largest, n)
            self.stats.failed_items += sum(len(batch[i].requests) for i in errors)
        log.debug("micro-batch: %d requests, %d items, %.1f ms", len(batch), n, dt * 1000)
        for i, job in enumerate(batch):
            if i in errors:
                _resolve(job, exc=errors[i])
                continue
            missing = [r.id for r in job.requests if r.id not in got]
            if missing:
                _resolve(job, exc=ModelFailed(f"the model gave no answer for {missing[0]}"))
            else:
                _resolve(job, result=[got[r.id] for r in job.requests])

    def _complete(
        self, batch: list[_Job], n: int
    ) -> tuple[dict[str, Completion], dict[int, Exception]]:
        """Every job's completions, and an error per job (by index) that got none. A failed
        micro-batch is retried job by job, so one job's input fails that job alone."""
        try:
            reqs = [r for job in batch for r in job.requests]
            return {c.request_id: c for c in self.provider.complete(reqs, self.schema)}, {}
        except Exception as e:  # one bad batch must not end the worker
            first: Exception = e
            log.warning("micro-batch of %d items failed (%s)", n, type(e).__name__)
        with self._lock:
            self.stats.failed_batches += 1
        if len(batch) == 1:
            return {}, {0: ModelFailed(f"the model failed on this request: {first}")}
        got: dict[str, Completion] = {}
        failed: dict[int, Exception] = {}
        for i, job in enumerate(batch):
            try:
                got.update(
                    {c.request_id: c for c in self.provider.complete(job.requests, self.schema)}
                )
            except Exception as e:
                failed[i] = e
        if len(failed) == len(batch):
            return {}, {
                i: ModelFailed(f"the model failed on this batch: {e}") for i, e in failed.items()
            }
        alone = "the model could not answer this request (it answered the others of its batch)"
        return got, {i: BadItem(f"{alone}: {e}") for i, e in failed.items()}


def _resolve(job: _Job, result: Any = None, exc: BaseException | None = None) -> None:
    def settle() -> None:
        if job.future.done():  # the client went away
            return
        if exc is not None:
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)

    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for the answer
        job.loop.call_soon_threadsafe(settle)
