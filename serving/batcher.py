"""Micro-batcher: gathers windows from concurrent requests into one backend call, fairly.

Worker threads (one per batch in flight, `engine.streams`) run padded batches; callers either
block on futures (`score`, for sync code and threads) or await them on the event loop
(`score_async`, the HTTP append path: no thread is held while a window waits for its batch).
Both share the lanes, deadlines and bounds. Invariants (docs/api.md "Load and fairness"):

- **Two lanes.** `stream` (appends, case explanations: small, interactive) and `bulk` (`/v1/score`).
  Whenever stream windows wait, the next batch is made of stream windows only; bulk windows run in
  batches of at most `bulk_batch_size`, so a stream window never waits behind more than one such
  batch, however large the bulk request.
- **Bulk is shared round-robin**: each batch takes one window from each waiting bulk request in
  turn, so a small `/v1/score` is not queued behind a maximal one.
- **Every window has a deadline** (`timeout_s` after its request arrived). The worker never runs
  an expired window; a caller whose deadline passes withdraws its remaining windows and gets
  `DeadlineExceeded`. A bulk request that the measured throughput says cannot finish in time is
  refused at once instead of occupying the model until its deadline.
- **Bounded**: each lane holds at most `max_queue` windows; a request that does not fit gets
  `QueueFull` at once (all or nothing) instead of letting memory grow. Both errors carry
  `retry_after_s`; the API answers 503 + Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

# Returns one calibrated risk per window (a list or a 1-D numpy array).
InferFn = Callable[[Sequence[Sequence[int]]], Any]
Lane = Literal["stream", "bulk"]
_EWMA = 0.2  # weight of the newest bulk batch in the seconds-per-window estimate


class Overloaded(RuntimeError):
    """The batcher cannot serve the request now; the client should retry after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class QueueFull(Overloaded):
    """The lane's queue cannot take the whole request now."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__("scoring queue is full", retry_after_s)


class DeadlineExceeded(Overloaded):
    """The request could not be (or, by the measured throughput, would not be) scored in time."""

    def __init__(self, timeout_s: float, retry_after_s: float) -> None:
        super().__init__(f"scoring could not finish within {timeout_s:g} s", retry_after_s)
        self.timeout_s = timeout_s


class BatcherClosed(RuntimeError):
    """The batcher is shutting down and accepts no new work."""


@dataclass
class _Item:
    window: Sequence[int]
    deadline: float
    future: Future[float] = field(default_factory=Future)


@dataclass
class _Request:
    """One caller's windows in one lane; `items` shrinks as the worker takes them."""

    lane: Lane
    items: deque[_Item]
    futures: list[Future[float]]


@dataclass
class BatcherStats:
    """Counters the tests and /metrics read (written by the workers under the batcher's stats lock)."""

    batches: int = 0
    windows: int = 0
    max_batch_seen: int = 0
    expired: int = 0  # windows dropped unrun because their deadline had passed
    batch_sizes: list[int] = field(default_factory=list)
    batch_lanes: list[Lane] = field(default_factory=list)


