"""Login sessions and CSRF tokens for the moderator desk.

The session cookie holds 256 random bits; the table keeps only their SHA-256, so a copy of the
database cannot be replayed as a login. Each session has its own CSRF token, put in a hidden field
of every form and compared in constant time on every POST (SameSite=Strict is the first line, the
token the second). A session ends at `desk.session_minutes` after login, after `desk.idle_minutes`
unused, at logout, or when the account is disabled.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from groomguard.serving.desk.config import DeskConfig
from groomguard.serving.desk.users import User, _user
from groomguard.serving.store import Store
from groomguard.serving.store.orm import DeskSessionRow, UserRow, utcnow

COOKIE = "gg_desk"
LOGIN_CSRF_COOKIE = "gg_desk_login"  # double-submit token for the login form (no session yet)
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class DeskSession:
    user: User
    csrf: str
    created_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(store: Store, user: User, config: DeskConfig, now: datetime | None = None) -> str:
    """A new session for `user`; returns the cookie value (shown to nobody else, stored hashed)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with store.write() as s:
        s.execute(delete(DeskSessionRow).where(DeskSessionRow.expires_at <= now))  # sweep expired ones
        s.add(DeskSessionRow(token_hash=_hash(token), user_name=user.name, csrf=secrets.token_urlsafe(32),
                             created_at=now, last_seen_at=now,
                             expires_at=now + timedelta(minutes=config.session_minutes)))
    return token


def load(store: Store, token: str | None, config: DeskConfig, now: datetime | None = None) -> DeskSession | None:
    """The live session behind a cookie, or None (unknown, expired, idle too long, user disabled)."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    with store.read() as s:
        row = s.get(DeskSessionRow, _hash(token))
        user = s.get(UserRow, row.user_name) if row is not None else None
        if row is None or user is None:
            return None
        idle_end = row.last_seen_at + timedelta(minutes=config.idle_minutes)
        if row.expires_at <= now or idle_end <= now or user.disabled_at is not None:
            return None
        session = DeskSession(_user(user), row.csrf, row.created_at)
        stale = now - row.last_seen_at >= TOUCH_EVERY
    if stale:
        with store.write() as s:
            live = s.get(DeskSessionRow, _hash(token))
            if live is not None:
                live.last_seen_at = now
    return session


def end(store: Store, token: str | None) -> None:
    if token:
        with store.write() as s:
            s.execute(delete(DeskSessionRow).where(DeskSessionRow.token_hash == _hash(token)))


def csrf_ok(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing value on either side never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
