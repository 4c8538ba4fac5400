"""Log safety: a client-supplied value cannot forge a log line (the issue's forged conversation id)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from benchmarks.support.server import auth, make_config, make_keys, msg, running_app
from groomguard.serving.logsafe import EscapeControlChars, escape_control

FORGED = "ERROR groomguard.access: FORGED"


def test_forged_newline_in_a_conversation_id_stays_on_one_line(
        tiny_bundle_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    # review threshold 0: every append opens a case, and opening a case logs the conversation id
    cfg = make_config(tmp_path / "gg.db", "thresholds={review: 0.0, high: 1.0}")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        path = "/v1/conversations/x%0A2025-01-01 00:00:00,000 " + FORGED.replace(" ", "%20") + "/messages"
        r = client.post(path, json={"messages": [msg("a", "hello")]}, headers=auth(keys["score"]))
        assert r.status_code == 200 and r.json()["case_opened"], r.text
        r = client.post("/v1/score", json={"route": True, "conversations": [
            {"conversation_id": "y\r\n" + FORGED, "messages": [msg("a", "hello")]}]}, headers=auth(keys["score"]))
        assert r.status_code == 200 and r.json()["results"][0]["case_id"], r.text
    # Rendered as `groomguard serve` renders them; the test client's own httpx log is not the server's.
    fmt = logging.Formatter("%(levelname)s %(name)s: %(message)s")  # each real line starts with a level
    server = [fmt.format(r) for r in caplog.records if not r.name.startswith("httpx")]
    lines = "\n".join(server).splitlines()
    forged = [line for line in lines if "FORGED" in line]
    assert len(forged) == 2, forged  # one log line per request that carried the forged id ...
    assert all("case " in line and "opened for conversation" in line for line in forged), forged
    assert all(line.startswith(("INFO ", "WARNING ")) for line in lines), lines  # ... and no line of its own
    text = "\n".join(server)
    assert "\\n2025-01-01" in text and "\\r\\n" in text  # the escapes are visible to operators


def test_filter_escapes_what_reached_a_log_call_unquoted() -> None:
    record = logging.LogRecord("groomguard.x", logging.INFO, __file__, 1, "conversation %s", ("a\nb\x1b[31m\u2028c",),
                               None)
    assert EscapeControlChars().filter(record) is True
    assert record.getMessage() == "conversation a\\nb\\x1b[31m\\u2028c"
    assert escape_control("tab\tstays") == "tab\tstays"  # a tab cannot start a line
