"""Fair under load (issue 10 item 1): appends stay fast while a maximal `/v1/score` runs; every
request has a deadline (503 + Retry-After past it); one request's cost is bounded (422).

The tiny bundle runs a window in well under a millisecond, so a maximal request would be over
before it could delay anything. `slow_model` adds a fixed cost per window *outside* the GIL
(time.sleep, as ONNX Runtime or a GPU releases it) so that the maximal request takes about 5 s,
like the demo model on a 2-core machine; a FIFO batcher then makes appends wait seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from benchmarks.support.fairness_load import appends_during_bulk, maximal_score_body, percentile
from benchmarks.support.server import auth, make_config, make_keys, msg, running_app
from groomguard.serving.engine import ScoringEngine

PER_WINDOW_S = 0.005
MAX_WINDOWS = 1000  # configs/serve.yaml limits.max_windows_per_request


@pytest.fixture
def slow_model(monkeypatch: pytest.MonkeyPatch) -> None:
    real: Callable[[ScoringEngine, Sequence[Sequence[int]]], Any] = ScoringEngine.infer_batch

    def slowed(self: ScoringEngine, windows: Sequence[Sequence[int]]) -> Any:
        out = real(self, windows)
        time.sleep(PER_WINDOW_S * len(windows))
        return out

    monkeypatch.setattr(ScoringEngine, "infer_batch", slowed)


def test_append_p99_under_1s_while_a_maximal_score_runs(slow_model: None, tiny_bundle_dir: Path,
                                                       tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "gg.db")  # shipped batching and limits
    assert cfg.limits.max_windows_per_request == MAX_WINDOWS
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        load = appends_during_bulk(client, keys["score"], MAX_WINDOWS, min_appends=50)
    assert load.bulk_status == 200  # at the limit exactly: admitted and served
    # The bulk request alone needs >= 5 s of model time, spread over `engine.streams` concurrent
    # batches (the sleep runs outside the GIL, like a backend's parallel streams); appends overlapped it.
    assert load.bulk_s >= MAX_WINDOWS * PER_WINDOW_S / cfg.engine.streams
    assert len(load.append_s) >= 50
    p99 = percentile(load.append_s, 99)
    # The bound. Measured on the shared 2-core box: p99 ~0.1 s (a FIFO batcher: ~5 s).
    assert p99 < 1.0, f"append p99 {p99:.3f} s over {len(load.append_s)} appends"


def test_request_past_its_deadline_is_503_with_retry_after_and_appends_go_on(
        slow_model: None, tiny_bundle_dir: Path, tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "gg.db", "batching.timeout_s=0.5", "batching.retry_after_s=3")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        for attempt in ("queued, then given up at the deadline", "refused up front (measured throughput)"):
            t0 = time.perf_counter()
            r = client.post("/v1/score", json=maximal_score_body(MAX_WINDOWS), headers=auth(keys["score"]))
            elapsed = time.perf_counter() - t0
            assert r.status_code == 503, (attempt, r.text)
            assert r.headers["retry-after"] == "3"
            assert r.headers["content-type"] == "application/problem+json"
            assert "within 0.5 s" in r.json()["detail"]
            assert elapsed < 4.0, attempt  # never the ~5 s the whole request would take
        batcher = client.app.state.services.batcher  # type: ignore[attr-defined]
        assert batcher.depth == 0  # nothing of the refused requests is left queued
        r = client.post("/v1/conversations/after/messages", json={"messages": [msg("a", "still here?")]},
                        headers=auth(keys["score"]))
        assert r.status_code == 200, r.text


def test_more_windows_than_the_limit_is_422_naming_the_setting(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "gg.db", "limits.max_windows_per_request=10")
    keys = make_keys(cfg)
    convs = [{"conversation_id": f"c{j}", "messages": [msg("a", "hello")] * n} for j, n in enumerate((6, 5))]
    with running_app(cfg, tiny_bundle_dir) as client:
        r = client.post("/v1/score", json={"conversations": convs}, headers=auth(keys["score"]))
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == ("conversations: 11 messages to score; at most 10 per request "
                                      "(limits.max_windows_per_request): split the request")
        convs[1]["messages"] = [msg("a", "hello")] * 4  # 10 windows: exactly the limit
        r = client.post("/v1/score", json={"conversations": convs}, headers=auth(keys["score"]))
        assert r.status_code == 200, r.text
        assert client.app.state.services.batcher.stats.windows >= 10  # type: ignore[attr-defined]


def test_limit_larger_than_the_queue_is_a_config_error() -> None:
    from groomguard.errors import ConfigError

    with pytest.raises(ConfigError, match="max_windows_per_request"):
        make_config(Path("unused.db"), "limits.max_windows_per_request=2000", "batching.max_queue=1024")
