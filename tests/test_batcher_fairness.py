"""Micro-batcher fairness and deadlines: stream lane first, bulk round-robin in bounded batches,
expired windows never run, callers past their deadline withdraw, hopeless bulk refused at once.

The model here records every batch it is given, so each test can state exactly which windows ran
together and in which order (computed by hand from the lane rules in serving/batcher.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from groomguard.serving.batcher import DeadlineExceeded, MicroBatcher, QueueFull


class Recorder:
    """Risk = first token / 100; blocks on `gate`; records the first token of every window per batch."""

    def __init__(self, per_window_s: float = 0.0) -> None:
        self.per_window_s = per_window_s
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def __call__(self, windows: Sequence[Sequence[int]]) -> list[float]:
        self.entered.set()
        self.gate.wait()
        self.batches.append([w[0] for w in windows])
        time.sleep(self.per_window_s * len(windows))
        return [w[0] / 100.0 for w in windows]


def _blocked(model: Recorder, b: MicroBatcher) -> list[object]:
    """Put one bulk window (token 0) into the model and keep it there until the gate opens."""
    model.gate.clear()
    held = b.submit([[0]], lane="bulk")
    assert model.entered.wait(5)
    return list(held)


def test_stream_windows_overtake_queued_bulk_and_bulk_batches_are_bounded() -> None:
    model = Recorder()
    b = MicroBatcher(model, max_batch_size=8, max_delay_ms=0, max_queue=100, bulk_batch_size=3)
    try:
        held = _blocked(model, b)
        bulk = b.submit([[10 + i] for i in range(7)], lane="bulk")  # queued first ...
        stream = b.submit([[50], [51]])  # ... overtaken by these
        model.gate.set()
        assert [f.result(5) for f in stream] == [0.5, 0.51]
        assert [f.result(5) for f in bulk] == pytest.approx([(10 + i) / 100 for i in range(7)])
        held[0].result(5)  # type: ignore[attr-defined]
        # held batch, then the stream windows alone, then bulk in batches of at most 3
        assert model.batches == [[0], [50, 51], [10, 11, 12], [13, 14, 15], [16]]
        assert b.stats.batch_lanes == ["bulk", "stream", "bulk", "bulk", "bulk"]
    finally:
        model.gate.set()
        b.close()


def test_a_saturated_stream_lane_gives_bulk_every_nth_batch() -> None:
    """bulk_turn_every=3: while both lanes wait, two stream batches then one bulk batch (by hand)."""
    model = Recorder()
    b = MicroBatcher(model, max_batch_size=2, max_delay_ms=0, max_queue=100, bulk_batch_size=2, bulk_turn_every=3)
    try:
        _blocked(model, b)
        bulk = b.submit([[10 + i] for i in range(6)], lane="bulk")
        stream = b.submit([[50 + i] for i in range(8)])
        model.gate.set()
        [f.result(5) for f in stream + bulk]
        assert model.batches == [[0], [50, 51], [52, 53], [10, 11], [54, 55], [56, 57], [12, 13], [14, 15]]
        # with appends always first (None) the same queue runs every stream batch before any bulk one
        strict = Recorder()
        s = MicroBatcher(strict, max_batch_size=2, max_delay_ms=0, max_queue=100, bulk_batch_size=2)
        try:
            _blocked(strict, s)
            rest = s.submit([[10 + i] for i in range(6)], lane="bulk") + s.submit([[50 + i] for i in range(8)])
            strict.gate.set()
            [f.result(5) for f in rest]
            assert strict.batches == [[0], [50, 51], [52, 53], [54, 55], [56, 57], [10, 11], [12, 13], [14, 15]]
        finally:
            strict.gate.set()
            s.close()
    finally:
        model.gate.set()
        b.close()


def test_bulk_turn_every_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="bulk_turn_every"):
        MicroBatcher(Recorder(), bulk_turn_every=1)


def test_bulk_requests_share_batches_round_robin() -> None:
    model = Recorder()
    b = MicroBatcher(model, max_batch_size=8, max_delay_ms=0, max_queue=100, bulk_batch_size=4)
    try:
        _blocked(model, b)
        big = b.submit([[10 + i] for i in range(6)], lane="bulk")
        small = b.submit([[90], [91]], lane="bulk")
        model.gate.set()
        assert [f.result(5) for f in small] == [0.9, 0.91]
        [f.result(5) for f in big]
        # the small request finishes in the first bulk batch instead of after all six of `big`
        assert model.batches == [[0], [10, 90, 11, 91], [12, 13, 14, 15]]
    finally:
        model.gate.set()
        b.close()


def test_caller_past_its_deadline_gets_deadline_exceeded_and_its_windows_never_run() -> None:
    model = Recorder()
    b = MicroBatcher(model, max_batch_size=4, max_delay_ms=0, max_queue=100, retry_after_s=2)
    try:
        _blocked(model, b)
        t0 = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            b.score([[20 + i] for i in range(5)], timeout=0.2, lane="bulk")
        assert 0.15 < time.monotonic() - t0 < 3
        assert info.value.retry_after_s == 2 and "0.2 s" in str(info.value)
        assert b.depth == 0  # withdrawn, not left for the worker
        model.gate.set()
        assert b.score([[7]]) == [0.07]
        assert model.batches == [[0], [7]]  # none of 20..24 was ever run
    finally:
        model.gate.set()
        b.close()


def test_window_expired_in_the_queue_fails_without_running() -> None:
    model = Recorder()
    b = MicroBatcher(model, max_batch_size=4, max_delay_ms=0, max_queue=100)
    try:
        _blocked(model, b)
        expired = b.submit([[30]], deadline=time.monotonic() + 0.05)
        in_time = b.submit([[31]], deadline=time.monotonic() + 60)
        time.sleep(0.1)  # let the first deadline pass while the worker is held (the behaviour under test is time)
        model.gate.set()
        with pytest.raises(DeadlineExceeded):
            expired[0].result(5)
        assert in_time[0].result(5) == 0.31
        assert model.batches == [[0], [31]]
        assert b.stats.expired == 1
    finally:
        model.gate.set()
        b.close()


def test_bulk_request_that_cannot_finish_in_time_is_refused_at_once() -> None:
    model = Recorder(per_window_s=0.02)
    b = MicroBatcher(model, max_batch_size=8, max_delay_ms=0, max_queue=1000, bulk_batch_size=4)
    try:
        b.score([[1]] * 8, lane="bulk")  # measures ~0.02 s per bulk window
        ran = len(model.batches)
        t0 = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            b.score([[2]] * 100, timeout=0.5, lane="bulk")  # needs ~2 s > 0.5 s
        assert time.monotonic() - t0 < 0.4  # refused up front, not after the deadline
        assert len(model.batches) == ran and b.depth == 0
        assert b.score([[3]] * 4, timeout=5, lane="bulk") == [0.03] * 4  # ~0.08 s: admitted
    finally:
        b.close()


def test_lanes_are_bounded_separately() -> None:
    model = Recorder()
    b = MicroBatcher(model, max_batch_size=4, max_delay_ms=0, max_queue=5)
    try:
        _blocked(model, b)
        b.submit([[40]] * 5, lane="bulk")
        with pytest.raises(QueueFull):
            b.submit([[41]], lane="bulk")
        appended = b.submit([[42]] * 5)  # the bulk lane being full does not refuse appends
        with pytest.raises(QueueFull):
            b.submit([[43]])
        model.gate.set()
        assert [f.result(5) for f in appended] == [0.42] * 5
    finally:
        model.gate.set()
        b.close()
