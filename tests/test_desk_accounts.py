"""Desk accounts and sessions against real SQLite and PostgreSQL stores: hashing, lockout, audit, expiry, disable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from groomguard.cli import main
from groomguard.serving.desk import accounts, sessions
from groomguard.serving.desk.accounts import AccountError
from groomguard.serving.desk.config import DeskConfig
from groomguard.serving.store import Store, StoreConfig, open_store
from groomguard.serving.store.orm import AuditRow, UserRow, utcnow

CFG = DeskConfig(lockout_after=3, lockout_minutes=10, session_minutes=60, idle_minutes=15)
PW = "a long enough secret"


pytest_plugins = ["tests.support.store_fixtures"]  # `store`: each test on SQLite and on PostgreSQL


def _audit(store: Store) -> list[tuple[str, str]]:
    with store.read() as s:
        return [(a.action, a.actor) for a in s.scalars(select(AuditRow).order_by(AuditRow.id))]


def test_password_is_stored_as_argon2id_and_bad_input_is_refused(store: Store) -> None:
    accounts.create_user(store, "ana", "lead", PW, CFG)
    with store.read() as s:
        row = s.get(UserRow, "ana")
        assert row is not None
        assert row.password_hash.startswith("$argon2id$") and PW not in row.password_hash
    with pytest.raises(AccountError, match="already exists"):
        accounts.create_user(store, "ana", "lead", PW, CFG)
    with pytest.raises(AccountError, match="role"):
        accounts.create_user(store, "bo", "owner", PW, CFG)
    with pytest.raises(AccountError, match="at least 12"):
        accounts.create_user(store, "bo", "moderator", "short", CFG)
    with pytest.raises(AccountError, match="name"):
        accounts.create_user(store, "bad name", "moderator", PW, CFG)


def test_lockout_after_threshold_refuses_even_the_right_password_and_doubles(store: Store) -> None:
    accounts.create_user(store, "ana", "moderator", PW, CFG)
    t0 = utcnow()
    assert accounts.login(store, "ana", "wrong", CFG, "1.2.3.4", now=t0).reason == "bad"
    assert accounts.login(store, "ana", "wrong", CFG, "1.2.3.4", now=t0).reason == "bad"
    assert accounts.login(store, "ana", "wrong", CFG, "1.2.3.4", now=t0).reason == "locked"  # 3rd = lockout_after
    assert accounts.login(store, "ana", PW, CFG, "1.2.3.4", now=t0 + timedelta(minutes=9)).reason == "locked"
    # after 10 minutes the lock is over; one more failure locks for 20 (doubled), not 10
    assert accounts.login(store, "ana", "wrong", CFG, "x", now=t0 + timedelta(minutes=11)).reason == "locked"
    assert accounts.login(store, "ana", PW, CFG, "x", now=t0 + timedelta(minutes=11 + 19)).reason == "locked"
    ok = accounts.login(store, "ana", PW, CFG, "x", now=t0 + timedelta(minutes=11 + 21))
    assert ok.reason == "ok" and ok.user is not None and ok.user.name == "ana"
    # success resets the counter: two failures do not lock again
    accounts.login(store, "ana", "wrong", CFG, "x", now=t0 + timedelta(minutes=40))
    assert accounts.login(store, "ana", "wrong", CFG, "x", now=t0 + timedelta(minutes=40)).reason == "bad"


def test_every_login_attempt_is_audited_without_the_password(store: Store) -> None:
    accounts.create_user(store, "ana", "moderator", PW, CFG)
    accounts.login(store, "ana", PW, CFG, "10.0.0.1")
    accounts.login(store, "ana", "guess-1", CFG, "10.0.0.1")
    accounts.login(store, "nobody", "guess-2", CFG, "10.0.0.1")
    logins = [a for a in _audit(store) if a[0].startswith("login")]
    assert logins == [("login:ok", "ana"), ("login:fail", "ana"), ("login:fail", "nobody")]
    with store.read() as s:
        dumped = repr([(a.note, a.detail) for a in s.scalars(select(AuditRow))])
    assert "guess-1" not in dumped and "guess-2" not in dumped and PW not in dumped


def test_sessions_expire_idle_and_absolute_and_end_when_disabled(store: Store) -> None:
    accounts.create_user(store, "ana", "moderator", PW, CFG)
    user = accounts.get_user(store, "ana")
    assert user is not None
    t0 = utcnow()
    token = sessions.start(store, user, CFG, now=t0)
    assert sessions.load(store, token, CFG, now=t0 + timedelta(minutes=14)) is not None  # touches last_seen
    assert sessions.load(store, token, CFG, now=t0 + timedelta(minutes=28)) is not None  # idle 14 < 15
    assert sessions.load(store, token, CFG, now=t0 + timedelta(minutes=44)) is None  # idle 16 > 15
    token2 = sessions.start(store, user, CFG, now=t0)
    for minute in range(10, 60, 10):  # never idle, but the 60-minute lifetime still ends it
        assert sessions.load(store, token2, CFG, now=t0 + timedelta(minutes=minute)) is not None
    assert sessions.load(store, token2, CFG, now=t0 + timedelta(minutes=61)) is None
    token3 = sessions.start(store, user, CFG)
    assert sessions.load(store, token3, CFG) is not None
    accounts.disable_user(store, "ana")
    assert sessions.load(store, token3, CFG) is None
    assert accounts.login(store, "ana", PW, CFG, "x").reason == "disabled"
    assert sessions.load(store, "not-a-token", CFG) is None


def test_users_cli_create_list_disable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    import io

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setattr("sys.stdin", io.StringIO(PW + "\n"))
    with pytest.raises(SystemExit) as done:
        main(["users", "create", "--name", "lee", "--role", "lead", "--password-stdin", "--db-url", url])
    assert done.value.code == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(SystemExit) as bad:
        main(["users", "create", "--name", "kim", "--password-stdin", "--db-url", url])
    assert bad.value.code == 2
    with pytest.raises(SystemExit):
        main(["users", "disable", "lee", "--db-url", url])
    with pytest.raises(SystemExit):
        main(["users", "list", "--db-url", url])
    out = capsys.readouterr()
    assert "created lead account 'lee'" in out.out and "disabled account 'lee'" in out.out
    listed = [line.split() for line in out.out.splitlines() if line.startswith("lee ")]
    assert listed and listed[0][1] == "lead" and listed[0][4] != "-"  # disabled date shown
    assert "password must be at least" in out.err and "kim" not in out.out
    store = open_store(StoreConfig(url=url))
    try:
        assert [u.name for u in accounts.list_users(store)] == ["lee"]
    finally:
        store.close()
