"""Store faults are 503 problem+json with Retry-After on every route, never 500 and never a 200 that
stores nothing; /readyz reports them and recovers when the fault clears.

Faults are real: a SQLite file chmod-ed read-only, a SQLite directory deleted under the running
server, and a PostgreSQL database that stops accepting connections (its sessions terminated).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks.support.server import auth, make_config, make_keys, msg, running_app
from tests.support.store_fixtures import PG_ENV


def _append(client: TestClient, key: str, conv: str, mid: str) -> Any:
    return client.post(f"/v1/conversations/{conv}/messages", json={"messages": [msg("a", "hello there", mid)]},
                       headers=auth(key))


def _assert_503(r: Any) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["status"] == 503


def _every_route(client: TestClient, keys: dict[str, str], case_id: str) -> dict[str, Any]:
    """One request per store-touching route (auth key lookups included: the key cache is off)."""
    score = {"conversations": [{"conversation_id": "s", "messages": [msg("a", "hi")]}], "route": True}
    return {
        "append": _append(client, keys["score"], "c-fault", "m-new"),
        "score": client.post("/v1/score", json=score, headers=auth(keys["score"])),
        "list": client.get("/v1/cases", headers=auth(keys["review"])),
        "get": client.get(f"/v1/cases/{case_id}", headers=auth(keys["review"])),
        "decide": client.post(f"/v1/cases/{case_id}/decision", json={"decision": "dismissed"},
                              headers=auth(keys["review"])),
        "export": client.get("/v1/cases/export", headers=auth(keys["admin"])),
    }


def _open_case(client: TestClient, keys: dict[str, str]) -> str:
    r = _append(client, keys["score"], "c-fault", "m-1")
    assert r.status_code == 200, r.text
    assert r.json()["case_id"], "thresholds 0 open a case on the first append"
    return str(r.json()["case_id"])


def test_read_only_sqlite_file_refuses_appends_then_recovers(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "var" / "gg.db"
    cfg = make_config(db, "thresholds={review: 0.0, high: 1.0}")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        _open_case(client, keys)  # pooled connections were opened read-write
        db.chmod(0o444)
        try:
            _assert_503(_append(client, keys["score"], "c-fault", "m-2"))
            listed = client.get("/v1/cases", headers=auth(keys["review"]))
            assert listed.status_code == 200 and listed.json()["total"] == 1  # reads still work
        finally:
            db.chmod(0o644)
        r = _append(client, keys["score"], "c-fault", "m-2")
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text  # recovered: the 503 stored nothing


def test_read_only_sqlite_file_makes_readyz_503(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "var" / "gg.db"
    cfg = make_config(db, "readiness.check_interval_s=0")
    make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        assert client.get("/readyz").status_code == 200
        db.chmod(0o444)
        try:
            ready = client.get("/readyz")
        finally:
            db.chmod(0o644)
        assert ready.status_code == 503
        body = ready.json()
        assert body["store_ok"] is False and body["model_ok"] is True and body["backend_ok"] is True
        assert client.get("/readyz").status_code == 200


def test_deleted_sqlite_directory_is_503_everywhere(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "var" / "gg.db"
    cfg = make_config(db, "thresholds={review: 0.0, high: 1.0}", "readiness.check_interval_s=0")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        case_id = _open_case(client, keys)
        shutil.rmtree(db.parent)
        for name, r in _every_route(client, keys, case_id).items():
            assert r.status_code == 503, (name, r.status_code, r.text)
            _assert_503(r)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["store_ok"] is False
        assert client.get("/healthz").status_code == 200


@pytest.fixture
def pg_database() -> Iterator[tuple[str, Any]]:
    """A database created for this test (dropped afterwards) and an admin engine on the base URL."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL tests skipped")
    name = f"{make_url(base).database}_fault_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False), (admin, name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _set_reachable(admin: Any, name: str, reachable: bool) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if reachable else "false"}'))
        if not reachable:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": name})


@pytest.mark.postgres
def test_postgres_refusing_connections_is_503_everywhere_then_recovers(
        tiny_bundle_dir: Path, tmp_path: Path, pg_database: tuple[str, Any]) -> None:
    url, (admin, name) = pg_database
    cfg = make_config(tmp_path / "unused.db", f"store.url={url}", "thresholds={review: 0.0, high: 1.0}",
                      "readiness.check_interval_s=0")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        case_id = _open_case(client, keys)
        _set_reachable(admin, name, False)
        try:
            for route, r in _every_route(client, keys, case_id).items():
                assert r.status_code == 503, (route, r.status_code, r.text)
                _assert_503(r)
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["store_ok"] is False
        finally:
            _set_reachable(admin, name, True)
        assert client.get("/readyz").status_code == 200
        r = _append(client, keys["score"], "c-fault", "m-2")
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


def test_stuck_model_backend_is_503_and_not_ready_then_recovers(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    """issue 22: a model call that never returns must not freeze the server. With engine.infer_timeout_s
    the readiness probe gives up (model_ok false) instead of hanging /readyz, an append whose batch is
    stuck gets 503 + Retry-After within the timeout, /readyz stays 503 (backend_ok false) while the call
    is stuck, and everything is back once the model answers again."""
    import threading
    import time

    cfg = make_config(tmp_path / "var" / "gg.db", "engine.infer_timeout_s=0.5", "readiness.check_interval_s=0")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        backend = client.app.state.services.engine.backend  # type: ignore[attr-defined]
        answers = backend.infer
        release = threading.Event()

        def stuck(input_ids: Any, attention_mask: Any) -> Any:
            release.wait()
            return answers(input_ids, attention_mask)

        backend.infer = stuck  # the instance's method: every path to the model goes through it
        try:
            t0 = time.monotonic()
            ready = client.get("/readyz")  # the probe inference is stuck: given up after the timeout
            assert ready.status_code == 503 and ready.json()["model_ok"] is False
            append = _append(client, keys["score"], "c-stuck", "m-1")
            _assert_503(append)
            assert "backend unavailable" in append.json()["detail"]
            assert time.monotonic() - t0 < 10  # 2 x 0.5 s of timeout plus slack: no request hung
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["backend_ok"] is False
        finally:
            release.set()
            backend.infer = answers
        deadline = time.monotonic() + 10
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "not ready again after the model answered"
            time.sleep(0.05)
        r = _append(client, keys["score"], "c-stuck", "m-1")
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
