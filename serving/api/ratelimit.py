"""Per-API-key rate limits (`rate_limit:` in configs/serve.yaml; off by default).

A token bucket per key id: `burst` requests at once, refilled at `requests_per_s`. Every
authenticated `/v1` request takes one token (a `/v1/score` of many windows is bounded separately by
`limits.max_windows_per_request`); an empty bucket is 429 + Retry-After (seconds until a token).

The buckets live in this process: with N gateway replicas behind a load balancer a key gets up to
N times its rate. Enforce a global rate at the gateway/ingress if that matters (docs/api.md).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from groomguard.serving.settings import RateLimitConfig


class TokenBuckets:
    """Thread-safe token buckets keyed by API key id."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, at)

    def take(self, key_id: str) -> float | None:
        """Take a token: None when allowed, else the seconds until one is available."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key_id, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                if len(self._buckets) >= self._max_keys and key_id not in self._buckets:
                    self._buckets.clear()  # only authenticated key ids get here; this is a safety valve
                self._buckets[key_id] = (tokens - 1.0, now)
                return None
            self._buckets[key_id] = (tokens, now)
            return (1.0 - tokens) / self.rate


def make_limiter(config: RateLimitConfig) -> TokenBuckets | None:
    return TokenBuckets(config.requests_per_s, config.burst) if config.enabled else None


def retry_after(seconds: float) -> str:
    """Retry-After is whole seconds: round up, so a client that waits that long gets a token."""
    return str(max(1, math.ceil(seconds)))
