"""Helpers for the operations tests (backup/restore, upgrades, disk full): fresh PostgreSQL databases,
a store filled through the real service code, and table contents read with plain SQL.

The table listings and row sets here come from the database catalogue and `SELECT *`, not from the
ORM models, so a table the models forget or a column a restore drops shows up as a difference.
All conversation text is innocuous (homework, a surprise party, weekend plans).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# tests/support/store_fixtures.py's PG_ENV; not imported from there, so a test module importing these helpers
# can still load store_fixtures as a pytest plugin (assertion rewriting needs it unimported)
PG_ENV = "GROOMGUARD_TEST_POSTGRES_URL"

LINES = ["did you finish the maths homework", "the surprise party for mum is a secret", "see you at practice",
         "what time is the bus tomorrow", "i liked the book we read in class"]


@contextmanager
def pg_databases(n: int) -> Iterator[list[str]]:
    """`n` freshly created PostgreSQL databases (dropped afterwards); skips without a server.

    Whole databases rather than schemas: pg_dump/pg_restore (and so `store backup`) work per
    database."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    names = [f"{make_url(base).database}_ops_{uuid.uuid4().hex[:10]}" for _ in range(n)]
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield [make_url(base).set(database=name).render_as_string(hide_password=False) for name in names]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def table_names(url: str) -> list[str]:
    """User tables from the catalogue (sqlite_master / information_schema), not from the models."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'"))
            else:
                rows = conn.execute(text("SELECT table_name FROM information_schema.tables "
                                         "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"))
            return sorted(str(r[0]) for r in rows)
    finally:
        engine.dispose()


def table_rows(url: str, tables: list[str] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted (plain `SELECT *`)."""
    engine = create_engine(url)
    out: dict[str, list[tuple[Any, ...]]] = {}
    try:
        with engine.connect() as conn:
            for t in tables or table_names(url):
                rows = [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{t}"'))]
                out[t] = sorted(rows, key=repr)
    finally:
        engine.dispose()
    return out


def checksum(rows: list[tuple[Any, ...]]) -> str:
    """Order-independent digest of a row set (repr of each row, sorted)."""
    h = hashlib.sha256()
    for line in sorted(repr(r) for r in rows):
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()


@dataclass
class Filled:
    """What the fill did, counted on the caller's side (the expectations of the tests)."""

    conversations: int
    messages: int
    cases: list[str]
    decided: dict[str, str]  # case id -> decision
    keys: dict[str, str]  # key id -> plaintext
    revoked: str
    users: list[str]


def fill_store(url: str, conversations: int = 12) -> Filled:
    """Fill a store through the real service code: appends (two requests per conversation), cases
    opened by the keyword scorer, decisions, API keys (one revoked) and desk users."""
    from groomguard.schema import Message
    from groomguard.scores import Thresholds
    from groomguard.serving.apikeys import create_key, revoke_key
    from groomguard.serving.desk.config import DeskConfig
    from groomguard.serving.desk.users import create_user
    from groomguard.serving.review import ReviewService
    from groomguard.serving.store import RetentionConfig, StateConfig, StoreConfig, open_store
    from tests.support.store import KeywordScorer, make_windower, tokenizer_path

    store = open_store(StoreConfig(url=url))
    try:
        windower = make_windower(tokenizer_path())
        svc = ReviewService.build(store, KeywordScorer(windower), windower, Thresholds(review=0.5, high=0.8), "test@1",
                            StateConfig(tail_messages=8), RetentionConfig())
        messages = 0
        for c in range(conversations):
            cid = f"conv-{c:03d}"
            for part in range(2):
                batch = [Message(author=("ana", "ben")[i % 2], text=LINES[(c + i + part) % len(LINES)],
                                 message_id=f"{cid}-m{part}-{i}") for i in range(3)]
                svc.append_messages(cid, batch)
                messages += len(batch)
        cases = [c.case_id for c in svc.list_cases(None, None, 1000, 0).items]
        decided: dict[str, str] = {}
        for i, case_id in enumerate(cases):
            decision = ("confirmed", "dismissed", "escalated", None)[i % 4]
            if decision is not None:
                svc.decide(case_id, decision, "checked by the test", actor="mod-a")  # type: ignore[arg-type]
                decided[case_id] = decision
        keys = {}
        for name, scope in (("gateway", "score"), ("reviewers", "review"), ("old", "score")):
            info, plain = create_key(store, name, {scope})
            keys[info.key_id] = plain
        revoked = next(iter(keys))
        revoke_key(store, revoked)
        users = ["mod-a", "lead-b"]
        for name, role in zip(users, ("moderator", "lead"), strict=True):
            create_user(store, name, role, "a long test password", DeskConfig())
        return Filled(conversations, messages, cases, decided, keys, revoked, users)
    finally:
        store.close()
