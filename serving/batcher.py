"""Micro-batcher: gathers windows from concurrent requests into one backend call.

Sync FastAPI endpoints run in a thread pool, so the batcher is thread-based: callers block on
futures while one worker thread takes up to `max_batch_size` windows (waiting at most
`max_delay_ms` for more after the first one arrives) and runs them as a single padded batch.
The queue is bounded in windows: when a request does not fit, `QueueFull` is raised at once
(the API answers 503 + Retry-After) instead of letting memory grow under overload.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Returns one calibrated risk per window (a list or a 1-D numpy array).
InferFn = Callable[[Sequence[Sequence[int]]], Any]


class QueueFull(RuntimeError):
    """The batcher's queue cannot take the request now; retry after `retry_after_s`."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__("scoring queue is full")
        self.retry_after_s = retry_after_s


class BatcherClosed(RuntimeError):
    """The batcher is shutting down and accepts no new work."""


@dataclass
class _Item:
    window: Sequence[int]
    future: Future[float] = field(default_factory=Future)


@dataclass
class BatcherStats:
    """Counters the tests and /metrics read (the worker thread is the only writer)."""

    batches: int = 0
    windows: int = 0
    max_batch_seen: int = 0
    batch_sizes: list[int] = field(default_factory=list)


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
    ) -> None:
        if max_batch_size < 1 or max_queue < 1:
            raise ValueError("max_batch_size and max_queue must be >= 1")
        self._infer = infer
        self.max_batch_size = max_batch_size
        self.max_delay_s = max_delay_ms / 1000.0
        self.max_queue = max_queue
        self.retry_after_s = retry_after_s
        self._on_batch = on_batch
        self._keep = keep_batch_sizes
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.stats = BatcherStats()
        self._worker = threading.Thread(target=self._run, name="groomguard-batcher", daemon=True)
        self._worker.start()

    # -- callers ---------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Windows waiting (not yet taken by the worker)."""
        return len(self._queue)

    def submit(self, windows: Sequence[Sequence[int]]) -> list[Future[float]]:
        """Enqueue all windows or none (raises QueueFull / BatcherClosed)."""
        items = [_Item(w) for w in windows]
        with self._cond:
            if self._closed:
                raise BatcherClosed("scoring is shutting down")
            if len(self._queue) + len(items) > self.max_queue:
                raise QueueFull(self.retry_after_s)
            self._queue.extend(items)
            self._cond.notify()
        return [it.future for it in items]

    def score(self, windows: Sequence[Sequence[int]], timeout: float | None = None) -> list[float]:
        """Calibrated risks for `windows`, in order. Blocks until the batches holding them ran.

        Requests larger than the whole queue are fed in queue-sized chunks so a legitimate big
        request is slower rather than refused.
        """
        out: list[float] = []
        for start in range(0, len(windows), self.max_queue):
            futures = self.submit(windows[start : start + self.max_queue])
            out.extend(f.result(timeout=timeout) for f in futures)
        return out

    __call__ = score  # a MicroBatcher is a WindowScorer

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop accepting work, let the worker drain what is queued, join it."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._worker.join(timeout)

    # -- worker ----------------------------------------------------------------------------
    def _take_batch(self) -> list[_Item] | None:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            deadline = time.monotonic() + self.max_delay_s
            while len(self._queue) < self.max_batch_size and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            n = min(self.max_batch_size, len(self._queue))
            return [self._queue.popleft() for _ in range(n)]

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            live = [it for it in batch if it.future.set_running_or_notify_cancel()]
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
            self._record(len(live), time.perf_counter() - started)

    def _record(self, size: int, seconds: float) -> None:
        s = self.stats
        s.batches += 1
        s.windows += size
        s.max_batch_seen = max(s.max_batch_seen, size)
        s.batch_sizes.append(size)
        if len(s.batch_sizes) > self._keep:
            del s.batch_sizes[: len(s.batch_sizes) - self._keep]
        if self._on_batch is not None:
            try:
                self._on_batch(size, seconds)
            except Exception:  # metrics must never break scoring
                log.exception("batch metrics hook failed")
