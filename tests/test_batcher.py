"""Micro-batcher: batching under concurrency, result assignment, bounded queue, draining shutdown."""

from __future__ import annotations

import pickle
import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from groomguard.serving.backends.base import BackendUnavailable
from groomguard.serving.batcher import BatcherClosed, MicroBatcher, QueueFull


class SlowSum:
    """A deterministic 'model': risk = f(window) so assignment errors show up; records batch sizes."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.sizes: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, windows: Sequence[Sequence[int]]) -> list[float]:
        self.gate.wait()
        self.sizes.append(len(windows))
        time.sleep(self.delay_s)
        return [sum(w) / 1000.0 + len(w) for w in windows]


def expected(w: Sequence[int]) -> float:
    return sum(w) / 1000.0 + len(w)


def test_concurrent_callers_are_batched_and_get_their_own_results() -> None:
    model = SlowSum(delay_s=0.01)
    b = MicroBatcher(model, max_batch_size=8, max_delay_ms=20, max_queue=256)
    try:
        def call(i: int) -> tuple[list[list[int]], list[float]]:
            wins = [[i, j, i * j] for j in range(1 + i % 3)]
            return wins, b.score(wins)

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(call, range(64)))
        for wins, risks in results:
            assert risks == pytest.approx([expected(w) for w in wins])
        assert max(model.sizes) > 1, "no batching observed"
        assert max(model.sizes) <= 8
        assert sum(model.sizes) == sum(len(w) for w, _ in results)
        assert b.stats.max_batch_seen == max(model.sizes)
    finally:
        b.close()


def test_single_caller_waits_at_most_about_max_delay() -> None:
    b = MicroBatcher(SlowSum(), max_batch_size=32, max_delay_ms=30, max_queue=64)
    try:
        t0 = time.perf_counter()
        assert b.score([[1, 2]]) == pytest.approx([expected([1, 2])])
        assert time.perf_counter() - t0 < 1.0
    finally:
        b.close()


def test_full_queue_rejects_without_growing() -> None:
    model = SlowSum()
    model.gate.clear()  # the worker blocks inside the model: nothing drains
    b = MicroBatcher(model, max_batch_size=2, max_delay_ms=0, max_queue=10, retry_after_s=3)
    try:
        held = b.submit([[1]] * 2)  # taken by the worker, which then blocks
        time.sleep(0.05)
        queued = b.submit([[1]] * 10)
        assert b.depth == 10
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(2000):
            with pytest.raises(QueueFull) as info:
                b.submit([[1, 2, 3]])
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert info.value.retry_after_s == 3
        assert b.depth == 10
        assert after - before < 200_000  # rejected requests leave nothing behind
        model.gate.set()
        assert [f.result(5) for f in held + queued] == [expected([1])] * 12
    finally:
        model.gate.set()
        b.close()


def test_all_or_nothing_admission() -> None:
    model = SlowSum()
    model.gate.clear()
    b = MicroBatcher(model, max_batch_size=1, max_delay_ms=0, max_queue=4)
    try:
        b.submit([[0]])
        time.sleep(0.05)
        b.submit([[0]] * 3)
        with pytest.raises(QueueFull):
            b.submit([[0]] * 2)  # only one slot left: nothing of this request is queued
        assert b.depth == 3
    finally:
        model.gate.set()
        b.close()


def test_request_larger_than_queue_is_chunked_not_refused() -> None:
    b = MicroBatcher(SlowSum(), max_batch_size=4, max_delay_ms=1, max_queue=5)
    try:
        wins = [[i] for i in range(23)]
        assert b.score(wins) == pytest.approx([expected(w) for w in wins])
    finally:
        b.close()


def test_shutdown_drains_queued_work_then_refuses() -> None:
    model = SlowSum(delay_s=0.005)
    model.gate.clear()
    b = MicroBatcher(model, max_batch_size=3, max_delay_ms=0, max_queue=100)
    futures = b.submit([[i] for i in range(20)])
    model.gate.set()
    b.close()
    assert [f.result(0) for f in futures] == pytest.approx([expected([i]) for i in range(20)])
    with pytest.raises(BatcherClosed):
        b.submit([[1]])


def test_backend_failure_reaches_every_caller_and_worker_survives() -> None:
    calls = {"n": 0}

    def flaky(windows: Sequence[Sequence[int]]) -> list[float]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise BackendUnavailable("triton down")
        return [0.5] * len(windows)

    b = MicroBatcher(flaky, max_batch_size=8, max_delay_ms=0, max_queue=16)
    try:
        with pytest.raises(BackendUnavailable):
            b.score([[1], [2]])
        assert b.score([[1]]) == [0.5]
    finally:
        b.close()


def test_real_engine_batched_equals_unbatched(tiny_bundle_dir: Path) -> None:
    """Padding to the longest window in a batch must not change any window's risk."""
    from groomguard.serving.engine import build_engine
    from groomguard.serving.engine_config import EngineConfig

    engine = build_engine(str(tiny_bundle_dir), EngineConfig(providers=["CPUExecutionProvider"]))
    b = MicroBatcher(engine.infer_batch, max_batch_size=16, max_delay_ms=20, max_queue=256)
    try:
        rng = np.random.default_rng(0)
        wins = [[101, *rng.integers(1000, 5000, size=int(n)).tolist(), 102] for n in rng.integers(3, 60, size=24)]
        single = [float(engine.infer_batch([w])[0]) for w in wins]
        with ThreadPoolExecutor(8) as pool:
            batched = list(pool.map(lambda w: b.score([w])[0], wins))
        assert batched == pytest.approx(single, abs=1e-5)
        assert b.stats.max_batch_seen > 1
    finally:
        b.close()
        engine.close()


