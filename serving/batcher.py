"""Micro-batcher: gathers windows from concurrent requests into one backend call, fairly.

Worker threads (one per batch in flight, `engine.streams`) run padded batches; callers either
block on futures (`score`, for sync code and threads) or await them on the event loop
(`score_async`, the HTTP append path: no thread is held while a window waits for its batch).
Both share the lanes, deadlines and bounds. Invariants (docs/api.md "Load and fairness"):

- **Two lanes.** `stream` (appends, case explanations: small, interactive) and `bulk` (`/v1/score`).
  Whenever stream windows wait, the next batch is made of stream windows only, except that every
  `bulk_turn_every`-th batch taken while both lanes wait goes to bulk: a saturated append lane slows
  `/v1/score` down but cannot starve it to its deadline. Bulk windows run in batches of at most
  `bulk_batch_size`, so a stream window never waits behind more than one such batch (per worker),
  however large the bulk request.
- **Bulk is shared round-robin**: each batch takes one window from each waiting bulk request in
  turn, so a small `/v1/score` is not queued behind a maximal one.
- **Every window has a deadline** (`timeout_s` after its request arrived). The worker never runs
  an expired window; a caller whose deadline passes withdraws its remaining windows and gets
  `DeadlineExceeded`. A bulk request that the measured throughput says cannot finish in time is
  refused at once instead of occupying the model until its deadline.
- **Bounded**: each lane holds at most `max_queue` windows; a request that does not fit gets
  `QueueFull` at once (all or nothing) instead of letting memory grow. Both errors carry
  `retry_after_s`; the API answers 503 + Retry-After.
- **No silent freeze** (`infer_timeout_s`, `engine.infer_timeout_s`): a backend call that has not
  returned in time fails its callers with `BackendStuck` (a BackendUnavailable: 503) instead of
  leaving them waiting, the batcher reports unhealthy (`/readyz` 503) until the call returns, and
  a replacement worker takes over the stuck one's place (Python cannot interrupt a thread stuck in
  native code, so the stuck thread is left to return or not). Replacements stop once `workers` calls
  are stuck at once (at most twice `workers` threads in all: more would only get stuck too); when no
  worker is left, queued work fails and new work is refused with `BackendStuck` at once, until a
  stuck call comes back and its thread serves again.
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

from groomguard.serving.backends.base import BackendUnavailable

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


class BackendStuck(BackendUnavailable):
    """A model call did not return within `infer_timeout_s` (or every worker is stuck in one)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"a model call did not return within {timeout_s:g} s (engine.infer_timeout_s)")
        self.timeout_s = timeout_s

    def __reduce__(self) -> tuple[type[BackendStuck], tuple[float]]:
        return type(self), (self.timeout_s,)  # pickled from its argument, not its message


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
class _Slot:
    """One worker thread and the backend call it is in, if any (read by the stuck-call watchdog)."""

    thread: threading.Thread | None = None
    started: float | None = None  # time.monotonic() when the current backend call began
    batch: list[_Item] = field(default_factory=list)
    lost: bool = False  # the watchdog failed this call's futures: its result, if it ever comes, is dropped


