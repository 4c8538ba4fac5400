"""Fixtures for the store/review/keys/retention tests: real SQLite files and real PostgreSQL.

PostgreSQL tests read `GROOMGUARD_TEST_POSTGRES_URL` (set by .ci/run) and are skipped, visibly, when
it is unset. Each test gets its own schema (unique name, dropped afterwards) so concurrent runs on
the same server never see each other's rows. Test modules enable them with
`pytest_plugins = ["tests.support.store_fixtures"]`; importable helpers are in tests/support/store.py.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from groomguard.serving.store import Store, StoreConfig, open_store
from groomguard.windowing import Windower
from tests.support.store import make_windower, tokenizer_path

PG_ENV = "GROOMGUARD_TEST_POSTGRES_URL"


def pg_base_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


class PgSchema:
    """A uniquely named schema on the test server, dropped on exit."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.name = f"gg_test_{uuid.uuid4().hex[:12]}"
        self.url = with_schema(base_url, self.name)
        self._admin = create_engine(base_url)

    def __enter__(self) -> PgSchema:
        with self._admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        return self

    def __exit__(self, *exc: object) -> None:
        with self._admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self._admin.dispose()


def fresh_pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema's URL for one test (skips when no server is configured)."""
    base = pg_base_url()
    if not base:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    with PgSchema(base) as schema:
        yield schema.url


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from fresh_pg_schema()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'groomguard.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Runs a test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'groomguard.db'}"
        return
    yield from fresh_pg_schema()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(StoreConfig(url=db_url))
    yield s
    s.close()


@pytest.fixture(scope="session")
def windower() -> Windower:
    return make_windower(tokenizer_path())
