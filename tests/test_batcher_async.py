"""Awaiting the micro-batcher (`score_async`) and the HTTP append path that uses it: results, the
deadline, withdrawal, and no worker thread held per request while its window waits for a batch."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest

from benchmarks.support.server import auth, make_config, make_keys, msg, running_app
from groomguard.serving.batcher import DeadlineExceeded, MicroBatcher
from groomguard.serving.engine import ScoringEngine
from tests.test_batcher import SlowSum, expected


def test_awaited_callers_are_batched_and_get_their_own_results() -> None:
    model = SlowSum(delay_s=0.01)
    b = MicroBatcher(model, max_batch_size=8, max_delay_ms=20, max_queue=256)

    async def main() -> list[tuple[list[list[int]], list[float]]]:
        async def call(i: int) -> tuple[list[list[int]], list[float]]:
            wins = [[i, j, i * j] for j in range(1 + i % 3)]
            return wins, await b.score_async(wins)

        return list(await asyncio.gather(*(call(i) for i in range(64))))

    try:
        for wins, risks in asyncio.run(main()):
            assert risks == pytest.approx([expected(w) for w in wins])
        assert max(model.sizes) > 1  # concurrent awaits shared batches
    finally:
        b.close()


def test_awaited_deadline_withdraws_the_windows_unrun() -> None:
    model = SlowSum()
    model.gate.clear()  # the worker blocks inside the model on the first batch
    b = MicroBatcher(model, max_batch_size=1, max_delay_ms=0, max_queue=16, retry_after_s=2)
    try:
        held = b.submit([[0]])
        time.sleep(0.05)

        async def late() -> None:
            await b.score_async([[1], [2], [3]], timeout=0.2)

        t0 = time.perf_counter()
        with pytest.raises(DeadlineExceeded) as info:
            asyncio.run(late())
        assert time.perf_counter() - t0 < 2.0 and info.value.retry_after_s == 2
        model.gate.set()
        assert held[0].result(5) == expected([0])
        b.score([[9]])  # the queue is drained past where the withdrawn windows were
        assert model.sizes == [1, 1], "withdrawn windows must never run"
    finally:
        model.gate.set()
        b.close()


def test_http_appends_waiting_for_a_batch_hold_no_worker_thread(tiny_bundle_dir: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """With only 2 worker threads, 12 concurrent appends must all reach the batcher while the model is
    blocked: a request that held a thread while waiting would keep the other 10 out of the queue."""
    gate, armed, entered = threading.Event(), threading.Event(), []
    real = ScoringEngine.infer_batch

    def gated(self: ScoringEngine, windows: Sequence[Sequence[int]]) -> Any:
        if armed.is_set():  # not during the start-up probe
            entered.append(len(windows))
            gate.wait(30)
        return real(self, windows)

    monkeypatch.setattr(ScoringEngine, "infer_batch", gated)  # the batcher binds it at start-up

    cfg = make_config(tmp_path / "gg.db", "batching.max_delay_ms=0")
    keys = make_keys(cfg)
    n = 12
    with running_app(cfg, tiny_bundle_dir) as client:
        client.portal.call(lambda: setattr(anyio.to_thread.current_default_thread_limiter(), "total_tokens", 2))
        armed.set()
        batcher: MicroBatcher = client.app.state.services.batcher  # type: ignore[attr-defined]

        def append(i: int) -> int:
            r = client.post(f"/v1/conversations/c{i}/messages", json={"messages": [msg("a", f"hello {i}")]},
                            headers=auth(keys["score"]))
            return r.status_code

        with ThreadPoolExecutor(n) as pool:
            futures = [pool.submit(append, i) for i in range(n)]
            deadline = time.monotonic() + 20
            while sum(entered) + batcher.depth < n and time.monotonic() < deadline:
                time.sleep(0.02)
            waiting = sum(entered) + batcher.depth
            gate.set()
            codes = [f.result(30) for f in futures]
    assert waiting == n, f"only {waiting} of {n} appends reached the batcher with 2 threads"
    assert codes == [200] * n
