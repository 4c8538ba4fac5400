"""The moderator desk in real headless Chromium against a real server (uvicorn, tiny model, SQLite).

Log in, see a case opened by streaming appends, reveal a blurred message, dismiss it with a note, see
it leave the queue and enter the case history; a POST without the CSRF token is refused; a moderator
cannot open the lead view; screenshots of the queue and case pages are saved and are not blank.
With GROOMGUARD_UPDATE_SCREENSHOTS=1 they are also copied to docs/img/ (the README shows them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.support.server import SYNTHETIC_THREAD, auth, make_keys, msg
from tests.support.browser import chromium, desk_login, keep_screenshots, served_app, sync_api_or_skip, watch
from tests.support.desk import PASSWORD, add_user, desk_config

pytestmark = pytest.mark.browser


@pytest.fixture()
def server(tiny_bundle_dir: Path, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    from groomguard.serving.api.app import create_app

    cfg = desk_config(tmp_path / "gg.db", "desk.break_reminder_minutes=30")
    add_user(cfg, "mo", "moderator")
    keys = make_keys(cfg)
    with served_app(create_app(cfg, tiny_bundle_dir)) as base, httpx.Client(base_url=base, timeout=30) as client:
        for i, (author, text) in enumerate(SYNTHETIC_THREAD):  # streaming appends open the case
            r = client.post("/v1/conversations/art-chat-1/messages", headers=auth(keys["score"]),
                            json={"messages": [msg(author, text, f"m-{i}", f"2025-03-01T18:0{i}:00Z")]})
            assert r.status_code == 200 and r.json()["case_id"], r.text
        yield base, keys


def test_moderator_works_a_case_in_chromium(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    sync_api = sync_api_or_skip()
    base, keys = server
    hidden_text = SYNTHETIC_THREAD[2][1]
    with chromium(sync_api) as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        seen = watch(page)
        page.goto(f"{base}/review")
        assert page.url.endswith("/review/login")
        desk_login(page, base)
        link = page.locator("a.case-link")
        assert link.count() == 1
        case_id = link.first.inner_text()
        page.screenshot(path=str(tmp_path / "desk-queue.png"), full_page=True)

        link.first.click()
        page.wait_for_url(f"{base}/review/cases/{case_id}")
        text = page.get_by_text(hidden_text)
        assert not text.is_visible()  # blurred (closed) by default
        page.locator("#m-2 summary").click()
        assert text.is_visible()
        assert not page.get_by_text(SYNTHETIC_THREAD[4][1]).is_visible()  # only that one revealed
        page.wait_for_function("/^\\d+:\\d\\d$/.test(document.getElementById('exposure-time').textContent)")
        assert page.locator("svg.strip rect.bar").count() == len(SYNTHETIC_THREAD)
        page.screenshot(path=str(tmp_path / "desk-case.png"), full_page=True)

        refused = page.request.post(f"{base}/review/cases/{case_id}/decision",
                                    form={"decision": "confirmed", "note": "no token"})
        assert refused.status == 403

        page.fill("textarea[name=note]", "art-class chat, no grooming pattern")
        page.click("button[name=decision][value=dismissed]")
        page.wait_for_url(re.compile(r".*/review\?done=.*"))
        assert page.locator("a.case-link").count() == 0  # left the open queue
        page.goto(f"{base}/review/cases/{case_id}")
        history = page.locator("#audit").inner_text()
        assert "decision:dismissed" in history and "art-class chat, no grooming pattern" in history
        assert page.locator("#case-status").inner_text() == "dismissed"
        # includes CSP violations: the page's own script, style and icon must load
        assert seen.errors == []
        assert page.goto(f"{base}/review/lead").status == 403  # type: ignore[union-attr]
    assert seen.foreign(base) == []  # nothing fetched from anywhere else (no CDN)
    keep_screenshots(tmp_path, "desk-queue.png", "desk-case.png")
    with httpx.Client(base_url=base) as client:
        api = client.get(f"/v1/cases/{case_id}", headers=auth(keys["review"])).json()
    assert (api["status"], api["decided_by"]) == ("dismissed", "mo")


def test_password_change_in_chromium_ends_the_other_browsers_session(server: tuple[str, dict[str, str]]) -> None:
    """Issue 26: two browser contexts logged in as mo; mo changes the password in one (through the header
    link and the form); both land on / are sent to the login page; the new password works, the old not.
    The new page loads under the desk's CSP without console errors."""
    sync_api = sync_api_or_skip()
    base, _ = server
    new_password = "a different long secret"
    with chromium(sync_api) as browser:
        pages = [browser.new_context().new_page() for _ in range(2)]
        watched = [watch(page) for page in pages]
        for page in pages:
            desk_login(page, base)
        first, other = pages
        first.click("text=Password")
        first.wait_for_url(f"{base}/review/password")
        first.fill("input[name=current]", PASSWORD)
        first.fill("input[name=new]", new_password)
        first.click("form[action='/review/password'] button[type=submit]")  # not the header's Log out
        first.wait_for_url(f"{base}/review/login")
        other.goto(f"{base}/review")
        assert other.url.endswith("/review/login")  # the other browser's session ended too
        # before the deliberate 401 below, which Chromium logs as a console error
        assert [e for w in watched for e in w.console_errors] == []
        first.fill("input[name=username]", "mo")
        first.fill("input[name=password]", PASSWORD)
        first.click("button[type=submit]")
        assert first.locator("p.error").inner_text() == "Wrong name or password."
        first.fill("input[name=username]", "mo")
        first.fill("input[name=password]", new_password)
        first.click("button[type=submit]")
        first.wait_for_url(f"{base}/review")

