"""A full store: appends answer 503 problem+json with Retry-After and store nothing, /readyz is 503
while full, no acknowledged append is lost, and the service recovers by itself when space returns.

How "full" is made, honestly:
- SQLite: `PRAGMA max_page_count` on the server's connections (set by a connect hook, as an
  operator's quota would be). SQLite itself then fails page allocation with SQLITE_FULL, the same
  result code and code path as a disk with no space left. Chosen over a small tmpfs/loop mount,
  which needs root and is refused on many CI machines. Raising the limit is "space returning".
- PostgreSQL: a full disk cannot be made without a small mounted filesystem for a tablespace (root
  again). Instead a statement-level trigger on every store table makes the real server raise
  SQLSTATE 53100 `disk_full` (`RAISE ... USING ERRCODE = 'disk_full'`), the error PostgreSQL gives
  when it cannot extend a file; the driver, SQLAlchemy and the service see exactly that error.
  Clearing the trigger's switch is "space returning".
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text

from benchmarks.support.server import auth, make_config, make_keys, msg, running_app
from tests.support.ops import pg_databases

# ~400 characters of innocuous text: each append needs room, so the cap is reached quickly
TEXT = ("we are planning the class picnic for saturday, bring sandwiches and a ball; "
        "the bus leaves at nine from the school gate and comes back around four. ") * 3


def _append(client: TestClient, key: str, conv: str, mid: str) -> Any:
    return client.post(f"/v1/conversations/{conv}/messages", json={"messages": [msg("ana", TEXT, mid)]},
                       headers=auth(key))


def _assert_full_503(r: Any) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["status"] == 503 and "full" in r.json()["detail"]
    assert "picnic" not in r.text  # no message text in the answer


def _wait_ready(client: TestClient, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "not ready again after space returned"
        time.sleep(0.1)


def _fill_until_full(client: TestClient, key: str, acked: list[str], refused: list[str]) -> None:
    """Append over many conversations until the store refuses one; record what was acknowledged."""
    for i in range(5000):
        mid = f"m-{i}"
        r = _append(client, key, f"c-{i % 40}", mid)
        if r.status_code == 200:
            assert r.json()["accepted"] == 1
            acked.append(mid)
            continue
        _assert_full_503(r)
        refused.append(mid)
        return
    raise AssertionError("the store never became full")


def _stored_ids(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {str(r[0]) for r in conn.execute(text("SELECT message_id FROM message_receipts"))}
    finally:
        engine.dispose()


def test_sqlite_full_database_is_503_not_ready_then_recovers(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "var" / "gg.db"
    cfg = make_config(db, "readiness.check_interval_s=0")
    keys = make_keys(cfg)
    acked: list[str] = []
    refused: list[str] = []
    with running_app(cfg, tiny_bundle_dir) as client:
        store = client.app.state.services.store  # type: ignore[attr-defined]
        cap: dict[str, int | None] = {"pages": None}

        @event.listens_for(store.engine, "connect")
        def _quota(dbapi_conn: Any, _record: Any) -> None:
            if cap["pages"] is not None:
                dbapi_conn.execute(f"PRAGMA max_page_count = {cap['pages']}")

        for i in range(20):
            assert _append(client, keys["score"], f"c-{i % 40}", f"warm-{i}").status_code == 200
            acked.append(f"warm-{i}")
        with sqlite3.connect(db) as probe:
            pages = int(probe.execute("PRAGMA page_count").fetchone()[0])
        cap["pages"] = pages + 8  # a few pages of room left, then SQLITE_FULL
        store.reconnect()  # the quota applies from the next connection on (what a restart would do)
        assert client.get("/readyz").status_code == 200  # room left: still ready

        _fill_until_full(client, keys["score"], acked, refused)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["store_ok"] is False and ready.json()["model_ok"] is True
        for j in range(3):  # stays refused while full; nothing is half-stored
            r = _append(client, keys["score"], "c-big", f"late-{j}")
            if r.status_code == 503:
                _assert_full_503(r)
                refused.append(f"late-{j}")
            else:
                acked.append(f"late-{j}")
        assert client.get("/readyz").status_code == 503
        assert not set(refused) & _stored_ids(f"sqlite:///{db}"), "a refused append was stored"
        assert set(acked) <= _stored_ids(f"sqlite:///{db}"), "an acknowledged append is missing"

        cap["pages"] = pages + 100_000  # space returns; no restart, no call into the server
        _wait_ready(client)
        for mid in refused:  # the clients' retries now succeed
            r = _append(client, keys["score"], "c-retry", mid)
            assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    stored = _stored_ids(f"sqlite:///{db}")
    assert set(acked) <= stored and set(refused) <= stored
    assert len(acked) >= 20 and refused


@pytest.mark.postgres
def test_postgres_disk_full_is_503_not_ready_then_recovers(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    with pg_databases(1) as (url,):
        cfg = make_config(tmp_path / "unused.db", f"store.url={url}", "readiness.check_interval_s=0",
                          "thresholds={review: 0.0, high: 1.0}")  # every conversation opens a case
        keys = make_keys(cfg)  # migrates the fresh database
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE TABLE gg_fault (is_full boolean NOT NULL)"))
            conn.execute(text("INSERT INTO gg_fault VALUES (false)"))
            conn.execute(text(
                "CREATE FUNCTION gg_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF (SELECT is_full FROM gg_fault) THEN RAISE EXCEPTION 'could not extend file: No space left on "
                "device' USING ERRCODE = 'disk_full'; END IF; RETURN NULL; END $$"))
            tables = [r[0] for r in conn.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                "AND table_type = 'BASE TABLE' AND table_name <> 'gg_fault'"))]
            for t in tables:
                conn.execute(text(f'CREATE TRIGGER gg_disk_full BEFORE INSERT OR UPDATE OR DELETE ON "{t}" '
                                  "FOR EACH STATEMENT EXECUTE FUNCTION gg_disk_full()"))
        acked: list[str] = []
        refused: list[str] = []
        try:
            with running_app(cfg, tiny_bundle_dir) as client:
                case_id = None
                for i in range(10):
                    r = _append(client, keys["score"], f"c-{i % 4}", f"m-{i}")
                    assert r.status_code == 200, r.text
                    case_id = case_id or r.json()["case_id"]
                    acked.append(f"m-{i}")
                assert case_id
                with admin.connect() as conn:
                    conn.execute(text("UPDATE gg_fault SET is_full = true"))
                for i in range(10, 13):
                    r = _append(client, keys["score"], f"c-{i % 4}", f"m-{i}")
                    _assert_full_503(r)
                    refused.append(f"m-{i}")
                # other writes: a decision, and bulk scoring that routes (opens a case)
                decision = client.post(f"/v1/cases/{case_id}/decision", json={"decision": "dismissed"},
                                       headers=auth(keys["review"]))
                _assert_full_503(decision)
                routed = client.post("/v1/score", headers=auth(keys["score"]), json={
                    "conversations": [{"conversation_id": "bulk-1", "messages": [msg("ana", TEXT)]}], "route": True})
                _assert_full_503(routed)
                listed = client.get("/v1/cases", headers=auth(keys["review"]))
                assert listed.status_code == 200  # reads keep working
                ready = client.get("/readyz")
                assert ready.status_code == 503 and ready.json()["store_ok"] is False
                assert set(acked) <= _stored_ids(url) and not set(refused) & _stored_ids(url)
                with admin.connect() as conn:
                    conn.execute(text("UPDATE gg_fault SET is_full = false"))
                _wait_ready(client)
                for i, mid in enumerate(refused):
                    r = _append(client, keys["score"], f"c-{i % 4}", mid)
                    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
                decision = client.post(f"/v1/cases/{case_id}/decision", json={"decision": "dismissed"},
                                       headers=auth(keys["review"]))
                assert decision.status_code == 200, decision.text
            assert set(acked) | set(refused) <= _stored_ids(url)
        finally:
            admin.dispose()