def test_workers_run_that_many_batches_at_once() -> None:
    """`workers` (engine.streams) > 1: a second batch starts while the first is still running; with
    one worker the barrier below times out and both callers get BrokenBarrierError."""
    both_in = threading.Barrier(2, timeout=5)

    def model(windows: Sequence[Sequence[int]]) -> list[float]:
        both_in.wait()
        return [expected(w) for w in windows]

    batcher = MicroBatcher(model, max_batch_size=1, max_delay_ms=0, workers=2)
    try:
        with ThreadPoolExecutor(2) as pool:
            got = list(pool.map(lambda w: batcher.score([w])[0], [[1, 2], [3, 4, 5]]))
        assert got == [expected([1, 2]), expected([3, 4, 5])]
        assert batcher.stats.batches == 2 and batcher.stats.windows == 2
    finally:
        batcher.close()
    with pytest.raises(ValueError, match="workers"):
        MicroBatcher(model, workers=0)


class Stuck:
    """A 'model' whose calls block until `release` is set (a backend that stopped answering, issue 22)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, windows: Sequence[Sequence[int]]) -> list[float]:
        self.calls += 1
        self.release.wait()
        return [expected(w) for w in windows]


def _wait_until(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_a_stuck_backend_call_fails_its_callers_in_time_and_the_batcher_recovers() -> None:
    """A call past infer_timeout_s fails its callers with BackendStuck (a BackendUnavailable: the API's
    503) instead of leaving them waiting forever; the batcher reports unhealthy (/readyz) until the call
    returns, a replacement worker serves meanwhile, and the late answer is dropped, not delivered twice."""
    from groomguard.serving.batcher import BackendStuck

    model = Stuck()
    b = MicroBatcher(model, max_batch_size=4, max_delay_ms=0, workers=1, infer_timeout_s=0.5)
    try:
        assert b.healthy
        t0 = time.monotonic()
        with pytest.raises(BackendStuck, match=r"0\.5 s \(engine\.infer_timeout_s\)") as got:
            b.score([[1], [2]], timeout=10)  # the request's own deadline is far: only the watchdog ends this
        assert 0.45 < time.monotonic() - t0 < 3.0
        assert isinstance(got.value, BackendUnavailable)
        assert str(pickle.loads(pickle.dumps(got.value))) == str(got.value)
        assert not b.healthy and b.stats.stuck_calls == 1
        model.release.set()  # the stuck call returns: its answer is dropped, the batcher is healthy again
        _wait_until(lambda: b.healthy)
        assert b.score([[3]]) == pytest.approx([expected([3])])
        assert b.stats.batches == 1  # only the last batch was delivered (and counted)
    finally:
        model.release.set()
        b.close()


def test_when_every_worker_is_stuck_queued_and_new_work_fail_at_once_until_one_returns() -> None:
    """One worker: the first stuck call is replaced; when the replacement is stuck too, the backend is
    wedged: queued windows fail, new ones are refused with BackendStuck (no thread is started per
    request), async callers included; a call that finally returns brings a worker back."""
    import asyncio

    from groomguard.serving.batcher import BackendStuck

    model = Stuck()
    b = MicroBatcher(model, max_batch_size=1, max_delay_ms=0, workers=1, infer_timeout_s=0.3)
    try:
        first = b.submit([[1]])
        _wait_until(lambda: model.calls == 1)
        second, queued = b.submit([[2]]), b.submit([[3]])  # the replacement takes [2] and sticks; [3] waits
        for f in (*first, *second, *queued):
            with pytest.raises(BackendStuck):
                f.result(timeout=3)
        assert model.calls == 2 and b.stats.stuck_calls == 2 and not b.healthy
        t0 = time.monotonic()
        with pytest.raises(BackendStuck):
            b.score([[4]])
        with pytest.raises(BackendStuck):
            asyncio.run(b.score_async([[5]]))
        assert time.monotonic() - t0 < 0.2  # refused at once, not after another timeout
        assert model.calls == 2
        model.release.set()
        _wait_until(lambda: b.healthy)
        assert b.score([[6]]) == pytest.approx([expected([6])])
    finally:
        model.release.set()
        b.close()
