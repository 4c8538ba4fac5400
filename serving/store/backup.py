"""Backup and restore of the whole store (`groomguard store backup` / `store restore`).

Why these tools and not a row export: a backup must bring back everything the service relies on
(cases and their evidence, every decision and audit entry, API key hashes, desk accounts, the
receipts that make appends idempotent, autoincrement counters and the schema revision) exactly,
so each database's own consistent-snapshot mechanism is used:

- SQLite: the online backup API (`sqlite3.Connection.backup`) copies every page of one read
  snapshot while the server keeps writing (WAL readers do not block writers). The copy is switched
  to `journal_mode=DELETE`, so it is one self-contained file, checked with `PRAGMA quick_check`
  and renamed into place only when complete.
- PostgreSQL: `pg_dump --format=custom` (one transaction-consistent snapshot, compressed, restorable
  table by table with `pg_restore`). The client tools must be on PATH; without them the command
  fails with one line naming what is missing. The password travels in PGPASSWORD, never on the
  command line.

Restore goes only into an empty store (a fresh database, or one migrated but holding no rows)
unless `force` is given, so a mistyped URL cannot overwrite a live store. After the copy the schema
is brought to head, so a backup taken by an older release restores into a newer one. Errors name
the file or the table, never row contents.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from groomguard.errors import GroomguardError
from groomguard.serving.store.config import StoreConfig
from groomguard.serving.store.db import create_db_engine, current_revision, migrate, safe_url, stored_revision

PG_MAGIC = b"PGDMP"  # first bytes of a pg_dump custom-format archive
SQLITE_MAGIC = b"SQLite format 3\x00"
VERSION_TABLE = "alembic_version"


class BackupError(GroomguardError):
    """A backup or restore cannot be done; one line naming the file, tool or table at fault."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    revision: str | None
    dialect: str


@dataclass(frozen=True)
class RestoreResult:
    dialect: str
    backup_revision: str | None  # schema revision the backup was taken at
    revision: str | None  # after the restore and the upgrade to head
    rows: int  # rows in the restored store's tables (schema bookkeeping excluded)


def table_rows(engine: Engine) -> dict[str, int]:
    """Row count per table of the store (the schema-revision table excluded). Why: restore refuses
    a store that holds any row, and reports what it restored."""
    with engine.connect() as conn:
        names = [t for t in inspect(conn).get_table_names() if t != VERSION_TABLE]
        return {t: int(conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one())  # nosec B608  # catalogue names
                for t in sorted(names)}


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("store.url: an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database).expanduser().resolve()


def _refuse_schema_url(url: URL) -> None:
    """pg_dump/pg_restore work on whole databases; a URL that picks a schema via search_path would
    dump every schema of the database and restore them elsewhere, so it is refused instead."""
    options = url.query.get("options", "")
    if "search_path" in (options if isinstance(options, str) else " ".join(options)):
        raise BackupError("store.url selects a schema (options=-csearch_path=...): backup and restore work on "
                          "whole PostgreSQL databases; give the store its own database")


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for pg_dump/pg_restore and the environment carrying the password."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise BackupError(f"{name} not found on PATH: install the PostgreSQL client tools (the server's major "
                          f"version or newer, e.g. apt-get install postgresql-client) or add them to PATH")
    return exe


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        # pg_dump/pg_restore messages name objects and connection problems, not row contents
        raise BackupError(f"{what} failed (exit {proc.returncode}): {lines[-1] if lines else 'no message'}")


def _tmp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- backup -----------------------------------------------------------------------------------------
def backup(config: StoreConfig, out: Path) -> BackupResult:
    """Write a consistent copy of the configured store to `out` (replaced only when complete)."""
    url = _parse(config.url)
    if out.exists() and out.is_dir():
        raise BackupError(f"--output: {out} is a directory; give a file path")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_beside(out)
    try:
        if url.get_backend_name() == "sqlite":
            revision = _backup_sqlite(_sqlite_path(url), tmp)
        else:
            revision = _backup_postgres(config, url, tmp)
        _fsync(tmp)
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return BackupResult(out, out.stat().st_size, revision, url.get_backend_name())


def _parse(raw: str) -> URL:
    try:
        url = make_url(raw)
    except Exception:
        raise BackupError("store.url is not a valid database URL") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise BackupError(f"store.url: unsupported database {url.get_backend_name()!r} (use sqlite or postgresql)")
    return url


def _backup_sqlite(db: Path, tmp: Path) -> str | None:
    if not db.is_file():
        raise BackupError(f"store.url: no SQLite database at {db}")
    src = sqlite3.connect(db, timeout=30)
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # one step: one read snapshot; WAL writers go on meanwhile
            dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
            ok = dst.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise BackupError(f"the copy of {db} failed its integrity check; the source may be damaged "
                                  "(run PRAGMA integrity_check on it)")
            return _sqlite_revision(dst)
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"backup of {db} failed: {exc.__class__.__name__} ({exc.sqlite_errorname})") from None
    finally:
        src.close()


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()  # nosec B608  # a constant name
    except sqlite3.DatabaseError:
        return None
    return None if row is None else str(row[0])


