"""API keys: generation, hashed storage, verification, revocation.

A key looks like ``gg_<key_id>_<secret>``: `key_id` (12 hex chars) finds the row, the 256-bit
random secret is checked against its SHA-256 with a constant-time compare. A fast hash is the right
tool for high-entropy random secrets (no dictionary to attack); the plaintext is shown once, never
stored. Scopes: `score`, `review`, `admin`; `admin` implies the others.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from groomguard.errors import GroomguardError
from groomguard.serving.store import Store
from groomguard.serving.store.cases import audit
from groomguard.serving.store.orm import ApiKeyRow, utcnow

SCOPES = ("score", "review", "admin")
PREFIX = "gg"
_DUMMY_HASH = hashlib.sha256(b"groomguard-no-such-key").hexdigest()


class ApiKeyError(GroomguardError):
    """Bad key request (unknown scope, unknown key id)."""


@dataclass
class ApiKeyInfo:
    key_id: str
    name: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None

    def allows(self, scope: str) -> bool:
        """True when the key grants `scope` (admin grants everything)."""
        return scope in self.scopes or "admin" in self.scopes


def has_scope(info: ApiKeyInfo, scope: str) -> bool:
    return info.allows(scope)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(row.key_id, row.name, frozenset(row.scopes.split()), row.created_at, row.revoked_at)


def parse_scopes(scopes: Iterable[str]) -> set[str]:
    """Accepts repeated and comma-separated scopes; rejects unknown ones."""
    out = {p.strip() for s in scopes for p in s.split(",") if p.strip()}
    unknown = out - set(SCOPES)
    if not out:
        raise ApiKeyError(f"at least one scope is required ({', '.join(SCOPES)})")
    if unknown:
        raise ApiKeyError(f"unknown scope(s) {', '.join(sorted(unknown))}; use {', '.join(SCOPES)}")
    return out


def create_key(store: Store, name: str, scopes: set[str], actor: str = "cli", local: bool = False
               ) -> tuple[ApiKeyInfo, str]:
    """Create a key; returns its info and the plaintext, which is never retrievable again."""
    scopes = parse_scopes(scopes)
    if not name.strip():
        raise ApiKeyError("key name must not be empty")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKeyRow(key_id=key_id, name=name.strip(), scopes=" ".join(s for s in SCOPES if s in scopes),
                    secret_hash=_hash(secret), created_at=utcnow(), local=local)
    with store.write() as s:
        s.add(row)
        audit(s, "key:create", actor, detail={"key_id": key_id, "scopes": row.scopes})
    return _info(row), f"{PREFIX}_{key_id}_{secret}"


def verify_key(store: Store, plaintext: str) -> ApiKeyInfo | None:
    """The key's info, or None when the key is malformed, unknown or revoked."""
    parts = plaintext.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    with store.read() as s:
        row = s.get(ApiKeyRow, parts[1])
    candidate = _hash(parts[2])
    ok = hmac.compare_digest(candidate, row.secret_hash if row is not None else _DUMMY_HASH)
    if row is None or not ok or row.revoked_at is not None:
        return None
    return _info(row)


def list_keys(store: Store) -> list[ApiKeyInfo]:
    with store.read() as s:
        return [_info(r) for r in s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.key_id))]


def revoke_key(store: Store, key_id: str, actor: str = "cli") -> ApiKeyInfo:
    """Revoke a key (idempotent: revoking a revoked key keeps the first revocation time)."""
    with store.write() as s:
        row = s.get(ApiKeyRow, key_id)
        if row is None:
            raise ApiKeyError(f"no API key with id {key_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit(s, "key:revoke", actor, detail={"key_id": key_id})
        return _info(row)
