"""The shared batching loop and the one window-start rule, pinned by hand-computed expectations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from groomguard.batching import run_batches
from groomguard.bundle import Bundle
from groomguard.windowing import Batch


def test_results_come_back_in_input_order_and_batches_group_similar_lengths() -> None:
    windows = [[1] * 5, [1] * 2, [1] * 9, [1] * 3, [1] * 8]
    seen: list[tuple[int, ...]] = []

    def infer(batch: Batch) -> np.ndarray:
        seen.append(tuple(int(m.sum()) for m in batch.attention_mask))
        return batch.attention_mask.sum(axis=1) * 10.0  # each window's length, times 10

    progress: list[int] = []
    out = run_batches(windows, 0, 2, infer, progress=progress.append)
    assert out.tolist() == [50.0, 20.0, 90.0, 30.0, 80.0]  # row i is window i, whatever the batch order
    assert seen == [(2, 3), (5, 8), (9,)]  # sorted by length: batch widths 3, 8, 9 instead of 9, 9, 8
    assert progress == [2, 2, 1]


def test_unsorted_keeps_the_callers_order_and_rows_keep_their_shape() -> None:
    windows = [[7, 7, 7], [7]]
    widths: list[int] = []

    def infer(batch: Batch) -> np.ndarray:
        widths.append(batch.input_ids.shape[1])
        return np.stack([batch.attention_mask.sum(axis=1), -batch.attention_mask.sum(axis=1)], axis=1)

    out = run_batches(windows, 0, 1, infer, sort=False)
    assert widths == [3, 1] and out.tolist() == [[3.0, -3.0], [1.0, -1.0]]
    assert run_batches([], 0, 4, infer).shape == (0,)
    with pytest.raises(ValueError, match="rows"):
        run_batches(windows, 0, 2, lambda b: np.zeros(1))


# Tiny bundle: max_length 64, [CLS] ... [SEP] -> budget 62 tokens, separator 1 token.
@pytest.mark.parametrize(("lengths", "end", "start"), [
    ([10, 10, 10, 40], 3, 1),  # 40 + 11 + 11 = 62 fits exactly; one more (73) does not
    ([1, 100], 1, 1),  # the newest alone is over budget: cut to 62, nothing older fits
    ([1, 60, 5, 20], 3, 2),  # stops at the first older message that does not fit, even if an older one would
    ([3, 4], 0, 0),
])
def test_window_start_by_hand(tiny_bundle_dir: Path, lengths: list[int], end: int, start: int) -> None:
    windower = Bundle.load(tiny_bundle_dir).windower()
    assert windower.budget == 62 and len(windower.sep) == 1
    assert windower.window_start(lengths, end) == start
    ids = [[1000 + i] * n for i, n in enumerate(lengths)]
    window = windower.window_ids(ids, end)
    assert len(window) == 2 + min(lengths[end], 62) + sum(lengths[i] + 1 for i in range(start, end))
    assert window[1] == 1000 + start  # the oldest message in the window is message `start`


def test_concurrent_batches_give_the_sequential_answer_and_really_overlap() -> None:
    """`concurrency` (engine.streams) keeps that many batches in flight; the answer must not change."""
    import itertools
    import threading

    windows = [[i % 5 + 1] * (i % 11 + 1) for i in range(40)]
    # The first two batches must be inside `infer` together: run one after the other, the first
    # waits 5 s and raises BrokenBarrierError.
    both_in = threading.Barrier(2, timeout=5)
    calls = itertools.count()

    def infer(batch: Batch) -> np.ndarray:
        if next(calls) < 2:
            both_in.wait()
        return (batch.input_ids * batch.attention_mask).sum(axis=1).astype(np.float64)

    progress: list[int] = []
    out = run_batches(windows, 0, 3, infer, progress=progress.append, concurrency=2)
    assert out.tolist() == [float(sum(w)) for w in windows]  # each window's own sum, in input order
    assert sum(progress) == len(windows)
    with pytest.raises(ValueError, match="concurrency"):
        run_batches(windows, 0, 3, infer, concurrency=0)


@pytest.mark.parametrize("concurrency", [1, 2])
def test_a_batch_that_never_returns_raises_within_the_timeout(concurrency: int) -> None:
    """issue 22: a backend call that never returned froze `groomguard score` for good. With a timeout
    the caller gets InferTimeout (a GroomguardError: the CLI's one-line exit 2) naming the setting,
    shortly after the timeout, even though the stuck thread can never be interrupted. A wait with no
    deadline, a ThreadPoolExecutor (joined on the way out) or a non-daemon thread would hang here."""
    import threading
    import time

    from groomguard.batching import InferTimeout
    from groomguard.errors import GroomguardError

    never = threading.Event()
    windows = [[1] * (i % 7 + 1) for i in range(20)]

    def stuck(batch: Batch) -> np.ndarray:
        never.wait()  # released only in `finally`, so the abandoned threads end with the test
        return np.zeros(len(batch.input_ids))

    t0 = time.monotonic()
    try:
        with pytest.raises(InferTimeout, match=r"within 0\.5 s \(engine\.infer_timeout_s\)") as got:
            run_batches(windows, 0, 4, stuck, concurrency=concurrency, timeout_s=0.5)
    finally:
        never.set()
    assert 0.45 < time.monotonic() - t0 < 3.0
    assert isinstance(got.value, GroomguardError)
    import pickle  # a Ray actor's error reaches the driver pickled

    again = pickle.loads(pickle.dumps(got.value))
    assert str(again) == str(got.value) and again.timeout_s == 0.5


def test_the_timeout_is_per_batch_and_changes_no_answer() -> None:
    """Ten batches of 0.1 s each take 0.5 s in all at concurrency 2 with a 0.3 s timeout: the deadline
    is each batch's own (a whole-run deadline, or one counting time queued behind other batches, would
    fire here); the answer and the progress are the untimed path's."""
    import time

    windows = [[i % 5 + 1] * (i % 11 + 1) for i in range(40)]

    def slow_sum(batch: Batch) -> np.ndarray:
        time.sleep(0.1)
        return (batch.input_ids * batch.attention_mask).sum(axis=1).astype(np.float64)

    progress: list[int] = []
    out = run_batches(windows, 0, 4, slow_sum, progress=progress.append, concurrency=2, timeout_s=0.3)
    assert out.tolist() == [float(sum(w)) for w in windows] and sum(progress) == len(windows)
    with pytest.raises(ValueError, match="rows"):  # a batch function's own error still reaches the caller
        run_batches(windows, 0, 4, lambda b: np.zeros(1), concurrency=2, timeout_s=5)
    with pytest.raises(ValueError, match="timeout_s"):
        run_batches(windows, 0, 4, slow_sum, timeout_s=0)
