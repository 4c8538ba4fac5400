"""People who work the review queue (desk users: moderators, leads, admins): logins, password hashing,
lockout.

"Account" elsewhere in the desk means a chat account (a message author, issue 25); the people who
log in to the desk are users, hence this module's name.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile); the hash
string carries its own parameters, so raising them later re-hashes at the next login. Failed logins
count per account: after `desk.lockout_after` consecutive failures the account is locked for
`desk.lockout_minutes`, doubled for each further failure (slow-down that grows, without tying up a
server thread in sleep). Unknown names cost one hash verification too, so timing does not reveal
which names exist. Every attempt, good or bad, is written to the audit log; passwords never are.

Failed logins also count per client address (issue 26): `desk.client_lockout_after` failures, on any
accounts, within `desk.client_window_minutes` lock the address for `desk.client_lockout_minutes`,
doubled for each further lock. Per-account lockout alone lets one address try four passwords on each
of a thousand names; the address count stops that. A success does not reset it (one valid account must
not buy an attacker more guesses), and a locked address is refused before any hash is computed.

A password change and a disable both end every session of the account in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from groomguard.errors import GroomguardError
from groomguard.serving.desk.config import DeskConfig
from groomguard.serving.store import Store
from groomguard.serving.store.cases import audit
from groomguard.serving.store.orm import DeskSessionRow, LoginClientRow, UserRow, utcnow

Role = Literal["moderator", "lead", "admin"]
ROLES: tuple[Role, ...] = ("moderator", "lead", "admin")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("groomguard-no-such-user")


class UserError(GroomguardError):
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
        raise UserError("name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < config.min_password_chars:
        raise UserError(f"password must be at least {config.min_password_chars} characters "
                           "(desk.min_password_chars)")
    row = UserRow(name=name, role=role, password_hash=_HASHER.hash(password), blur=config.blur_default,
                  failed_logins=0, created_at=utcnow())
    with store.write() as s:
        if s.get(UserRow, name) is not None:
            raise UserError(f"user {name!r} already exists")
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
    with store.write() as s:
        row = s.get(UserRow, name)
        if row is None:
            raise UserError(f"no user named {name!r}")
        if row.disabled_at is None:
            row.disabled_at = utcnow()
            audit(s, "user:disable", actor, detail={"user": name})
        s.execute(delete(DeskSessionRow).where(DeskSessionRow.user_name == name))
        return _user(row)


def set_password(store: Store, name: str, password: str, config: DeskConfig, actor: str = "cli") -> int:
    """Give an account a new password and end all its sessions (a stolen cookie must not outlive the
    password it was obtained with); clears a lockout. Returns how many sessions ended. Audited, the
    password never is."""
    if len(password) < config.min_password_chars:
        raise UserError(f"password must be at least {config.min_password_chars} characters "
                           "(desk.min_password_chars)")
    hashed = _HASHER.hash(password)
    with store.write() as s:
        row = s.get(UserRow, name)
        if row is None:
            raise UserError(f"no user named {name!r}")
        row.password_hash, row.failed_logins, row.locked_until = hashed, 0, None
        ended = len(s.scalars(select(DeskSessionRow.token_hash).where(DeskSessionRow.user_name == name)).all())
        s.execute(delete(DeskSessionRow).where(DeskSessionRow.user_name == name))
        audit(s, "user:password", actor, detail={"user": name, "sessions_ended": ended})
        return int(ended)


def set_blur(store: Store, name: str, blur: bool) -> None:
    with store.write() as s:
        row = s.get(UserRow, name)
        if row is not None:
            row.blur = blur


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    reason: Literal["ok", "bad", "locked", "disabled", "client_locked"]


def login(store: Store, name: str, password: str, config: DeskConfig, client: str,
          now: datetime | None = None) -> LoginResult:
    """Check a password, applying the per-address and per-account lockouts; the audit entry names the
    account tried and the client address. A locked account or address is refused even with the right
    password (no oracle while locked); every failure counts against the address."""
    now = now or utcnow()
    attempted = name[:64]
    client = client[:64]
    with store.write() as s:
        source = s.get(LoginClientRow, client, with_for_update=True)  # PostgreSQL: concurrent failures queue
        if source is not None and source.locked_until is not None and source.locked_until > now:
            audit(s, "login:fail", attempted, detail={"client": client, "reason": "client locked"}, at=now)
            return LoginResult(None, "client_locked")
        row = s.get(UserRow, attempted, with_for_update=True) if NAME_RE.match(attempted) else None
        ok = _verify(row.password_hash if row is not None else _DUMMY_HASH, password)
        result: LoginResult
        if row is None:
            audit(s, "login:fail", attempted, detail={"client": client, "reason": "unknown user"}, at=now)
            result = LoginResult(None, "bad")
        elif row.disabled_at is not None:
            audit(s, "login:fail", row.name, detail={"client": client, "reason": "disabled"}, at=now)
            result = LoginResult(None, "disabled")
        elif row.locked_until is not None and row.locked_until > now:
            audit(s, "login:fail", row.name, detail={"client": client, "reason": "locked"}, at=now)
            result = LoginResult(None, "locked")
        elif not ok:
            row.failed_logins += 1
            over = row.failed_logins - config.lockout_after
            if over >= 0:
                row.locked_until = now + timedelta(minutes=config.lockout_minutes * (2 ** min(over, 10)))
            audit(s, "login:fail", row.name, at=now,
                  detail={"client": client, "reason": "bad password", "failures": row.failed_logins})
            result = LoginResult(None, "locked" if over >= 0 else "bad")
        else:
            row.failed_logins, row.locked_until = 0, None
            if _HASHER.check_needs_rehash(row.password_hash):
                row.password_hash = _HASHER.hash(password)
            audit(s, "login:ok", row.name, detail={"client": client}, at=now)
            return LoginResult(_user(row), "ok")
        if _client_failed(s, source, client, config, now):
            audit(s, "login:client-lock", attempted, detail={"client": client}, at=now)
            return LoginResult(None, "client_locked")
        return result


def _client_failed(s: Session, row: LoginClientRow | None, client: str, config: DeskConfig, now: datetime) -> bool:
    """Count one failure against the address; True when it locks the address now. Rows quiet for a whole
    window (no failure and no lock in it) are swept first, so the table holds only recent addresses and
    the doubling starts over after a quiet window."""
    window = timedelta(minutes=config.client_window_minutes)
    quiet = now - window
    s.execute(delete(LoginClientRow).where(
        LoginClientRow.client != client, LoginClientRow.window_start <= quiet,
        or_(LoginClientRow.locked_until.is_(None), LoginClientRow.locked_until <= quiet)))
    if row is None:
        try:
            with s.begin_nested():  # a concurrent first failure from the same address may insert first
                row = LoginClientRow(client=client, window_start=now, failures=0, lockouts=0)
                s.add(row)
        except IntegrityError:
            row = s.get(LoginClientRow, client, with_for_update=True, populate_existing=True)
            assert row is not None  # inserted by the transaction we collided with
    if row.window_start <= quiet:
        if row.locked_until is None or row.locked_until <= quiet:
            row.lockouts = 0
        row.window_start, row.failures = now, 0
    row.failures += 1
    if row.failures < config.client_lockout_after:
        return False
    row.locked_until = now + timedelta(minutes=config.client_lockout_minutes * (2 ** min(row.lockouts, 10)))
    row.lockouts += 1
    row.window_start, row.failures = now, 0
    return True


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
