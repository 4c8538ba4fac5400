"""The one sort-by-length / pad / run loop (training export, fp16 parity, serving engine, benchmarks).

Why one: the three copies differed in small ways (output dtype, when progress was reported), and
throughput numbers are only comparable when every path batches the same way. Windows are sorted by
length (unless the caller needs its own order, e.g. the export parity check mixes lengths on
purpose) so each right-padded batch pads to similar lengths; results come back in input order.

Why a timeout (`timeout_s`, `engine.infer_timeout_s`): a model call that never returns (issue 22:
OpenVINO at two streams froze `groomguard score` for good, every thread on a futex) must become an
error the CLI reports in one line, never a process that waits forever. Python cannot interrupt a
thread stuck in native code, so with a timeout the batches run on daemon threads and the caller
waits for them with a deadline; a stuck thread is abandoned (it cannot block interpreter exit).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Generator, Sequence

import numpy as np

from groomguard.errors import GroomguardError
from groomguard.windowing import Batch, pad_batch

BatchFn = Callable[[Batch], np.ndarray]


class InferTimeout(GroomguardError):
    """A model call did not return within the configured time: the backend is stuck.

    A GroomguardError so `groomguard score` / `evaluate` exit with their error code and one line."""

    def __init__(self, timeout_s: float, what: str = "a model call") -> None:
        super().__init__(f"{what} did not return within {timeout_s:g} s (engine.infer_timeout_s): "
                         "the model backend is stuck")
        self.timeout_s = timeout_s
        self.what = what

    def __reduce__(self) -> tuple[type[InferTimeout], tuple[float, str]]:
        # Rebuilt from its own arguments, not the message, when pickled (a Ray backfill actor's error
        # travels to the driver this way).
        return type(self), (self.timeout_s, self.what)


def run_batches(windows: Sequence[Sequence[int]], pad_id: int, batch_size: int, infer: BatchFn, *,
                sort: bool = True, progress: Callable[[int], None] | None = None, concurrency: int = 1,
                timeout_s: float | None = None) -> np.ndarray:
    """Apply `infer` to right-padded batches of `windows`; row i of the result belongs to window i.

    `infer` returns one row (or scalar) per window of the batch; the result is float64 with the
    per-window shape of the first answer. An empty `windows` gives an empty float64 array.
    `concurrency` > 1 keeps that many batches in flight (threads), for backends that run several
    calls in parallel (OpenVINO streams, `engine.streams`); the result does not depend on it.
    `timeout_s`: a batch that has not returned this long after it started raises `InferTimeout`
    (None: wait as long as it takes, the training paths' behaviour).
    """
    if batch_size < 1 or concurrency < 1:
        raise ValueError("batch_size and concurrency must be at least 1")
    if timeout_s is not None and timeout_s <= 0:
        raise ValueError("timeout_s must be positive")
    order = sorted(range(len(windows)), key=lambda i: len(windows[i])) if sort else list(range(len(windows)))
    chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

    def one(idx: list[int]) -> np.ndarray:
        got = np.asarray(infer(pad_batch([windows[i] for i in idx], pad_id)), dtype=np.float64)
        if got.shape[:1] != (len(idx),):
            raise ValueError(f"batch function returned {got.shape[:1]} rows for a batch of {len(idx)}")
        return got

    # Sequential without a timeout: the caller's own thread, one batch in memory at a time.
    results = ((idx, one(idx)) for idx in chunks) if concurrency == 1 and timeout_s is None \
        else _threaded(chunks, one, concurrency, timeout_s)
    out: np.ndarray | None = None
    try:
        for idx, got in results:
            if out is None:
                out = np.zeros((len(windows), *got.shape[1:]), dtype=np.float64)
            out[idx] = got
            if progress is not None:
                progress(len(idx))
    finally:
        results.close()  # on an error too: the batch threads are told to stop now, not at garbage collection
    return out if out is not None else np.zeros(0, dtype=np.float64)


def _threaded(chunks: list[list[int]], one: Callable[[list[int]], np.ndarray], concurrency: int,
              timeout_s: float | None) -> Generator[tuple[list[int], np.ndarray], None, None]:
    """Batches on `concurrency` daemon threads, yielded as they finish, each under its own deadline.

    Why not ThreadPoolExecutor: its workers are joined at interpreter exit (and by `with`), so one
    stuck in native code would still freeze the process after the timeout fired. Why exactly
    `concurrency` batches in flight: each is handed over when a thread is free, so it starts when it
    is submitted and its deadline (submission + timeout_s) measures the call itself, not time queued
    behind others. Results are taken in completion order, so a thread that finishes gets its next
    batch at once instead of idling behind a slower batch (the other stream).
    """
    tasks: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    done: queue.SimpleQueue[tuple[int, np.ndarray | None, BaseException | None]] = queue.SimpleQueue()

    def work() -> None:
        while (k := tasks.get()) is not None:
            try:
                done.put((k, one(chunks[k]), None))
            except BaseException as exc:  # handed to the caller's thread, which raises it
                done.put((k, None, exc))

    threads = [threading.Thread(target=work, name=f"groomguard-batch-{i}", daemon=True)
               for i in range(min(concurrency, len(chunks)))]
    deadlines: dict[int, float] = {}  # chunk number -> time.monotonic() deadline, for batches in flight
    upcoming = iter(range(len(chunks)))

    def submit() -> None:
        k = next(upcoming, None)
        if k is not None:
            deadlines[k] = time.monotonic() + (timeout_s if timeout_s is not None else math.inf)
            tasks.put(k)

    for t in threads:
        t.start()
    try:
        for _ in threads:
            submit()
        while deadlines:
            try:
                if timeout_s is None:
                    k, got, exc = done.get()
                else:
                    k, got, exc = done.get(timeout=max(0.0, min(deadlines.values()) - time.monotonic()))
            except queue.Empty:
                assert timeout_s is not None
                raise InferTimeout(timeout_s) from None
            del deadlines[k]
            if exc is not None:
                raise exc
            assert got is not None
            submit()  # before yielding: the free thread starts its next batch while the caller stores this one
            yield chunks[k], got
    finally:
        for _ in threads:  # idle threads exit; one stuck in a call is abandoned (a daemon: exit does not wait)
            tasks.put(None)
        if not deadlines:
            # All batches are back, so every thread is idle: join them, so that what they reference (the
            # engine, its backend) is released here and not by a daemon thread that ends later, possibly
            # during interpreter shutdown (where native destructors that take the GIL abort the process).
            for t in threads:
                t.join()
