"""`groomguard store backup` / `store restore` on real SQLite and real PostgreSQL.

A store is filled through the service code (appends, cases opened and decided, audit entries, API
keys, desk users), backed up with the CLI, restored with the CLI into a fresh store, and every
table of the restore is compared with the source row by row (plain `SELECT *`, tables listed from
the catalogue, not from the models). The expectations (how many cases, decisions, keys) are counted
while filling, so a restore that lost a table or a row fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.ops import Filled, fill_store, pg_databases, table_names, table_rows
from tests.support.store import run_cli


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def source_and_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A store URL to fill and back up, and a fresh one (nothing created yet) to restore into."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'live.db'}", f"sqlite:///{tmp_path / 'restored' / 'groomguard.db'}"
        return
    with pg_databases(2) as (source, target):
        yield source, target


def _scalar(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def _check_filled(url: str, filled: Filled) -> None:
    """The fill did what the test counts on (independent of the backup)."""
    assert _scalar(url, "SELECT COUNT(*) FROM conversations") == filled.conversations
    assert _scalar(url, "SELECT COUNT(*) FROM message_receipts") == filled.messages
    assert _scalar(url, "SELECT COUNT(*) FROM cases") == len(filled.cases) >= 4
    assert _scalar(url, "SELECT COUNT(*) FROM cases WHERE decided_at IS NOT NULL") == len(filled.decided)
    assert _scalar(url, "SELECT COUNT(*) FROM cases WHERE status = 'open'") >= 1
    assert _scalar(url, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'decision:%'") == len(filled.decided)
    assert _scalar(url, "SELECT COUNT(*) FROM api_keys") == len(filled.keys)
    assert _scalar(url, "SELECT COUNT(*) FROM desk_users") == len(filled.users)


def test_backup_then_restore_into_fresh_store_keeps_every_row(
        source_and_target: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, target = source_and_target
    filled = fill_store(source)
    _check_filled(source, filled)
    before = table_rows(source)
    backup_file = tmp_path / "backups" / "gg.backup"

    code, out, err = run_cli(capsys, "store", "backup", "-o", str(backup_file), "--db-url", source)
    assert code == 0, err
    assert backup_file.is_file() and backup_file.stat().st_size > 0 and "backed up" in out
    assert table_rows(source) == before  # the backup changed nothing

    code, out, err = run_cli(capsys, "store", "restore", "-i", str(backup_file), "--db-url", target)
    assert code == 0, err
    assert "restored" in out

    assert table_names(target) == table_names(source)
    after = table_rows(target)
    for table, rows in before.items():
        assert after[table] == rows, f"table {table} differs after the restore"
    _check_filled(target, filled)

    # restored keys still authenticate (hash and scopes intact), the revoked one stays revoked
    from groomguard.serving.apikeys import verify_key
    from groomguard.serving.store import StoreConfig, open_store

    store = open_store(StoreConfig(url=target))
    try:
        for key_id, plain in filled.keys.items():
            info = verify_key(store, plain)
            assert (info is None) == (key_id == filled.revoked), key_id
    finally:
        store.close()

    # the restored store is not empty any more: a second restore is refused, one line, exit 2
    code, out, err = run_cli(capsys, "store", "restore", "-i", str(backup_file), "--db-url", target)
    assert code == 2 and "not empty" in err and "--force" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli(capsys, "store", "restore", "-i", str(backup_file), "--db-url", target, "--force")
    assert code == 0, err
    assert table_rows(target) == after


def test_restore_refuses_a_populated_store_and_keeps_it(
        source_and_target: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped URL must not overwrite a live store: the populated target is left as it was."""
    source, target = source_and_target
    fill_store(source, conversations=2)
    fill_store(target, conversations=3)
    backup_file = tmp_path / "gg.backup"
    assert run_cli(capsys, "store", "backup", "-o", str(backup_file), "--db-url", source)[0] == 0
    kept = table_rows(target)
    code, _, err = run_cli(capsys, "store", "restore", "-i", str(backup_file), "--db-url", target)
    assert code == 2 and "not empty" in err
    assert table_rows(target) == kept


def test_backup_and_restore_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'gg.db'}"
    cases = [
        ("store", "backup", "-o", str(tmp_path / "b.db"), "--db-url", url),  # no database there
        ("store", "backup", "-o", "-", "--db-url", url),  # binary to stdout
        ("store", "restore", "-i", str(tmp_path / "missing.db"), "--db-url", url),
    ]
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("weekend plans\n")
    cases.append(("store", "restore", "-i", str(not_a_backup), "--db-url", url))
    for args in cases:
        code, out, err = run_cli(capsys, *args)
        assert code == 2, (args, out, err)
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, (args, err)
        assert "Traceback" not in err


@pytest.mark.postgres
def test_postgres_backup_without_pg_dump_names_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with pg_databases(1) as (url,):
        fill_store(url, conversations=1)
        monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
        code, _, err = run_cli(capsys, "store", "backup", "-o", str(tmp_path / "x.dump"), "--db-url", url)
    assert code == 2 and "pg_dump not found on PATH" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.dump").exists()


def test_backup_from_an_older_release_restores_at_head(
        source_and_target: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A backup taken at the previous schema revision (an older release) restores into this one:
    the restore ends with the upgrade, and the old rows are all there."""
    from groomguard.serving.store import StoreConfig
    from groomguard.serving.store.db import create_db_engine, current_revision, head_revision, migrate
    from tests.test_store_upgrade import previous_revision

    source, target = source_and_target
    previous = previous_revision()
    engine = create_db_engine(StoreConfig(url=source))
    migrate(engine, previous)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO api_keys (key_id, name, scopes, secret_hash, created_at, local) "
                          "VALUES ('cccccccccccc', 'legacy', 'score', :h, CURRENT_TIMESTAMP, false)"), {"h": "3" * 64})
    engine.dispose()
    before = table_rows(source)
    backup_file = tmp_path / "old.backup"
    assert run_cli(capsys, "store", "backup", "-o", str(backup_file), "--db-url", source)[0] == 0
    code, out, err = run_cli(capsys, "store", "restore", "-i", str(backup_file), "--db-url", target)
    assert code == 0, err
    assert f"{previous} -> {head_revision()}" in out
    restored = create_db_engine(StoreConfig(url=target))
    try:
        assert current_revision(restored) == head_revision()
    finally:
        restored.dispose()
    after = table_rows(target, [t for t in before if t != "alembic_version"])
    assert after == {t: rows for t, rows in before.items() if t != "alembic_version"}
