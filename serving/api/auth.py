"""API-key authentication and scope checks.

Keys arrive as `Authorization: Bearer <key>` or `X-API-Key: <key>` (either; if both are sent they
must agree). Keys are stored hashed by groomguard.serving.apikeys; verified keys are cached briefly, keyed by a
SHA-256 of the plaintext, so a hot path does not hit the database on every request. Scopes:
`score` (scoring and appends), `review` (the case queue), `admin` (everything, incl. export).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Awaitable, Callable

from anyio import to_thread
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from groomguard.serving.api.deps import Services, get_services
from groomguard.serving.api.errors import ApiProblem
from groomguard.serving.api.ratelimit import retry_after
from groomguard.serving.apikeys import ApiKeyInfo, verify_key

# auto_error=False: we answer problem+json ourselves. These objects also document the schemes in /docs.
bearer_scheme = HTTPBearer(auto_error=False, description="`Authorization: Bearer <api key>`")
header_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: <api key>`")

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="groomguard"'}


class KeyCache:
    """Short-lived cache of verified keys (positive and negative answers)."""

    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, ApiKeyInfo | None]] = {}

    def lookup(self, plaintext: str) -> tuple[bool, ApiKeyInfo | None]:
        """(True, answer) when a fresh answer is cached, else (False, None)."""
        if self.ttl_s <= 0:
            return False, None
        with self._lock:
            hit = self._entries.get(_digest(plaintext))
        return (True, hit[1]) if hit is not None and hit[0] > time.monotonic() else (False, None)

    def remember(self, plaintext: str, info: ApiKeyInfo | None) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[_digest(plaintext)] = (time.monotonic() + self.ttl_s, info)

    def get_or_verify(self, plaintext: str, verify: Callable[[str], ApiKeyInfo | None]) -> ApiKeyInfo | None:
        hit, info = self.lookup(plaintext)
        if not hit:
            info = verify(plaintext)
            self.remember(plaintext, info)
        return info


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def has_scope(info: ApiKeyInfo, scope: str) -> bool:
    return "admin" in info.scopes or scope in info.scopes


def require_scope(scope: str) -> Callable[..., Awaitable[ApiKeyInfo]]:
    """Dependency factory: the caller's key, which must carry `scope` (or admin)."""

    async def dependency(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
        x_api_key: str | None = Depends(header_scheme),
        services: Services = Depends(get_services),
    ) -> ApiKeyInfo:
        # async: a cached key is answered on the event loop; only a cache miss (a database read)
        # goes to a worker thread. A plain `def` would cost a thread hand-off on every request.
        plaintext = presented_key(bearer.credentials if bearer else None, x_api_key)
        hit, info = services.key_cache.lookup(plaintext)
        if not hit:
            info = await to_thread.run_sync(verify_key, services.store, plaintext)
            services.key_cache.remember(plaintext, info)
        info = accepted(info)
        if not has_scope(info, scope):
            raise ApiProblem(403, f"API key {info.name!r} lacks the '{scope}' scope")
        limiter = services.rate_limiter
        if limiter is not None:
            wait = limiter.take(info.key_id)
            if wait is not None:
                raise ApiProblem(429, f"API key {info.name!r} is over its rate limit "
                                      f"({limiter.rate:g} requests/s, burst {limiter.burst:g}); retry later",
                                 headers={"Retry-After": retry_after(wait)})
        request.state.api_key_name = info.name
        return info

    dependency.__name__ = f"require_{scope}"
    return dependency


def presented_key(bearer: str | None, header_key: str | None) -> str:
    """The one key the request carries, well-formed, else a 401."""
    if bearer and header_key and bearer != header_key:
        raise ApiProblem(401, "Authorization and X-API-Key carry different keys", headers=CHALLENGE)
    plaintext = bearer or header_key
    if not plaintext:
        raise ApiProblem(401, "missing API key (Authorization: Bearer <key> or X-API-Key)", headers=CHALLENGE)
    if len(plaintext) > 512 or not (plaintext.isascii() and plaintext.isprintable()):  # keys are printable ASCII
        raise ApiProblem(401, "invalid API key", headers=CHALLENGE)
    return plaintext


def accepted(info: ApiKeyInfo | None) -> ApiKeyInfo:
    if info is None:
        raise ApiProblem(401, "invalid or revoked API key", headers=CHALLENGE)
    return info


def authenticate(services: Services, bearer: str | None, header_key: str | None) -> ApiKeyInfo:
    """The caller's key, verified (through the cache); blocking: for code already in a thread."""
    plaintext = presented_key(bearer, header_key)
    return accepted(services.key_cache.get_or_verify(plaintext, lambda k: verify_key(services.store, k)))
