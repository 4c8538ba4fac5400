"""The long case page and the account flow in real headless Chromium (issue 25 item 4), against a real
server (uvicorn, tiny model, SQLite filled with tests/support/desk_story.py's synthetic account story).

A moderator opens the 80-message case: the decision and claim controls are in view without scrolling
and stay in view after a jump; a risk-strip bar inside a folded low-risk stretch lands on its message,
visible (the fold opened); another fold opens with one click; a link to a message in a fold opens it
on load. Then case page -> account page (no message text on it) -> another conversation's case page.
With GROOMGUARD_UPDATE_SCREENSHOTS=1 the screenshots are copied to docs/img/.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from benchmarks.support.server import free_port
from tests.support.desk import PASSWORD, add_user, desk_config
from tests.support.desk_story import ADULT, CONVERSATIONS, Story, fill, line
from tests.test_desk_browser import DOCS_IMG, _not_blank
from tests.test_report_browser import CHROMIUM, FLAGS

pytestmark = pytest.mark.browser


@pytest.fixture()
def server(tiny_bundle_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Story]]:
    from groomguard.serving.api.app import create_app

    cfg = desk_config(tmp_path / "gg.db", "thresholds={review: 0.5, high: 0.8}")
    story = fill(cfg.store.url)
    add_user(cfg, "mo", "moderator")
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(cfg, tiny_bundle_dir), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(600):  # wait for the lifespan (model load, migration)
        if srv.started:
            break
        thread.join(0.05)
    assert srv.started, "server did not start"
    yield f"http://127.0.0.1:{port}", story
    srv.should_exit = True
    thread.join(30)


def _in_view(page: Any, selector: str) -> bool:
    """The element's box lies inside the viewport (what the moderator sees without scrolling)."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] \
        and box["x"] >= 0 and box["x"] + box["width"] <= size["width"]


def test_long_case_then_account_page_then_another_conversation(server: tuple[str, Story], tmp_path: Path) -> None:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("Debian chromium not installed (`make browser` installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    base, story = server
    long_case, other_case = story.cases["long-1"], story.cases["short-2"]
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
            page.goto(f"{base}/review/login")
            page.fill("input[name=username]", "mo")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/review")

            page.goto(f"{base}/review/cases/{long_case}")
            # 80 messages, the controls in view without scrolling
            assert page.locator("li.msg").count() == 80
            assert page.evaluate("window.scrollY") == 0
            for control in ("button[name=decision][value=dismissed]", "button[name=decision][value=escalated]",
                            "text=Claim this case", "textarea[name=note]"):
                assert _in_view(page, control), control
            page.screenshot(path=str(tmp_path / "desk-long-case.png"))

            # a strip bar whose message sits in a folded stretch (#32-58): the jump opens the fold
            target = page.locator("#m-45")
            assert page.locator("#fold-32").get_attribute("open") is None and not target.is_visible()
            page.locator('svg.strip a[href="#m-45"]').click()
            page.wait_for_function("document.getElementById('fold-32').open")
            sync_api.expect(target).to_be_in_viewport()
            assert target.is_visible() and page.evaluate("window.scrollY") > 0  # it did scroll ...
            assert _in_view(page, "button[name=decision][value=dismissed]")  # ... and the controls stayed
            assert _in_view(page, "text=Claim this case")
            assert page.locator("#fold-3").get_attribute("open") is None  # only that stretch opened

            # another fold opens with one click; every message in it is there
            inside = page.locator("#fold-3 li.msg")
            assert inside.count() == 26 and not page.locator("#m-10").is_visible()
            page.locator("#fold-3 > summary").click()
            assert page.locator("#m-10").is_visible() and page.locator("#m-28").is_visible()
            assert "hide" in page.locator("#fold-3 > summary").inner_text()

            # a link to a folded message, opened fresh (a moderator shares it): the fold opens on load
            page.goto(f"{base}/review/cases/{long_case}#m-20")
            sync_api.expect(page.locator("#m-20")).to_be_in_viewport()
            assert page.locator("#fold-3").get_attribute("open") is not None

            # case page -> account page: ids and numbers, never message text
            page.goto(f"{base}/review/cases/{long_case}")
            page.locator("#other-conversations a.account-link").first.click()
            page.wait_for_url(f"{base}/review/accounts/{ADULT}")
            assert page.locator("#account-conversations").inner_text() == "4"
            html = page.content()
            for conv, (_, risks) in CONVERSATIONS.items():
                for i in range(len(risks)):
                    assert line(conv, i)[1] not in html
            page.screenshot(path=str(tmp_path / "desk-account.png"), full_page=True)

            # account page -> another conversation's case
            page.locator('a.conv-case[data-conversation="short-2"]').click()
            page.wait_for_url(f"{base}/review/cases/{other_case}")
            assert page.locator("#case-status").inner_text() == "open"
            assert page.locator("li.msg").count() == len(CONVERSATIONS["short-2"][1])
            assert "(short-2 #4)" in (page.locator("#m-4 p.text").text_content() or "")
            assert errors == []  # includes CSP violations
        finally:
            browser.close()
    assert foreign == []
    for name in ("desk-long-case.png", "desk-account.png"):
        _not_blank(tmp_path / name)
        if os.environ.get("GROOMGUARD_UPDATE_SCREENSHOTS") == "1":
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tmp_path / name, DOCS_IMG / name)
