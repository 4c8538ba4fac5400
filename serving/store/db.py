"""Engine set-up, migrations and transactions for SQLite (WAL) and PostgreSQL.

Durability: SQLite runs in WAL mode with `synchronous=FULL`, so a committed transaction survives a
crash or power loss; PostgreSQL commits are durable by default. Every store method returns only after
COMMIT, so a 200/201 built on it means the write is on disk.

Write serialisation: `Store.write()` opens a transaction that takes the write lock up front
(`BEGIN IMMEDIATE` on SQLite); on PostgreSQL callers lock rows with `SELECT ... FOR UPDATE`.

Honesty under faults: a SQLite file that vanished (its directory deleted) or was replaced, or that
has no write permission bits left, makes every transaction raise `StoreError` (the API answers 503)
instead of writing into an unlinked inode through a pooled connection and answering 200 for data
that is gone. Permission bits are honoured even when the server runs as root, so an operator who
`chmod a-w`s the database gets a service that refuses writes, not one that silently ignores them.
A connection that failed is invalidated, so the pool does not keep a read-only or broken handle
after the fault clears. `probe_write()` is the readiness probe: a committed no-op write.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    from alembic.config import Config

from groomguard.errors import ConfigError, GroomguardError
from groomguard.serving.store.config import StoreConfig

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Transient write failures (a deadlock, SQLite's busy timeout, a concurrent insert of the one active
# case) a writer retries before it gives up with StoreError (serving/review/appends.py, routing.py).
MAX_TRANSIENT_RETRIES = 8
_MIGRATION_LOCK_KEY = 0x67676D67  # "ggmg": PostgreSQL advisory lock serialising replicas' migrations


class StoreError(GroomguardError):
    """A database operation failed. The message names the operation, never the data."""


class StoreFull(StoreError):
    """The database or its disk is full: writes fail until space returns (the API answers 503 +
    Retry-After, /readyz is 503 until the write probe passes again)."""


SQLITE_FULL = 13  # sqlite3 result code "database or disk is full" (also hit at PRAGMA max_page_count)
PG_DISK_FULL = "53100"  # SQLSTATE disk_full: PostgreSQL could not extend a file


def is_disk_full(exc: BaseException) -> bool:
    """True for SQLITE_FULL and PostgreSQL's SQLSTATE 53100 (raw driver error or SQLAlchemy's
    wrapper). Why: a full disk is not a transient conflict worth retrying at once, and operators
    need it named (by code, never by the driver's message, which can quote parameters)."""
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF == SQLITE_FULL:
        return True
    return getattr(orig, "sqlstate", None) == PG_DISK_FULL


# A row bigger than a page: SQLite must allocate overflow pages for it, so the readiness probe fails
# when the file cannot grow (PRAGMA max_page_count, or a disk with no room for the WAL), as an append
# would; rewriting the one version row in place needs no new page and would pass.
_SPACE_PROBE = "gg-space-probe-" + "0" * 8192


def _sqlite_setup(engine: Engine, busy_timeout_s: float) -> None:
    """Take over transaction control from pysqlite so BEGIN IMMEDIATE is possible (SQLAlchemy recipe)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # pysqlite emits no BEGIN of its own
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("gg_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_db_engine(config: StoreConfig) -> Engine:
    """An Engine for the configured URL; creates the directory of a SQLite file."""
    try:
        url = make_url(config.url)
    except Exception:
        raise ConfigError("store.url is not a valid database URL") from None
    kwargs: dict[str, Any] = {"echo": config.echo, "hide_parameters": True, "future": True}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            folder = Path(url.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"store.url: cannot create the directory {folder}: {exc.strerror}") from None
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": config.busy_timeout_s}
        kwargs["pool_size"] = config.pool_size
        engine = create_engine(url, **kwargs)
        _sqlite_setup(engine, config.busy_timeout_s)
        return engine
    if url.get_backend_name() == "postgresql":
        kwargs.update(pool_size=config.pool_size, pool_pre_ping=True)
        return create_engine(url, **kwargs)
    raise ConfigError(f"store.url: unsupported database {url.get_backend_name()!r} (use sqlite or postgresql)")


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration without an alembic.ini: script location from the package path."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # before alembic is imported: it logs on import
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema; safe when several replicas start at once (lock held during upgrade)."""
    cfg = alembic_config(engine)
    from alembic import command
    from alembic.script import ScriptDirectory

    before = current_revision(engine)
    if revision == "head" and before is not None and before == ScriptDirectory.from_config(cfg).get_current_head():
        return  # already current: no write transaction, no lock
    with engine.connect().execution_options(gg_write=True) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    after = current_revision(engine)
    if after != before:
        log.info("store schema upgraded from %s to %s", before or "empty", after)


def head_revision() -> str:
    """The newest revision this release's migrations know (no database needed)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None, "the migrations directory has no head revision"
    return head


def known_revisions() -> set[str]:
    """Every revision of this release's migrations: a database at another one was written by a newer
    release, which an older one must not touch."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return {rev.revision for rev in ScriptDirectory.from_config(cfg).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision, None when it has none (empty database)."""
    with engine.connect() as conn:
        try:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except SQLAlchemyError:
            return None
        return None if row is None else str(row[0])


def dialect_insert(dialect: str) -> Any:
    """INSERT with ON CONFLICT for `dialect` (PostgreSQL's or SQLite's; the two stores this project runs on)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def stored_revision(config: StoreConfig) -> str | None:
    """The schema revision of the database `config` names, read with a short-lived engine and no
    migration (`store migrate --check`, backups); StoreError naming the password-free URL when the
    database cannot be reached."""
    engine = create_db_engine(config)
    try:
        return current_revision(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot reach the store at {safe_url(config.url)}: {exc.__class__.__name__}") from None
    finally:
        engine.dispose()


class Store:
    """Handle on the database: engine plus transaction helpers. Thread-safe; share one per process."""

    def __init__(self, engine: Engine, config: StoreConfig) -> None:
        self.engine = engine
        self.config = config
        # SQLite has one writer at a time; queueing this process's writers on a lock avoids SQLite's
        # sleeping busy handler (up to 100 ms per retry) between our own threads.
        self._write_lock = threading.RLock() if engine.dialect.name == "sqlite" else None
        # ... and since only one of them writes at a time, they share one connection kept open for
        # writes: a pool checkout, reset and checkin per transaction cost more than the appends' own
        # statements (serving's hot path). Dropped after a fault and by close().
        self._writer: Connection | None = None
        self._file = sqlite_file(engine)
        self._identity = _identity(self._file) if self._file is not None else None

    def check_file(self, for_write: bool = True) -> None:
        """Raise StoreError when the SQLite file vanished or was replaced, or (`for_write`) lost its
        write bits: one stat per transaction, far below the cost of the transaction itself."""
        if self._file is None:
            return
        try:
            st = os.stat(self._file)
        except OSError:
            raise StoreError("the SQLite database file is gone (its directory was removed?)") from None
        if (st.st_dev, st.st_ino) != self._identity:
            raise StoreError("the SQLite database file was replaced while the server was running")
        writable = bool(st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) and os.access(self._file, os.W_OK)
        if for_write and not writable:
            raise StoreError("the SQLite database file is read-only")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read session; closing it ends the transaction without expiring loaded objects."""
        self.check_file(for_write=False)
        with self.engine.connect() as conn, Session(bind=conn, expire_on_commit=False) as session:
            try:
                yield session
            except (OperationalError, InterfaceError):
                _discard(session, conn)
                raise

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction committed on exit; takes SQLite's write lock at BEGIN."""
        self.check_file()
        if self._write_lock is None:
            with self.engine.connect().execution_options(gg_write=True) as conn:
                yield from self._transaction(conn)
            return
        with self._write_lock:
            if self._writer is None:
                self._writer = self.engine.connect().execution_options(gg_write=True)
            conn = self._writer
            try:
                yield from self._transaction(conn)
            except (OperationalError, InterfaceError):
                self._drop_writer()
                raise

    @staticmethod
    def _transaction(conn: Connection) -> Iterator[Session]:
        with Session(bind=conn, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except (OperationalError, InterfaceError):
                _discard(session, conn)
                raise
            except BaseException:
                session.rollback()
                raise

    def _drop_writer(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except SQLAlchemyError:
                log.debug("closing the write connection raised")
            self._writer = None

    def probe_write(self) -> None:
        """A committed write that changes nothing (readiness): raises StoreError if writes fail.

        Rewrites the one `alembic_version` row with its own value, so no table is needed for it and
        both SQLite (journal + fsync) and PostgreSQL (a new tuple, WAL flush) really write. On SQLite
        it also inserts and deletes a row larger than a page in the same transaction, which needs
        fresh pages: a database that cannot grow (disk full, max_page_count) is not ready.
        """
        try:
            with self.write() as s:
                s.execute(text("UPDATE alembic_version SET version_num = version_num"))
                if self.dialect == "sqlite":  # inserted and deleted in one transaction: never visible
                    s.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": _SPACE_PROBE})
                    s.execute(text("DELETE FROM alembic_version WHERE version_num = :v"), {"v": _SPACE_PROBE})
        except SQLAlchemyError as exc:
            if is_disk_full(exc):
                raise StoreFull("store write probe failed: the database or its disk is full") from None
            raise StoreError(f"store write probe failed: {exc.__class__.__name__}") from None

    def ping(self) -> bool:
        """True when the database answers a trivial query (readiness probe)."""
        try:
            self.check_file(for_write=False)
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except (SQLAlchemyError, StoreError) as exc:
            log.warning("store ping failed: %s", exc.__class__.__name__)
            return False

    def reconnect(self) -> None:
        """Close the write connection and the pooled ones: later transactions open fresh
        connections, so connect-time settings changed since (PRAGMAs) apply to all of them."""
        if self._write_lock is not None:
            with self._write_lock:
                self._drop_writer()
        self.engine.dispose()

    def close(self) -> None:
        if self._write_lock is not None:
            with self._write_lock:
                self._drop_writer()
        self.engine.dispose()


def open_store(config: StoreConfig) -> Store:
    """Connect, bring the schema to the newest revision and return the Store."""
    engine = create_db_engine(config)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the store at {safe_url(config.url)}: {exc.__class__.__name__}") from None
    return Store(engine, config)


def sqlite_file(engine: Engine) -> Path | None:
    """The absolute path of a file-backed SQLite database, else None."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return None
    return Path(engine.url.database).expanduser().resolve()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _discard(session: Session, conn: Any) -> None:
    """Drop a connection that failed so the pool opens a fresh one next time (a read-only or dead
    handle must not outlive the fault)."""
    try:
        session.rollback()
    except SQLAlchemyError:
        pass  # the connection is already unusable; invalidating it below is what matters
    try:
        conn.invalidate()
    except Exception:  # the connection may already be unusable; the pool discards it either way
        log.debug("invalidating a failed connection raised")


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<invalid url>"
