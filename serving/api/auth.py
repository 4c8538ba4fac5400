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
from collections.abc import Callable

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

    def get_or_verify(self, plaintext: str, verify: Callable[[str], ApiKeyInfo | None]) -> ApiKeyInfo | None:
        if self.ttl_s <= 0:
            return verify(plaintext)
        digest = hashlib.sha256(plaintext.encode("utf-8")).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(digest)
            if hit is not None and hit[0] > now:
                return hit[1]
        info = verify(plaintext)
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[digest] = (now + self.ttl_s, info)
        return info


def has_scope(info: ApiKeyInfo, scope: str) -> bool:
    return "admin" in info.scopes or scope in info.scopes


def require_scope(scope: str) -> Callable[..., ApiKeyInfo]:
    """Dependency factory: the caller's key, which must carry `scope` (or admin)."""

    def dependency(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
        x_api_key: str | None = Depends(header_scheme),
        services: Services = Depends(get_services),
    ) -> ApiKeyInfo:
        info = authenticate(services, bearer.credentials if bearer else None, x_api_key)
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


def authenticate(services: Services, bearer: str | None, header_key: str | None) -> ApiKeyInfo:
    if bearer and header_key and bearer != header_key:
        raise ApiProblem(401, "Authorization and X-API-Key carry different keys", headers=CHALLENGE)
    plaintext = bearer or header_key
    if not plaintext:
        raise ApiProblem(401, "missing API key (Authorization: Bearer <key> or X-API-Key)", headers=CHALLENGE)
    if len(plaintext) > 512 or not (plaintext.isascii() and plaintext.isprintable()):  # keys are printable ASCII
        raise ApiProblem(401, "invalid API key", headers=CHALLENGE)
    info = services.key_cache.get_or_verify(plaintext, lambda k: verify_key(services.store, k))
    if info is None:
        raise ApiProblem(401, "invalid or revoked API key", headers=CHALLENGE)
    return info
