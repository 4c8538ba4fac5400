"""What escapes every exception handler: a machine fault (disk full, descriptors exhausted, a raw
sqlite3 error) is 503 + Retry-After like any other fault; a bug is 500. Both are problem+json,
both are one access-log line naming the class, neither puts a traceback or input in the log."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from benchmarks.support.server import auth, make_config, make_keys, msg, running_app


@pytest.mark.parametrize(("exc", "status"), [
    (OSError(28, "No space left on device"), 503),
    (sqlite3.OperationalError("disk I/O error"), 503),
    (MemoryError(), 503),
    (KeyError("a bug"), 500),
])
def test_unhandled_exception_status(exc: BaseException, status: int, tiny_bundle_dir: Path, tmp_path: Path,
                                    caplog: pytest.LogCaptureFixture) -> None:
    cfg = make_config(tmp_path / "gg.db")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        async def fail(*_: object) -> None:
            raise exc

        client.app.state.services.review.appends.append = fail  # type: ignore[attr-defined]
        with caplog.at_level(logging.INFO, logger="groomguard.access"):
            r = client.post("/v1/conversations/c-secret-id/messages", json={"messages": [msg("a", "private words")]},
                            headers=auth(keys["score"]))
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == status
    assert (r.headers.get("retry-after") == "1") is (status == 503)
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "groomguard.access"]
    unhandled = [line for line in lines if line.startswith("unhandled")]
    template = "/v1/conversations/{conversation_id}/messages"
    assert unhandled == [f"unhandled {type(exc).__name__} on {template}" + (" (answered 503)" if status == 503 else "")]
    assert [line.split()[:3] for line in lines if line.startswith("POST")] == [["POST", template, str(status)]]
    assert not any("private words" in line or "c-secret-id" in line or "No space" in line for line in lines)
    assert not any(rec.exc_info for rec in caplog.records)
