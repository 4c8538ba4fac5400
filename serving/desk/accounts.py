"""People who work the review queue: accounts, password hashing, login with lockout.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile); the hash
string carries its own parameters, so raising them later re-hashes at the next login. Failed logins
count per account: after `desk.lockout_after` consecutive failures the account is locked for
`desk.lockout_minutes`, doubled for each further failure (slow-down that grows, without tying up a
server thread in sleep). Unknown names cost one hash verification too, so timing does not reveal
which names exist. Every attempt, good or bad, is written to the audit log; passwords never are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from groomguard.errors import GroomguardError
from groomguard.serving.desk.config import DeskConfig
from groomguard.serving.store import Store
from groomguard.serving.store.cases import audit
from groomguard.serving.store.orm import UserRow, utcnow

Role = Literal["moderator", "lead", "admin"]
ROLES: tuple[Role, ...] = ("moderator", "lead", "admin")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("groomguard-no-such-user")


class AccountError(GroomguardError):
    """A bad account request (unknown role, weak password, duplicate or unknown name)."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    blur: bool
    created_at: datetime
    disabled_at: datetime | None
    locked_until: datetime | None

    @property
    def is_lead(self) -> bool:
        """Leads and admins see workload pages, reassign cases and ask for second reviews."""
        return self.role in ("lead", "admin")


def _user(row: UserRow) -> User:
    return User(row.name, row.role, row.blur, row.created_at, row.disabled_at, row.locked_until)  # type: ignore[arg-type]


def create_user(store: Store, name: str, role: str, password: str, config: DeskConfig, actor: str = "cli") -> User:
    """Create an account; the name is an identifier (letters, digits, `.`, `_`, `-`; at most 64)."""
    if not NAME_RE.match(name):
        raise AccountError("name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < config.min_password_chars:
        raise AccountError(f"password must be at least {config.min_password_chars} characters "
                           "(desk.min_password_chars)")
    row = UserRow(name=name, role=role, password_hash=_HASHER.hash(password), blur=config.blur_default,
                  failed_logins=0, created_at=utcnow())
    with store.write() as s:
        if s.get(UserRow, name) is not None:
            raise AccountError(f"user {name!r} already exists")
        s.add(row)
        audit(s, "user:create", actor, detail={"user": name, "role": role})
    return _user(row)


def list_users(store: Store) -> list[User]:
    with store.read() as s:
        return [_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.name))]


def get_user(store: Store, name: str) -> User | None:
    with store.read() as s:
        row = s.get(UserRow, name)
        return None if row is None else _user(row)


def disable_user(store: Store, name: str, actor: str = "cli") -> User:
    """Disable an account and end its sessions (idempotent: the first disable time is kept)."""
    from groomguard.serving.store.orm import DeskSessionRow

    with store.write() as s:
        row = s.get(UserRow, name)
        if row is None:
            raise AccountError(f"no user named {name!r}")
        if row.disabled_at is None:
            row.disabled_at = utcnow()
            audit(s, "user:disable", actor, detail={"user": name})
        for sess in s.scalars(select(DeskSessionRow).where(DeskSessionRow.user_name == name)):
            s.delete(sess)
        return _user(row)


def set_blur(store: Store, name: str, blur: bool) -> None:
    with store.write() as s:
        row = s.get(UserRow, name)
        if row is not None:
            row.blur = blur


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    reason: Literal["ok", "bad", "locked", "disabled"]


def login(store: Store, name: str, password: str, config: DeskConfig, client: str,
          now: datetime | None = None) -> LoginResult:
    """Check a password, applying the lockout; the audit entry names the account tried and the client
    address. A locked account is refused even with the right password (no oracle while locked)."""
    now = now or utcnow()
    attempted = name[:64]
    with store.write() as s:
        row = s.get(UserRow, attempted) if NAME_RE.match(attempted) else None
        ok = _verify(row.password_hash if row is not None else _DUMMY_HASH, password)
        if row is None:
            audit(s, "login:fail", attempted, detail={"client": client, "reason": "unknown user"}, at=now)
            return LoginResult(None, "bad")
        if row.disabled_at is not None:
            audit(s, "login:fail", row.name, detail={"client": client, "reason": "disabled"}, at=now)
            return LoginResult(None, "disabled")
        if row.locked_until is not None and row.locked_until > now:
            audit(s, "login:fail", row.name, detail={"client": client, "reason": "locked"}, at=now)
            return LoginResult(None, "locked")
        if not ok:
            row.failed_logins += 1
            over = row.failed_logins - config.lockout_after
            if over >= 0:
                row.locked_until = now + timedelta(minutes=config.lockout_minutes * (2 ** min(over, 10)))
            audit(s, "login:fail", row.name, at=now,
                  detail={"client": client, "reason": "bad password", "failures": row.failed_logins})
            return LoginResult(None, "locked" if over >= 0 else "bad")
        row.failed_logins, row.locked_until = 0, None
        if _HASHER.check_needs_rehash(row.password_hash):
            row.password_hash = _HASHER.hash(password)
        audit(s, "login:ok", row.name, detail={"client": client}, at=now)
        return LoginResult(_user(row), "ok")


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
