"""The moderator desk in real headless Chromium against a real server (uvicorn, tiny model, SQLite).

Log in, see a case opened by streaming appends, reveal a blurred message, dismiss it with a note, see
it leave the queue and enter the case history; a POST without the CSRF token is refused; a moderator
cannot open the lead view; screenshots of the queue and case pages are saved and are not blank.
With GROOMGUARD_UPDATE_SCREENSHOTS=1 they are also copied to docs/img/ (the README shows them).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from benchmarks.support.server import SYNTHETIC_THREAD, auth, free_port, make_keys, msg
from tests.support.desk import PASSWORD, add_user, desk_config
from tests.test_report_browser import CHROMIUM, FLAGS

pytestmark = pytest.mark.browser
DOCS_IMG = Path(__file__).resolve().parents[1] / "docs" / "img"


@pytest.fixture()
def server(tiny_bundle_dir: Path, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    from groomguard.serving.api.app import create_app

    cfg = desk_config(tmp_path / "gg.db", "desk.break_reminder_minutes=30")
    add_user(cfg, "mo", "moderator")
    keys = make_keys(cfg)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(cfg, tiny_bundle_dir), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(600):  # wait for the lifespan (model load, migration): poll readiness, not a fixed sleep
            if srv.started:
                break
            thread.join(0.05)
        assert srv.started, "server did not start"
        for i, (author, text) in enumerate(SYNTHETIC_THREAD):  # streaming appends open the case
            r = client.post("/v1/conversations/art-chat-1/messages", headers=auth(keys["score"]),
                            json={"messages": [msg(author, text, f"m-{i}", f"2025-03-01T18:0{i}:00Z")]})
            assert r.status_code == 200 and r.json()["case_id"], r.text
    yield base, keys
    srv.should_exit = True
    thread.join(30)


def _not_blank(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert path.stat().st_size > 10_000
    assert colours is None or len(colours) > 20, f"{path.name} looks blank"


def test_moderator_works_a_case_in_chromium(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("Debian chromium not installed (`make browser` installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    base, keys = server
    hidden_text = SYNTHETIC_THREAD[2][1]
    errors: list[str] = []
    foreign: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
                                     args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(base) else None)
            page.goto(f"{base}/review")
            assert page.url.endswith("/review/login")
            page.fill("input[name=username]", "mo")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/review")
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
            assert errors == []
            assert page.goto(f"{base}/review/lead").status == 403  # type: ignore[union-attr]
        finally:
            browser.close()
    assert foreign == []  # nothing fetched from anywhere else (no CDN)
    for name in ("desk-queue.png", "desk-case.png"):
        _not_blank(tmp_path / name)
        if os.environ.get("GROOMGUARD_UPDATE_SCREENSHOTS") == "1":
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tmp_path / name, DOCS_IMG / name)
    with httpx.Client(base_url=base) as client:
        api = client.get(f"/v1/cases/{case_id}", headers=auth(keys["review"])).json()
    assert (api["status"], api["decided_by"]) == ("dismissed", "mo")


def test_password_change_in_chromium_ends_the_other_browsers_session(server: tuple[str, dict[str, str]]) -> None:
    """Issue 26: two browser contexts logged in as mo; mo changes the password in one (through the header
    link and the form); both land on / are sent to the login page; the new password works, the old not.
    The new page loads under the desk's CSP without console errors."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("Debian chromium not installed (`make browser` installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    base, _ = server
    new_password = "a different long secret"
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
                                     args=FLAGS, headless=True)
        try:
            pages = [browser.new_context().new_page() for _ in range(2)]
            for page in pages:
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(f"{base}/review/login")
                page.fill("input[name=username]", "mo")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/review")
            first, other = pages
            first.click("text=Password")
            first.wait_for_url(f"{base}/review/password")
            first.fill("input[name=current]", PASSWORD)
            first.fill("input[name=new]", new_password)
            first.click("form[action='/review/password'] button[type=submit]")  # not the header's Log out
            first.wait_for_url(f"{base}/review/login")
            other.goto(f"{base}/review")
            assert other.url.endswith("/review/login")  # the other browser's session ended too
            assert errors == []  # before the deliberate 401 below, which Chromium logs as a console error
            first.fill("input[name=username]", "mo")
            first.fill("input[name=password]", PASSWORD)
            first.click("button[type=submit]")
            assert first.locator("p.error").inner_text() == "Wrong name or password."
            first.fill("input[name=username]", "mo")
            first.fill("input[name=password]", new_password)
            first.click("button[type=submit]")
            first.wait_for_url(f"{base}/review")
        finally:
            browser.close()
