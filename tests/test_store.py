"""Store set-up: migrations on fresh and existing databases, durability settings, privacy of errors."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from groomguard.errors import ConfigError
from groomguard.schema import Message
from groomguard.scores import Thresholds
from groomguard.serving.review import ReviewService
from groomguard.serving.store import RetentionConfig, StateConfig, Store, StoreConfig, StoreError, open_store
from groomguard.serving.store.db import alembic_config, current_revision
from groomguard.serving.store.orm import Base, CaseRow
from groomguard.windowing import Windower
from tests.support.store import KeywordScorer

TABLES = {"conversations", "tail_messages", "message_receipts", "cases", "case_messages", "case_scores",
          "audit_log", "api_keys", "alembic_version", "desk_users", "desk_sessions",
          "case_claims", "second_reviews", "accounts", "account_conversations", "account_counterparts", "case_links"}

pytest_plugins = ["tests.support.store_fixtures"]


def test_fresh_database_is_migrated_to_the_models(store: Store) -> None:
    assert set(inspect(store.engine).get_table_names()) >= TABLES
    assert current_revision(store.engine) == "0005"
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert store.ping()


def test_existing_database_upgrades_and_reopens(db_url: str) -> None:
    s1 = open_store(StoreConfig(url=db_url))
    cfg = alembic_config(s1.engine)
    with s1.engine.begin() as conn:  # an "old" database: schema removed, only the version table left
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert current_revision(s1.engine) is None
    s1.close()
    with ThreadPoolExecutor(3) as pool:  # several replicas starting at once
        stores = list(pool.map(lambda _: open_store(StoreConfig(url=db_url)), range(3)))
    assert all(current_revision(s.engine) == "0005" for s in stores)
    for s in stores:
        s.close()


def test_sqlite_is_wal_with_full_sync(sqlite_url: str) -> None:
    s = open_store(StoreConfig(url=sqlite_url))
    try:
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert Path(sqlite_url.removeprefix("sqlite:///")).is_file()
    finally:
        s.close()


def test_bad_urls_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        open_store(StoreConfig(url="mysql://u@h/db"))
    with pytest.raises(ConfigError):
        open_store(StoreConfig(url="::nonsense::"))
    with pytest.raises(StoreError) as exc:
        open_store(StoreConfig(url="postgresql+psycopg://nobody:hunter2@127.0.0.1:1/none"))
    assert "hunter2" not in str(exc.value)


def test_no_message_text_or_handles_in_logs_or_db_errors(store: Store, windower: Windower,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    text, handle = "synthetic private words kept secret", "handle_zq81"
    svc = ReviewService.build(store, KeywordScorer(windower), windower, Thresholds(review=0.5, high=0.8), "test@1",
                              StateConfig(), RetentionConfig())
    with caplog.at_level(logging.DEBUG):
        out = svc.append_messages("priv-1", [Message(author=handle, text=text, message_id="p1")])
        assert out.case_id
        svc.get_case(out.case_id)
        svc.decide(out.case_id, "confirmed", None, actor="mod-1")
        list(svc.export_decided())
        svc.purge()
        with pytest.raises(IntegrityError) as exc, store.write() as s:  # a constraint violation carrying the text
            s.add(CaseRow(case_id=out.case_id, conversation_id=text, status="open", level="high", risk=0.9,
                          max_risk=0.9, model_ref=handle, roles={handle: "A"}))
            s.flush()
    assert text not in str(exc.value) and handle not in str(exc.value)
    assert text not in caplog.text and handle not in caplog.text
    assert "case" in caplog.text  # the log did record the case opening (by id)
