"""Desk users (the moderators' logins) and sessions against real SQLite and PostgreSQL stores: hashing,
lockout, audit, expiry, disable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from groomguard.cli import main
from groomguard.serving.desk import sessions, users
from groomguard.serving.desk.config import DeskConfig
from groomguard.serving.desk.users import UserError
from groomguard.serving.store import Store, StoreConfig, open_store
from groomguard.serving.store.orm import AuditRow, UserRow, utcnow

CFG = DeskConfig(lockout_after=3, lockout_minutes=10, session_minutes=60, idle_minutes=15)
PW = "a long enough secret"


pytest_plugins = ["tests.support.store_fixtures"]  # `store`: each test on SQLite and on PostgreSQL


def _audit(store: Store) -> list[tuple[str, str]]:
    with store.read() as s:
        return [(a.action, a.actor) for a in s.scalars(select(AuditRow).order_by(AuditRow.id))]


def test_password_is_stored_as_argon2id_and_bad_input_is_refused(store: Store) -> None:
    users.create_user(store, "ana", "lead", PW, CFG)
    with store.read() as s:
        row = s.get(UserRow, "ana")
        assert row is not None
        assert row.password_hash.startswith("$argon2id$") and PW not in row.password_hash
    with pytest.raises(UserError, match="already exists"):
        users.create_user(store, "ana", "lead", PW, CFG)
    with pytest.raises(UserError, match="role"):
        users.create_user(store, "bo", "owner", PW, CFG)
    with pytest.raises(UserError, match="at least 12"):
        users.create_user(store, "bo", "moderator", "short", CFG)
    with pytest.raises(UserError, match="name"):
        users.create_user(store, "bad name", "moderator", PW, CFG)


def test_lockout_after_threshold_refuses_even_the_right_password_and_doubles(store: Store) -> None:
    users.create_user(store, "ana", "moderator", PW, CFG)
    t0 = utcnow()
    assert users.login(store, "ana", "wrong", CFG, "1.2.3.4", now=t0).reason == "bad"
    assert users.login(store, "ana", "wrong", CFG, "1.2.3.4", now=t0).reason == "bad"
    assert users.login(store, "ana", "wrong", CFG, "1.2.3.4", now=t0).reason == "locked"  # 3rd = lockout_after
    assert users.login(store, "ana", PW, CFG, "1.2.3.4", now=t0 + timedelta(minutes=9)).reason == "locked"
    # after 10 minutes the lock is over; one more failure locks for 20 (doubled), not 10
    assert users.login(store, "ana", "wrong", CFG, "x", now=t0 + timedelta(minutes=11)).reason == "locked"
    assert users.login(store, "ana", PW, CFG, "x", now=t0 + timedelta(minutes=11 + 19)).reason == "locked"
    ok = users.login(store, "ana", PW, CFG, "x", now=t0 + timedelta(minutes=11 + 21))
    assert ok.reason == "ok" and ok.user is not None and ok.user.name == "ana"
    # success resets the counter: two failures do not lock again
    users.login(store, "ana", "wrong", CFG, "x", now=t0 + timedelta(minutes=40))
    assert users.login(store, "ana", "wrong", CFG, "x", now=t0 + timedelta(minutes=40)).reason == "bad"


def test_every_login_attempt_is_audited_without_the_password(store: Store) -> None:
    users.create_user(store, "ana", "moderator", PW, CFG)
    users.login(store, "ana", PW, CFG, "10.0.0.1")
    users.login(store, "ana", "guess-1", CFG, "10.0.0.1")
    users.login(store, "nobody", "guess-2", CFG, "10.0.0.1")
    logins = [a for a in _audit(store) if a[0].startswith("login")]
    assert logins == [("login:ok", "ana"), ("login:fail", "ana"), ("login:fail", "nobody")]
    with store.read() as s:
        dumped = repr([(a.note, a.detail) for a in s.scalars(select(AuditRow))])
    assert "guess-1" not in dumped and "guess-2" not in dumped and PW not in dumped


def test_sessions_expire_idle_and_absolute_and_end_when_disabled(store: Store) -> None:
    users.create_user(store, "ana", "moderator", PW, CFG)
    user = users.get_user(store, "ana")
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
    users.disable_user(store, "ana")
    assert sessions.load(store, token3, CFG) is None
    assert users.login(store, "ana", PW, CFG, "x").reason == "disabled"
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
        assert [u.name for u in users.list_users(store)] == ["lee"]
    finally:
        store.close()


def test_failures_spread_over_accounts_lock_the_client_address(store: Store) -> None:
    """Issue 26: four guesses on each of many accounts never trip the per-account lockout (3 here), but
    the address count does: 5 failures within 10 minutes lock 10.0.0.9 for 7 minutes, then 14, then the
    doubling starts over after a quiet window. Another address is unaffected; a success does not reset."""
    cfg = CFG.model_copy(update={"client_lockout_after": 5, "client_window_minutes": 10,
                                 "client_lockout_minutes": 7})
    for name in ("ana", "bo", "cy"):
        users.create_user(store, name, "moderator", PW, cfg)
    t0 = utcnow()
    bad = "10.0.0.9"
    # two wrong guesses each on ana and bo (below lockout_after=3), and a success in between
    assert [users.login(store, n, "guess", cfg, bad, now=t0).reason for n in ("ana", "bo", "ana")] == ["bad"] * 3
    assert users.login(store, "cy", PW, cfg, bad, now=t0).reason == "ok"  # does not reset the address count
    assert users.login(store, "bo", "guess", cfg, bad, now=t0).reason == "bad"  # 4th failure
    assert users.login(store, "nobody", "guess", cfg, bad, now=t0).reason == "client_locked"  # 5th: locked
    # locked: even the right password from that address is refused, and no hash is spent on it
    assert users.login(store, "cy", PW, cfg, bad, now=t0 + timedelta(minutes=6)).reason == "client_locked"
    assert users.login(store, "cy", PW, cfg, "10.0.0.10", now=t0 + timedelta(minutes=6)).reason == "ok"
    # the per-account counters were not pushed over their own limit by this
    assert users.login(store, "ana", PW, cfg, "10.0.0.10", now=t0 + timedelta(minutes=6)).reason == "ok"
    # after 7 minutes the address may try again; 5 more failures lock it for 14 minutes (doubled)
    t1 = t0 + timedelta(minutes=8)
    assert users.login(store, "cy", PW, cfg, bad, now=t1).reason == "ok"
    reasons = [users.login(store, "nobody", "guess", cfg, bad, now=t1).reason for _ in range(5)]
    assert reasons == ["bad"] * 4 + ["client_locked"]
    assert users.login(store, "cy", PW, cfg, bad, now=t1 + timedelta(minutes=13)).reason == "client_locked"
    t2 = t1 + timedelta(minutes=15)
    assert users.login(store, "cy", PW, cfg, bad, now=t2).reason == "ok"
    # a quiet window after the lock ended (14 + 10 minutes): the next lock is 7 minutes again, not 28
    t3 = t1 + timedelta(minutes=14 + 10 + 1)
    reasons = [users.login(store, "nobody", "guess", cfg, bad, now=t3).reason for _ in range(5)]
    assert reasons == ["bad"] * 4 + ["client_locked"]
    assert users.login(store, "cy", PW, cfg, bad, now=t3 + timedelta(minutes=6)).reason == "client_locked"
    assert users.login(store, "cy", PW, cfg, bad, now=t3 + timedelta(minutes=8)).reason == "ok"
    # failures older than the window do not add up: 4 now and 4 eleven minutes later lock nothing
    other = "10.0.0.11"
    t4 = t3 + timedelta(minutes=60)
    assert {users.login(store, "nobody", "g", cfg, other, now=t4).reason for _ in range(4)} == {"bad"}
    later = t4 + timedelta(minutes=11)
    assert {users.login(store, "nobody", "g", cfg, other, now=later).reason for _ in range(4)} == {"bad"}
    actions = [a for a, _ in _audit(store)]
    assert actions.count("login:client-lock") == 3


def test_password_change_ends_every_session_of_the_account(store: Store) -> None:
    """Issue 26: after set_password the old cookies load nothing, the old password fails, the new works;
    another account's session is untouched; a short password is refused without ending anything."""
    users.create_user(store, "ana", "moderator", PW, CFG)
    users.create_user(store, "bo", "moderator", PW, CFG)
    ana, bo = users.get_user(store, "ana"), users.get_user(store, "bo")
    assert ana is not None and bo is not None
    tokens = [sessions.start(store, ana, CFG) for _ in range(2)]
    other = sessions.start(store, bo, CFG)
    with pytest.raises(UserError, match="at least 12"):
        users.set_password(store, "ana", "short", CFG)
    assert all(sessions.load(store, t, CFG) is not None for t in tokens)
    assert users.set_password(store, "ana", "a brand new long secret", CFG, actor="lea") == 2
    assert [sessions.load(store, t, CFG) for t in tokens] == [None, None]
    assert sessions.load(store, other, CFG) is not None
    assert users.login(store, "ana", PW, CFG, "x").reason == "bad"
    assert users.login(store, "ana", "a brand new long secret", CFG, "x").reason == "ok"
    assert ("user:password", "lea") in _audit(store)
    with pytest.raises(UserError, match="no user"):
        users.set_password(store, "nobody", "a brand new long secret", CFG)


def test_users_cli_set_password_ends_sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import io

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(StoreConfig(url=url))
    try:
        users.create_user(store, "lee", "lead", PW, CFG)
        user = users.get_user(store, "lee")
        assert user is not None
        token = sessions.start(store, user, CFG)
    finally:
        store.close()
    monkeypatch.setattr("sys.stdin", io.StringIO("the replacement secret\n"))
    with pytest.raises(SystemExit) as done:
        main(["users", "set-password", "lee", "--password-stdin", "--db-url", url])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "new password for 'lee'; 1 session(s) ended" in out and "replacement" not in out
    store = open_store(StoreConfig(url=url))
    try:
        assert sessions.load(store, token, CFG) is None
        assert users.login(store, "lee", "the replacement secret", CFG, "x").reason == "ok"
    finally:
        store.close()