def _backup_postgres(config: StoreConfig, url: URL, tmp: Path) -> str | None:
    _refuse_schema_url(url)
    exe = _tool("pg_dump")
    revision = stored_revision(config)  # StoreError (the URL without its password) when unreachable
    conninfo, env = _libpq(url)
    _run([exe, "--format=custom", "--no-owner", "--no-privileges", f"--file={tmp}", f"--dbname={conninfo}"],
         env, "pg_dump")
    return revision


# -- restore ----------------------------------------------------------------------------------------
def restore(config: StoreConfig, src: Path, force: bool = False) -> RestoreResult:
    """Load the backup `src` into the configured store, then upgrade its schema to head.

    Refuses a store that holds any row unless `force` (which replaces its contents): a restore is
    for a fresh database after a loss, never a merge. The server must not be running against the
    target while it runs (stop it first; docs/operations.md)."""
    url = _parse(config.url)
    if not src.is_file():
        raise BackupError(f"--input: {src}: no such file")
    with src.open("rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    dialect = url.get_backend_name()
    if dialect == "sqlite" and head.startswith(PG_MAGIC):
        raise BackupError(f"--input: {src} is a PostgreSQL dump (pg_dump custom format); restore it into a "
                          "PostgreSQL store")
    if dialect == "postgresql" and head.startswith(SQLITE_MAGIC):
        raise BackupError(f"--input: {src} is a SQLite backup; restore it into a SQLite store")
    if (dialect == "sqlite" and head != SQLITE_MAGIC) or (dialect == "postgresql" and not head.startswith(PG_MAGIC)):
        raise BackupError(f"--input: {src} is not a groomguard store backup (neither a SQLite database nor a "
                          "pg_dump custom-format archive)")
    backup_revision: str | None = None
    if dialect == "postgresql":
        _refuse_schema_url(url)
    else:
        backup_revision = _check_sqlite_backup(src)
    engine = create_db_engine(config)
    try:
        _refuse_non_empty(engine, config, force)
        if dialect == "sqlite":
            engine.dispose()  # no pooled connection of ours may hold the target while it is overwritten
            _restore_sqlite(src, _sqlite_path(url))
        else:
            conninfo, env = _libpq(url)
            _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                  "--single-transaction", "--exit-on-error", f"--dbname={conninfo}", str(src)], env, "pg_restore")
            backup_revision = current_revision(engine)
        migrate(engine)
        rows = sum(table_rows(engine).values())
        return RestoreResult(dialect, backup_revision, current_revision(engine), rows)
    except SQLAlchemyError as exc:
        raise BackupError(f"restore into {safe_url(config.url)} failed: {exc.__class__.__name__}") from None
    finally:
        engine.dispose()


def _check_sqlite_backup(src: Path) -> str | None:
    try:
        conn = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
            revision = _sqlite_revision(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"--input: {src} cannot be read as SQLite: {exc.__class__.__name__}") from None
    if ok != "ok":
        raise BackupError(f"--input: {src} fails SQLite's integrity check; it is damaged")
    if revision is None:
        raise BackupError(f"--input: {src} is a SQLite database but not a groomguard store (no schema revision)")
    return revision


def _refuse_non_empty(engine: Engine, config: StoreConfig, force: bool) -> None:
    try:
        counts = table_rows(engine)
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot reach the store at {safe_url(config.url)}: {exc.__class__.__name__}") from None
    held = {t: n for t, n in counts.items() if n}
    if held and not force:
        sample = ", ".join(f"{t}: {n}" for t, n in list(held.items())[:3])
        raise BackupError(f"the store at {safe_url(config.url)} is not empty ({sample}); restore into a fresh "
                          "database, or pass --force to replace its contents")


def _restore_sqlite(src: Path, db: Path) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(db, timeout=30)
        try:
            source.backup(target)  # page by page into the target, through the target's own journal
            target.execute("PRAGMA journal_mode = WAL")  # what the server runs with
        finally:
            target.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"restore into {db} failed: {exc.__class__.__name__} ({exc.sqlite_errorname})") from None
    finally:
        source.close()
