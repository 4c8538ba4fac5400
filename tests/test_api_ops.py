"""Operational behaviour: overload (503 + Retry-After), backend down, retention loop, OpenAPI."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from benchmarks.support.server import auth, free_port, make_config, make_keys, msg, running_app


def test_full_queue_answers_503_with_retry_after(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    # One window fits in the queue; the first request's window waits there for company for 1.5 s.
    cfg = make_config(tmp_path / "gg.db", "batching.max_queue=1", "limits.max_windows_per_request=1",
                      "batching.max_delay_ms=1500",
                      "batching.retry_after_s=2", "engine.max_batch_size=8")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        first: dict[str, int] = {}

        def slow() -> None:
            r = client.post("/v1/conversations/q-1/messages", json={"messages": [msg("a", "one")]},
                            headers=auth(keys["score"]))
            first["status"] = r.status_code

        t = threading.Thread(target=slow)
        t.start()
        deadline = time.monotonic() + 5
        while client.app.state.services.batcher.depth == 0 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.01)
        r = client.post("/v1/conversations/q-2/messages", json={"messages": [msg("a", "two")]},
                        headers=auth(keys["score"]))
        t.join(10)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "2"
        assert r.headers["content-type"] == "application/problem+json"
        assert first["status"] == 200
        metrics = client.get("/metrics").text
        assert 'route="/v1/conversations/{conversation_id}/messages",status="503"' in metrics


def test_backend_down_is_503_and_not_ready(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    """A real Triton client pointed at a port where nothing listens."""
    cfg = make_config(tmp_path / "gg.db", "engine.backend=triton", f"engine.triton.url=127.0.0.1:{free_port()}",
                      "engine.triton.protocol=http", "engine.triton.retries=0", "engine.triton.timeout_s=1")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        r = client.post("/v1/score", json={"conversations": [{"conversation_id": "d", "messages": [msg("a", "x")]}]},
                        headers=auth(keys["score"]))
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json" and r.headers["retry-after"]
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["backend"] == "triton" and not ready.json()["backend_ok"] and ready.json()["store_ok"]
        assert client.get("/healthz").status_code == 200  # alive, just not ready


def test_retention_purge_runs_periodically(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    """The server runs the retention purge in the background: an idle tail disappears by itself."""
    cfg = make_config(tmp_path / "gg.db", "retention.purge_interval_minutes=0.005",  # every 0.3 s
                      "retention.tail_inactive_days=0.00002", "thresholds={review: 1.0, high: 1.0}")  # ~1.7 s
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        body = {"messages": [msg("a", "see you tomorrow", "r-1")]}
        h = auth(keys["score"])
        assert client.post("/v1/conversations/idle/messages", json=body, headers=h).json()["accepted"] == 1
        assert client.post("/v1/conversations/idle/messages", json=body, headers=h).json()["duplicates"] == 1
        purge = client.app.state.services.purge  # type: ignore[attr-defined]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (purge.last is None or purge.last.conversations == 0):
            time.sleep(0.1)
        assert purge.last is not None and purge.last.conversations >= 1
        # the idle conversation was forgotten: the same message is new again
        assert client.post("/v1/conversations/idle/messages", json=body, headers=h).json()["accepted"] == 1


def test_openapi_documents_routes_and_auth(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    with running_app(make_config(tmp_path / "gg.db"), tiny_bundle_dir) as client:
        spec = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
    for path in ("/v1/score", "/v1/conversations/{conversation_id}/messages", "/v1/cases", "/v1/cases/{case_id}",
                 "/v1/cases/{case_id}/decision", "/v1/cases/export", "/healthz", "/readyz", "/metrics"):
        assert path in spec["paths"], path
    schemes = spec["components"]["securitySchemes"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schemes)
    assert "422" in spec["paths"]["/v1/score"]["post"]["responses"]


def test_concurrent_appends_are_micro_batched(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    cfg = make_config(tmp_path / "gg.db", "batching.max_delay_ms=50", "engine.max_batch_size=16")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        def append(i: int) -> int:
            r = client.post(f"/v1/conversations/b-{i}/messages", json={"messages": [msg("a", f"hey {i}", "m")]},
                            headers=auth(keys["score"]))
            return r.status_code

        with ThreadPoolExecutor(12) as pool:
            assert set(pool.map(append, range(24))) == {200}
        stats = client.app.state.services.batcher.stats  # type: ignore[attr-defined]
        assert stats.windows == 24
        assert stats.max_batch_seen > 1, stats.batch_sizes
        metrics = client.get("/metrics").text
        assert "groomguard_batch_size_count" in metrics
