"""Message text and author handles never reach logs or error bodies (the crash test checks a real
uvicorn's output the same way)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from benchmarks.support.server import auth, make_config, make_keys, running_app

TEXT = "pv-distinctive-text-5521"
HANDLE = "pv-handle-9910"


def test_no_text_or_handles_in_logs_or_errors(tiny_bundle_dir: Path, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = make_config(tmp_path / "gg.db", "thresholds={review: 0.0, high: 1.0}", "limits.max_chars_per_message=100")
    keys = make_keys(cfg)
    errors: list[str] = []
    with running_app(cfg, tiny_bundle_dir) as client:
        h = auth(keys["score"])
        m = {"author": HANDLE, "text": f"{TEXT} where do you live?", "message_id": "p-1"}
        r = client.post("/v1/conversations/priv-1/messages", json={"messages": [m]}, headers=h)
        assert r.status_code == 200
        case_id = r.json()["case_id"]
        r = client.post("/v1/score", json={"conversations": [{"conversation_id": "priv-2", "messages": [m]}],
                                           "route": True}, headers=h)
        assert r.status_code == 200
        bad_bodies = [
            {"messages": [{**m, "timestamp": TEXT}]},
            {"messages": [{**m, "texte": TEXT}]},
            {"messages": [{**m, "text": TEXT * 10}]},
            {"messages": [{"author": HANDLE, "text": [TEXT]}]},
            {"messages": [{"author": [HANDLE], "text": TEXT}]},
            {"messages": TEXT},
        ]
        for body in bad_bodies:
            r = client.post("/v1/conversations/priv-1/messages", json=body, headers=h)
            assert 400 <= r.status_code < 500
            errors.append(r.text)
        r = client.post("/v1/conversations/priv-1/messages", content=f'{{"messages": [{{"text": "{TEXT}"'.encode(),
                        headers={**h, "content-type": "application/json"})
        assert r.status_code == 400
        errors.append(r.text)
        # wrong scope / bad key with text in the body
        errors.append(client.post("/v1/conversations/priv-1/messages", json={"messages": [m]},
                                  headers=auth(keys["review"])).text)
        errors.append(client.post("/v1/conversations/priv-1/messages", json={"messages": [m]},
                                  headers=auth(TEXT)).text)
        review = auth(keys["review"])
        assert client.get(f"/v1/cases/{case_id}", headers=review).status_code == 200
        assert client.post(f"/v1/cases/{case_id}/decision", json={"decision": "escalated"},
                           headers=review).status_code == 200
        assert client.get("/v1/cases/export", headers=auth(keys["admin"])).status_code == 200
        # accounts (issue 25): the handle in three conversations with three counterparts opens an
        # account case (default rule) and its log line; aggregates only, no message text; the author is
        # in the path, never in logs
        for i in range(3):
            for who in (f"{HANDLE}-peer{i}", HANDLE):
                r = client.post(f"/v1/conversations/priv-acct-{i}/messages", headers=h,
                                json={"messages": [{**m, "author": who, "message_id": f"pa-{who}"}]})
                assert r.status_code == 200
        for path in ("/v1/accounts", f"/v1/accounts/{HANDLE}"):
            r = client.get(path, headers=review)
            assert r.status_code == 200 and HANDLE in r.text, path  # the account is the answer ...
            assert TEXT not in r.text, path  # ... its messages never are
        r = client.get(f"/v1/accounts/{HANDLE}-unknown", headers=review)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        errors.append(r.text)
    # the test client's own request log (httpx) names the URL the test asked for, an author included;
    # what is checked is everything the server and groomguard logged
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records if not r.name.startswith("httpx"))
    assert "groomguard.access" in {r.name for r in caplog.records}, "logs were not captured: test is void"
    assert "/v1/conversations/{conversation_id}/messages" in logged
    assert "/v1/accounts/{author}" in logged, "the accounts route is logged by its template"
    assert "account case" in logged, "no account case was opened: the account part of this test is void"
    for body in errors:
        assert TEXT not in body and HANDLE not in body, body
    assert TEXT not in logged, "message text in logs"
    assert HANDLE not in logged, "author handle in logs"
