"""The long case page and the account flow in real headless Chromium (issue 25 item 4), against a real
server (uvicorn, tiny model, SQLite filled with tests/support/desk_story.py's synthetic account story).

A moderator opens the 80-message case: the decision and claim controls are in view without scrolling
and stay in view after a jump; a risk-strip bar inside a folded low-risk stretch lands on its message,
visible (the fold opened); another fold opens with one click; a link to a message in a fold opens it
on load. Then case page -> account page (no message text on it) -> another conversation's case page.
With GROOMGUARD_UPDATE_SCREENSHOTS=1 the screenshots are copied to docs/img/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium, desk_login, keep_screenshots, served_app, sync_api_or_skip, watch
from tests.support.desk import add_user, desk_config
from tests.support.desk_story import ADULT, CONVERSATIONS, Story, fill, line

pytestmark = pytest.mark.browser


@pytest.fixture()
def server(tiny_bundle_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Story]]:
    from groomguard.serving.api.app import create_app

    cfg = desk_config(tmp_path / "gg.db", "thresholds={review: 0.5, high: 0.8}")
    story = fill(cfg.store.url)
    add_user(cfg, "mo", "moderator")
    with served_app(create_app(cfg, tiny_bundle_dir)) as base:
        yield base, story


def _in_view(page: Any, selector: str) -> bool:
    """The element's box lies inside the viewport (what the moderator sees without scrolling)."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] \
        and box["x"] >= 0 and box["x"] + box["width"] <= size["width"]


def test_long_case_then_account_page_then_another_conversation(server: tuple[str, Story], tmp_path: Path) -> None:
    sync_api = sync_api_or_skip()
    base, story = server
    long_case, other_case = story.cases["long-1"], story.cases["short-2"]
    with chromium(sync_api) as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        seen = watch(page)
        desk_login(page, base)

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
        assert seen.errors == []  # includes CSP violations
    assert seen.foreign(base) == []
    keep_screenshots(tmp_path, "desk-long-case.png", "desk-account.png")