@dataclass
class BatcherStats:
    """Counters the tests and /metrics read (written by the workers under the batcher's stats lock)."""

    batches: int = 0
    windows: int = 0
    max_batch_seen: int = 0
    expired: int = 0  # windows dropped unrun because their deadline had passed
    stuck_calls: int = 0  # backend calls given up after infer_timeout_s (since start)
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
        infer_timeout_s: float | None = None,
        bulk_turn_every: int | None = None,
    ) -> None:
        if max_batch_size < 1 or max_queue < 1 or (bulk_batch_size is not None and bulk_batch_size < 1):
            raise ValueError("max_batch_size, bulk_batch_size and max_queue must be >= 1")
        if workers < 1:
            raise ValueError("workers must be >= 1")
        if bulk_turn_every is not None and bulk_turn_every < 2:
            raise ValueError("bulk_turn_every must be >= 2 (None: appends always first)")
        if infer_timeout_s is not None and infer_timeout_s <= 0:
            raise ValueError("infer_timeout_s must be positive")
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
        self.bulk_turn_every = bulk_turn_every  # None: strict priority (bulk runs only when no append waits)
        self._stream_turns = 0  # stream batches taken in a row while bulk windows waited
        self._seconds_per_window: float | None = None  # EWMA over bulk batches
        self._cond = threading.Condition()
        self._closed = False
        self.stats = BatcherStats()
        self._stats_lock = threading.Lock()
        # One thread per batch in flight (engine.streams): each takes the next batch as soon as its
        # own is done, so a backend that runs calls in parallel gets them in parallel.
        self.workers = workers
        self.infer_timeout_s = infer_timeout_s  # None: a backend call may take forever (no watchdog)
        self._slots: list[_Slot] = []  # guarded by _cond, like the counts below
        self._active = 0  # workers not lost in a stuck call
        self._stuck = 0  # calls given up on that have not returned yet
        self._started_threads = 0
        with self._cond:
            for _ in range(workers):
                self._start_worker()
        self._stop_watch = threading.Event()
        self._watchdog: threading.Thread | None = None
        if infer_timeout_s is not None:
            self._watchdog = threading.Thread(target=self._watch, name="groomguard-batcher-watchdog", daemon=True)
            self._watchdog.start()

    # -- callers ---------------------------------------------------------------------------
    @property
    def healthy(self) -> bool:
        """False while a backend call is stuck past `infer_timeout_s` or no worker is left (/readyz)."""
        with self._cond:
            return self._stuck == 0 and self._active > 0

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
        """Stop accepting work, let the workers drain what is queued, join them (not those already
        known to be stuck in a backend call: they may never return)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            slots = list(self._slots)
        for slot in slots:
            if slot.thread is not None and not slot.lost:
                slot.thread.join(timeout)
        self._stop_watch.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout)

    def _enqueue(self, windows: Sequence[Sequence[int]], lane: Lane, deadline: float,
                 budget: float) -> _Request:
        items = deque(_Item(w, deadline) for w in windows)
        request = _Request(lane, items, [it.future for it in items])
        with self._cond:
            if self._closed:
                raise BatcherClosed("scoring is shutting down")
            if self._active == 0 and self.infer_timeout_s is not None:  # every worker is stuck in the backend
                raise BackendStuck(self.infer_timeout_s)
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
            bulk_turn = (bool(self._bulk) and self.bulk_turn_every is not None
                         and self._stream_turns >= self.bulk_turn_every - 1)
            if self._stream and not bulk_turn:
                self._stream_turns += 1 if self._bulk else 0
                n = min(self.max_batch_size, len(self._stream))
                return "stream", [self._stream.popleft() for _ in range(n)]
            self._stream_turns = 0
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

    def _start_worker(self) -> None:
        """A new worker thread with its own slot (caller holds `_cond`)."""
        slot = _Slot()
        name = f"groomguard-batcher-{self._started_threads}"
        slot.thread = threading.Thread(target=self._run, args=(slot,), name=name, daemon=True)
        self._started_threads += 1
        self._slots.append(slot)
        self._active += 1
        slot.thread.start()

    def _run(self, slot: _Slot) -> None:
        while True:
            taken = self._take_batch()
            if taken is None:
                return
            lane, batch = taken
            live = self._live(batch)
            if not live:
                continue
            started = time.perf_counter()
            with self._cond:  # from here the watchdog may give up on this call
                slot.started, slot.batch = time.monotonic(), live
            try:
                risks = self._infer([it.window for it in live])
                if len(risks) != len(live):
                    raise RuntimeError(f"backend returned {len(risks)} risks for {len(live)} windows")
            except BaseException as exc:  # every waiting caller gets the failure, the worker lives on
                outcome = self._finish(slot)
                if outcome == "deliver":
                    for it in live:
                        it.future.set_exception(exc)
                if outcome == "exit":
                    return
                continue
            outcome = self._finish(slot)
            if outcome == "exit":
                return
            if outcome == "rejoin":  # the callers were already failed; this late answer is dropped
                continue
            for it, r in zip(live, risks, strict=True):
                it.future.set_result(float(r))
            self._record(lane, len(live), time.perf_counter() - started)

    def _finish(self, slot: _Slot) -> Literal["deliver", "rejoin", "exit"]:
        """A backend call returned. Whoever marks the slot under the lock owns the futures: the
        worker delivers unless the watchdog already failed them (`lost`); a lost worker rejoins
        when a worker is missing, else its thread ends (its replacement is running)."""
        with self._cond:
            slot.started, slot.batch = None, []
            if not slot.lost:
                return "deliver"
            slot.lost = False
            self._stuck -= 1
            if self._active < self.workers and not self._closed:
                self._active += 1
                log.warning("a stuck model call returned after all; its worker serves again")
                return "rejoin"
            self._slots.remove(slot)
            log.warning("a stuck model call returned after all; its replacement serves in its place")
            return "exit"

    def _watch(self) -> None:
        """Every running call is given `infer_timeout_s`; past it, its callers fail with BackendStuck.

        Polling (a few times per timeout, at most once a second) instead of a timer per call keeps
        the hot path to two lock acquisitions per batch."""
        limit = self.infer_timeout_s
        assert limit is not None
        interval = min(max(limit / 10, 0.01), 1.0)
        while not self._stop_watch.wait(interval):
            failed: list[_Item] = []
            now = time.monotonic()
            with self._cond:
                for slot in self._slots:
                    if slot.started is None or slot.lost or now - slot.started <= limit:
                        continue
                    slot.lost = True
                    failed.extend(slot.batch)
                    self._stuck += 1
                    self._active -= 1
                    with self._stats_lock:
                        self.stats.stuck_calls += 1
                    # A replacement keeps the other streams serving; with `workers` calls stuck at
                    # once the backend is wedged and more threads would only get stuck too.
                    if self._stuck <= self.workers and not self._closed:
                        self._start_worker()
                    log.error("a model call did not return within %g s; %d call(s) stuck, %d worker(s) serving",
                              limit, self._stuck, self._active)
                if self._active == 0:  # nothing would ever run what is queued: fail it, refuse more
                    failed.extend(self._drain_queues())
            for it in failed:
                f = it.future
                if f.done() or (not f.running() and not f.set_running_or_notify_cancel()):
                    continue  # already answered, or a queued window its caller withdrew
                f.set_exception(BackendStuck(limit))

    def _drain_queues(self) -> list[_Item]:
        """Take every queued window out (caller holds `_cond`)."""
        items = list(self._stream)
        self._stream.clear()
        for request in self._bulk:
            items.extend(request.items)
            request.items.clear()
        self._bulk.clear()
        self._bulk_depth = 0
        return items

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