class MicroBatcher:
    def __init__(
        self,
        infer: InferFn,
        max_batch_size: int = 32,
        max_delay_ms: float = 5.0,
        max_queue: int = 1024,
        retry_after_s: float = 1.0,
        on_batch: Callable[[int, float], None] | None = None,
        keep_batch_sizes: int = 1000,
        bulk_batch_size: int | None = None,
        timeout_s: float | None = None,
        workers: int = 1,
    ) -> None:
        if max_batch_size < 1 or max_queue < 1 or (bulk_batch_size is not None and bulk_batch_size < 1):
            raise ValueError("max_batch_size, bulk_batch_size and max_queue must be >= 1")
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self._infer = infer
        self.max_batch_size = max_batch_size
        self.bulk_batch_size = min(bulk_batch_size or max_batch_size, max_batch_size)
        self.max_delay_s = max_delay_ms / 1000.0
        self.max_queue = max_queue
        self.retry_after_s = retry_after_s
        self.timeout_s = timeout_s  # default deadline of `score` (None: wait forever)
        self._on_batch = on_batch
        self._keep = keep_batch_sizes
        self._stream: deque[_Item] = deque()
        self._bulk: deque[_Request] = deque()  # round-robin over bulk requests
        self._bulk_depth = 0
        self._seconds_per_window: float | None = None  # EWMA over bulk batches
        self._cond = threading.Condition()
        self._closed = False
        self.stats = BatcherStats()
        self._stats_lock = threading.Lock()
        # One thread per batch in flight (engine.streams): each takes the next batch as soon as its
        # own is done, so a backend that runs calls in parallel gets them in parallel.
        self.workers = workers
        self._workers = [threading.Thread(target=self._run, name=f"groomguard-batcher-{i}", daemon=True)
                         for i in range(workers)]
        for worker in self._workers:
            worker.start()

    # -- callers ---------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Windows waiting in both lanes (not yet taken by the worker)."""
        return len(self._stream) + self._bulk_depth

    def submit(self, windows: Sequence[Sequence[int]], lane: Lane = "stream",
               deadline: float = math.inf) -> list[Future[float]]:
        """Enqueue all windows or none (raises QueueFull / DeadlineExceeded / BatcherClosed).
        `deadline` is a `time.monotonic()` instant."""
        return self._enqueue(windows, lane, deadline, math.inf).futures

    def score(self, windows: Sequence[Sequence[int]], timeout: float | None = None,
              lane: Lane = "stream") -> list[float]:
        """Calibrated risks for `windows`, in order, within `timeout` seconds (default: the
        batcher's `timeout_s`) or `DeadlineExceeded`. Requests larger than a lane's queue are fed
        in queue-sized chunks, all under the one deadline."""
        budget, deadline = self._deadline(timeout)
        out: list[float] = []
        for start in range(0, len(windows), self.max_queue):
            request = self._enqueue(windows[start : start + self.max_queue], lane, deadline, budget)
            with self._withdrawn_on_failure(request, budget):
                for f in request.futures:
                    left = deadline - time.monotonic()
                    out.append(f.result() if left == math.inf else f.result(timeout=max(0.0, left)))
        return out

    __call__ = score  # a MicroBatcher is a WindowScorer (stream lane)

    async def score_async(self, windows: Sequence[Sequence[int]], timeout: float | None = None,
                          lane: Lane = "stream") -> list[float]:
        """`score` for coroutines: the same lanes, deadline and errors, awaited instead of blocking.
        A cancelled caller (client gone) withdraws its windows like one whose deadline passed."""
        budget, deadline = self._deadline(timeout)
        out: list[float] = []
        for start in range(0, len(windows), self.max_queue):
            request = self._enqueue(windows[start : start + self.max_queue], lane, deadline, budget)
            with self._withdrawn_on_failure(request, budget):
                waiting = asyncio.gather(*(asyncio.wrap_future(f) for f in request.futures))
                left = deadline - time.monotonic()
                out.extend(await (waiting if left == math.inf else asyncio.wait_for(waiting, max(0.0, left))))
        return out

    def _deadline(self, timeout: float | None) -> tuple[float, float]:
        """(budget in seconds, `time.monotonic()` deadline) for one call; None = the batcher's timeout_s."""
        timeout = self.timeout_s if timeout is None else timeout
        budget = math.inf if timeout is None else timeout
        return budget, time.monotonic() + budget

    @contextlib.contextmanager
    def _withdrawn_on_failure(self, request: _Request, budget: float) -> Iterator[None]:
        """A caller that stops waiting (deadline, cancellation, any error) takes its windows back;
        waiting too long, or the worker finding them expired, is `DeadlineExceeded`."""
        try:
            yield
        except (FutureTimeout, asyncio.TimeoutError, DeadlineExceeded):
            self._withdraw(request)
            raise DeadlineExceeded(budget, self.retry_after_s) from None
        except BaseException:
            self._withdraw(request)
            raise

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop accepting work, let the worker drain what is queued, join it."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for worker in self._workers:
            worker.join(timeout)

    def _enqueue(self, windows: Sequence[Sequence[int]], lane: Lane, deadline: float,
                 budget: float) -> _Request:
        items = deque(_Item(w, deadline) for w in windows)
        request = _Request(lane, items, [it.future for it in items])
        with self._cond:
            if self._closed:
                raise BatcherClosed("scoring is shutting down")
            waiting = len(self._stream) if lane == "stream" else self._bulk_depth
            if waiting + len(items) > self.max_queue:
                raise QueueFull(self.retry_after_s)
            if lane == "stream":
                self._stream.extend(items)
            else:
                spw = self._seconds_per_window
                # Round-robin: this request finishes no later than everything queued now plus itself
                # (the workers share the queue; `spw` is one worker's seconds per window).
                if spw is not None and (time.monotonic() + (self._bulk_depth + len(items)) * spw / self.workers
                                        > deadline):
                    raise DeadlineExceeded(budget, self.retry_after_s)
                if items:
                    self._bulk.append(request)
                    self._bulk_depth += len(items)
            self._cond.notify()
        return request

    def _withdraw(self, request: _Request) -> None:
        """The caller gave up: its windows not yet running are removed and never run."""
        with self._cond:
            if request.lane == "bulk" and request in self._bulk:
                self._bulk.remove(request)
                self._bulk_depth -= len(request.items)
                request.items.clear()
        for f in request.futures:
            f.cancel()  # no-op for windows already running or done; stream ones are skipped unrun

    # -- worker ----------------------------------------------------------------------------
    def _take_batch(self) -> tuple[Lane, list[_Item]] | None:
        with self._cond:
            while not self._stream and not self._bulk:
                if self._closed:
                    return None
                self._cond.wait()
            until = time.monotonic() + self.max_delay_s
            while (len(self._stream) < self.max_batch_size and self._bulk_depth < self.bulk_batch_size
                   and not self._closed):
                left = until - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            if self._stream:
                n = min(self.max_batch_size, len(self._stream))
                return "stream", [self._stream.popleft() for _ in range(n)]
            batch: list[_Item] = []
            while self._bulk and len(batch) < self.bulk_batch_size:
                request = self._bulk[0]
                batch.append(request.items.popleft())
                self._bulk_depth -= 1
                if request.items:
                    self._bulk.rotate(-1)
                else:
                    self._bulk.popleft()
            return "bulk", batch

    def _live(self, batch: list[_Item]) -> list[_Item]:
        """Items still wanted and still in time; expired ones fail without running."""
        now = time.monotonic()
        live = []
        for it in batch:
            if not it.future.set_running_or_notify_cancel():
                continue
            if it.deadline < now:
                with self._stats_lock:
                    self.stats.expired += 1
                it.future.set_exception(DeadlineExceeded(0.0, self.retry_after_s))
                continue
            live.append(it)
        return live

    def _run(self) -> None:
        while True:
            taken = self._take_batch()
            if taken is None:
                return
            lane, batch = taken
            live = self._live(batch)
            if not live:
                continue
            started = time.perf_counter()
            try:
                risks = self._infer([it.window for it in live])
                if len(risks) != len(live):
                    raise RuntimeError(f"backend returned {len(risks)} risks for {len(live)} windows")
            except BaseException as exc:  # every waiting caller gets the failure, the worker lives on
                for it in live:
                    it.future.set_exception(exc)
                continue
            for it, r in zip(live, risks, strict=True):
                it.future.set_result(float(r))
            self._record(lane, len(live), time.perf_counter() - started)

    def _record(self, lane: Lane, size: int, seconds: float) -> None:
        with self._stats_lock:
            self._record_locked(lane, size, seconds)
        if self._on_batch is not None:
            try:
                self._on_batch(size, seconds)
            except Exception:  # metrics must never break scoring
                log.exception("batch metrics hook failed")

    def _record_locked(self, lane: Lane, size: int, seconds: float) -> None:
        s = self.stats
        s.batches += 1
        s.windows += size
        s.max_batch_seen = max(s.max_batch_seen, size)
        s.batch_sizes.append(size)
        s.batch_lanes.append(lane)
        if len(s.batch_sizes) > self._keep:
            del s.batch_sizes[: len(s.batch_sizes) - self._keep]
            del s.batch_lanes[: len(s.batch_lanes) - self._keep]
        if lane == "bulk":
            spw = seconds / size
            prev = self._seconds_per_window
            self._seconds_per_window = spw if prev is None else (1 - _EWMA) * prev + _EWMA * spw
