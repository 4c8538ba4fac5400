"""Moderator desk over HTTP (TestClient, real tiny model, real SQLite): login, CSRF, roles, claims,
decisions through the review service, headers, report drafts, lead figures, no message text in logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from benchmarks.support.server import SYNTHETIC_THREAD, auth, make_keys, msg, running_app
from groomguard.serving.settings import ServeConfig
from tests.support.desk import PASSWORD, add_user, csrf_of, desk_config, login

SECRET_TEXT = "the purple-giraffe marker phrase"  # must never appear in any log record


@pytest.fixture(scope="module")
def desk(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[TestClient, dict[str, str], ServeConfig]]:
    cfg = desk_config(tmp_path_factory.mktemp("desk") / "gg.db", "desk.lockout_after=3")
    for name, role in (("mo", "moderator"), ("max", "moderator"), ("lea", "lead")):
        add_user(cfg, name, role)
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        yield client, keys, cfg


def _open_case(client: TestClient, keys: dict[str, str], conv: str, extra: str | None = None) -> str:
    case_id = None
    thread = [*SYNTHETIC_THREAD, ("adult_x", extra)] if extra else SYNTHETIC_THREAD
    for i, (author, text) in enumerate(thread):
        r = client.post(f"/v1/conversations/{conv}/messages", headers=auth(keys["score"]),
                        json={"messages": [msg(author, text, f"m-{i}", f"2025-03-01T18:0{i}:00Z")]})
        assert r.status_code == 200, r.text
        case_id = r.json()["case_id"]
    assert case_id
    return case_id


def test_login_sets_a_strict_httponly_cookie_and_wrong_password_is_refused(desk, tiny_bundle_dir: Path,
                                                                           tmp_path: Path) -> None:
    client, _, _ = desk
    client.cookies.clear()
    assert client.get("/review", follow_redirects=False).headers["location"] == "/review/login"
    page = client.get("/review/login")
    bad = client.post("/review/login", data={"username": "mo", "password": "nope", "csrf": csrf_of(page.text)})
    assert bad.status_code == 401 and "Wrong name or password" in bad.text
    no_token = client.post("/review/login", data={"username": "mo", "password": PASSWORD})
    assert no_token.status_code == 403
    r = client.post("/review/login", data={"username": "mo", "password": PASSWORD, "csrf": csrf_of(no_token.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("gg_desk=")).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/review" in cookie
    assert "secure" not in cookie  # desk.secure_cookie=false in this config
    # with the shipped default (secure_cookie: true) the flag is set
    cfg = desk_config(tmp_path / "s.db", "desk.secure_cookie=true")
    add_user(cfg, "sec", "moderator")
    from groomguard.serving.api.app import create_app

    with TestClient(create_app(cfg, tiny_bundle_dir), base_url="https://testserver") as other:
        page = other.get("/review/login")
        r = other.post("/review/login", data={"username": "sec", "password": PASSWORD, "csrf": csrf_of(page.text)},
                       follow_redirects=False)
        assert "; secure" in next(h for h in r.headers.get_list("set-cookie") if h.startswith("gg_desk=")).lower()


def test_pages_carry_no_store_and_a_strict_csp(desk) -> None:
    client, keys, _ = desk
    login(client, "mo")
    case_id = _open_case(client, keys, "hdr-1")
    for path in ("/review/login", "/review", f"/review/cases/{case_id}", "/review/static/desk.css"):
        r = client.get(path)
        assert r.headers["cache-control"] == "no-store", path
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
    assert "'self'" not in client.get("/healthz").headers.get("content-security-policy", "")


@pytest.mark.parametrize("path,data", [
    ("/review/cases/{case}/decision", {"decision": "dismissed", "note": "x"}),
    ("/review/cases/{case}/claim", {}),
    ("/review/cases/{case}/assign", {"assignee": "mo"}),
    ("/review/cases/{case}/second-review/request", {}),
    ("/review/cases/{case}/second-review", {"decision": "dismissed"}),
    ("/review/settings", {"blur": "off"}),
    ("/review/logout", {}),
])
def test_every_form_post_without_the_csrf_token_is_refused(desk, path: str, data: dict[str, str]) -> None:
    client, keys, _ = desk
    case_id = _open_case(client, keys, f"csrf-{abs(hash(path)) % 10_000}")
    token = login(client, "lea")
    url = path.format(case=case_id)
    assert client.post(url, data=data).status_code == 403
    assert client.post(url, data={**data, "csrf": token[:-2] + "xx"}).status_code == 403
    # nothing happened: the case is still open and unclaimed, the session still works
    page = client.get(f"/review/cases/{case_id}")
    assert page.status_code == 200
    assert '<dd id="case-status">open</dd>' in page.text and '<dd id="claimed-by">nobody</dd>' in page.text


def test_moderator_cannot_reach_lead_pages(desk) -> None:
    client, _, _ = desk
    login(client, "mo")
    assert client.get("/review/lead").status_code == 403
    assert client.get("/review/lead/export").status_code == 403
    assert "Lead view" not in client.get("/review").text
    login(client, "lea")
    assert client.get("/review/lead").status_code == 200


def test_claims_keep_two_moderators_apart_and_a_lead_can_reassign(desk) -> None:
    client, keys, _ = desk
    case_id = _open_case(client, keys, "claim-1")
    token = login(client, "mo")
    assert client.post(f"/review/cases/{case_id}/claim", data={"csrf": token}).status_code == 200
    token = login(client, "max")
    assert client.post(f"/review/cases/{case_id}/claim", data={"csrf": token}).status_code == 409
    r = client.post(f"/review/cases/{case_id}/decision", data={"csrf": token, "decision": "dismissed"})
    assert r.status_code == 409 and "claimed by mo" in r.text
    assert client.post(f"/review/cases/{case_id}/assign", data={"csrf": token, "assignee": "max"}).status_code == 403
    token = login(client, "lea")
    page = client.post(f"/review/cases/{case_id}/assign", data={"csrf": token, "assignee": "max"})
    assert '<dd id="claimed-by">max</dd>' in page.text
    token = login(client, "max")
    mine = client.get("/review", params={"mine": "1"}).text
    assert case_id in mine
    r = client.post(f"/review/cases/{case_id}/decision", data={"csrf": token, "decision": "confirmed"})
    assert r.status_code == 200
    actions = [a["action"] for a in client.get(f"/v1/cases/{case_id}", headers=auth(keys["review"])).json()["audit"]]
    assert actions == ["opened", "claim", "assign", "decision:confirmed"]


def test_decision_from_the_desk_is_the_review_service_decision(desk, caplog: pytest.LogCaptureFixture) -> None:
    client, keys, _ = desk
    caplog.set_level(logging.DEBUG)
    case_id = _open_case(client, keys, "decide-1", extra=SECRET_TEXT)
    token = login(client, "mo")
    page = client.get(f"/review/cases/{case_id}").text
    assert SECRET_TEXT in page and "<details class=\"reveal\" >" in page  # in the page, closed (blurred)
    r = client.post(f"/review/cases/{case_id}/decision",
                    data={"csrf": token, "decision": "dismissed", "note": "friendly art chat"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/review?done={case_id}"
    api = client.get(f"/v1/cases/{case_id}", headers=auth(keys["review"])).json()
    assert (api["status"], api["decided_by"], api["note"]) == ("dismissed", "mo", "friendly art chat")
    assert case_id not in client.get("/review").text  # left the open queue
    assert case_id in client.get("/review", params={"status": "dismissed"}).text
    again = client.post(f"/review/cases/{case_id}/decision", data={"csrf": token, "decision": "confirmed"})
    assert again.status_code == 409
    assert all(SECRET_TEXT not in rec.getMessage() for rec in caplog.records)


def test_blur_setting_is_per_user(desk) -> None:
    client, keys, _ = desk
    case_id = _open_case(client, keys, "blur-1")
    token = login(client, "max")
    assert '<details class="reveal" >' in client.get(f"/review/cases/{case_id}").text
    client.post("/review/settings", data={"csrf": token, "blur": "off", "back": f"/review/cases/{case_id}"})
    assert '<details class="reveal" open>' in client.get(f"/review/cases/{case_id}").text
    login(client, "mo")  # someone else still gets blurred text
    assert '<details class="reveal" >' in client.get(f"/review/cases/{case_id}").text
    token = login(client, "max")
    client.post("/review/settings", data={"csrf": token, "blur": "on"})


def test_escalated_case_downloads_a_report_draft(desk) -> None:
    client, keys, _ = desk
    case_id = _open_case(client, keys, "esc-1")
    token = login(client, "mo")
    assert client.get(f"/review/cases/{case_id}/report-draft.json").status_code == 409  # open: no draft
    client.post(f"/review/cases/{case_id}/decision", data={"csrf": token, "decision": "escalated", "note": "urgent"})
    r = client.get(f"/review/cases/{case_id}/report-draft.json")
    assert r.status_code == 200 and "DRAFT" in r.headers["content-disposition"]
    draft = json.loads(r.text)
    assert draft["status"] == "DRAFT" and draft["sent"] is False
    assert draft["incident"]["type"] == "Online Enticement of Children"
    assert draft["incident"]["first_message_at"].startswith("2025-03-01T18:00:00")
    assert draft["incident"]["last_message_at"].startswith("2025-03-01T18:05:00")
    assert [a["account_id"] for a in draft["reported_accounts"]] == ["adult_x", "kid_y"]
    assert [e["message_id"] for e in draft["evidence"]] == [f"m-{i}" for i in range(6)]
    assert draft["evidence"][3]["timestamp"].startswith("2025-03-01T18:03:00")
    assert [(n["by"], n["note"]) for n in draft["reviewer_notes"]] == [("mo", "urgent")]


def test_lead_view_counts_decisions_and_second_review_agreement(desk) -> None:
    client, keys, _ = desk
    a, b = _open_case(client, keys, "lead-1"), _open_case(client, keys, "lead-2")
    token = login(client, "mo")
    for case_id in (a, b):
        client.post(f"/review/cases/{case_id}/decision", data={"csrf": token, "decision": "dismissed"})
    token = login(client, "lea")
    before = client.get("/review/lead").text
    for case_id in (a, b):
        client.post(f"/review/cases/{case_id}/second-review/request", data={"csrf": token})
    token = login(client, "mo")  # the first decider may not give the second opinion
    assert client.post(f"/review/cases/{a}/second-review",
                       data={"csrf": token, "decision": "dismissed"}).status_code == 409
    token = login(client, "max")
    blind = client.get(f"/review/cases/{a}").text
    assert "decision:dismissed" not in blind  # blind to the first verdict
    client.post(f"/review/cases/{a}/second-review", data={"csrf": token, "decision": "dismissed"})
    client.post(f"/review/cases/{b}/second-review", data={"csrf": token, "decision": "confirmed"})
    login(client, "lea")
    page = client.get("/review/lead").text
    assert "1 of 2 second reviews agree" in page and "(50%)" in page
    assert "No second reviews completed yet." in before
    export = client.get("/review/lead/export")
    lines = [json.loads(x) for x in export.text.splitlines()]
    assert {x["conversation_id"]: x["label"] for x in lines}.get("lead-1") == 0


@pytest.mark.parametrize("case_id", ["case-nope", "bad%00id", "x" * 300])
def test_unknown_or_malformed_case_ids_are_404_pages(desk, case_id: str) -> None:
    client, _, _ = desk
    token = login(client, "lea")
    assert client.get(f"/review/cases/{case_id}").status_code == 404
    r = client.post(f"/review/cases/{case_id}/decision", data={"csrf": token, "decision": "dismissed"})
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
