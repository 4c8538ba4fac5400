"""Per-key rate limits (issue 10 item 7): token bucket per key id, 429 + Retry-After, off by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.support.server import auth, make_config, make_keys, msg, running_app
from groomguard.serving.api.ratelimit import TokenBuckets, retry_after


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_burst_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    b = TokenBuckets(rate_per_s=2.0, burst=3, clock=clock)
    assert [b.take("k") for _ in range(3)] == [None, None, None]  # the burst
    assert b.take("k") == pytest.approx(0.5)  # empty: one token takes 1/2 s
    clock.now += 0.25
    assert b.take("k") == pytest.approx(0.25)  # half a token so far; refusing does not spend it
    clock.now += 0.25
    assert b.take("k") is None
    assert b.take("other") is None  # keys are independent
    clock.now += 100
    assert [b.take("k") for _ in range(4)][:3] == [None, None, None]  # refilled to burst, not beyond
    assert b.take("k") is not None


@pytest.mark.parametrize(("seconds", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (2.0, "2")])
def test_retry_after_rounds_up_to_whole_seconds(seconds: float, header: str) -> None:
    assert retry_after(seconds) == header


def test_key_over_its_rate_gets_429_with_retry_after_and_others_do_not(tiny_bundle_dir: Path,
                                                                      tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "gg.db", "rate_limit.enabled=true", "rate_limit.requests_per_s=0.25",
                      "rate_limit.burst=2")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        def append(key: str, i: int) -> Any:
            return client.post("/v1/conversations/rl/messages", json={"messages": [msg("a", f"hi {i}")]},
                               headers=auth(key))

        assert [append(keys["score"], i).status_code for i in range(2)] == [200, 200]
        r = append(keys["score"], 2)
        assert r.status_code == 429, r.text
        assert r.headers["content-type"] == "application/problem+json"
        # 0.25 requests/s: a token every 4 s; only milliseconds have passed since the burst
        assert r.headers["retry-after"] in ("4", "3")
        assert "rate limit" in r.json()["detail"]
        assert client.get("/v1/cases", headers=auth(keys["review"])).status_code == 200  # its own bucket
        assert client.get("/healthz").status_code == 200  # probes are never limited
        assert 'status="429"' in client.get("/metrics").text


def test_off_by_default(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "gg.db")
    assert cfg.rate_limit.enabled is False
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        statuses = {client.get("/v1/cases", headers=auth(keys["review"])).status_code for _ in range(60)}
    assert statuses == {200}  # 60 > the shipped burst of 40
