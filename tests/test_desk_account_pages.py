"""The desk's account side over HTTP (issue 25 item 4): the account page, the account queue, "this account's
other conversations" on case pages, account case pages, long-case folding; 404s, login, headers, and no
message text on account pages or in logs. TestClient, real tiny model, real SQLite filled by the real
review service with scripted risks (tests/support/desk_story.py, synthetic)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from benchmarks.support.server import running_app
from groomguard.serving.desk.case_view import fold_ranges
from tests.support.desk import add_user, desk_config, login
from tests.support.desk_story import ADULT, CONVERSATIONS, RISKS_LONG, THRESHOLDS, ScriptedScorer, Story, fill, line

ALL_TEXT = [line(conv, i)[1] for conv, (_, risks) in CONVERSATIONS.items() for i in range(len(risks))]
ODD = "team/lead ?x#1 ü"  # a platform id with URL characters: '/', '?', '#', spaces, non-ASCII
HREF_CASE = re.compile(r'class="conv-case" href="/review/cases/([^"]+)" data-conversation="([^"]+)"')


@pytest.fixture(scope="module")
def desk(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Story]]:
    db = tmp_path_factory.mktemp("desk-accounts") / "gg.db"
    # page_size 2: the queue's pagination is reached with 5 accounts; other_conversations 2: the case
    # page's list is cut (the adult has 3 other conversations)
    cfg = desk_config(db, "thresholds={review: 0.5, high: 0.8}", "desk.page_size=2", "desk.other_conversations=2")
    story = fill(cfg.store.url)
    _add_odd_account(cfg.store.url)
    for name, role in (("mo", "moderator"), ("lea", "lead")):
        add_user(cfg, name, role)
    with running_app(cfg, tiny_bundle_dir) as client:
        yield client, story


def _add_odd_account(url: str) -> None:
    from groomguard.schema import Message
    from groomguard.serving.review import ReviewService
    from groomguard.serving.store import AccountsConfig, RetentionConfig, StateConfig, StoreConfig, open_store
    from tests.support.store import make_windower, tokenizer_path

    store = open_store(StoreConfig(url=url))
    try:
        svc = ReviewService.build(store, ScriptedScorer([0.1, 0.1]), make_windower(tokenizer_path()), THRESHOLDS,
                                  "synthetic@1", StateConfig(), RetentionConfig(), accounts=AccountsConfig())
        svc.append_messages("odd-1", [Message(author=ODD, text="synthetic hello", message_id="o1")])
        svc.append_messages("odd-1", [Message(author="synthetic_peer", text="synthetic hi", message_id="o2")])
    finally:
        store.close()


def _section(html: str, start: str, end: str) -> str:
    return html[html.index(start):html.index(end, html.index(start))]


def test_the_account_page_shows_aggregates_conversations_and_cases_but_no_message_text(
        desk: tuple[TestClient, Story], caplog: pytest.LogCaptureFixture) -> None:
    client, story = desk
    caplog.set_level(logging.DEBUG)
    login(client, "mo")
    r = client.get(f"/review/accounts/{ADULT}")
    assert r.status_code == 200
    page = r.text
    facts = {k: v for k, v in re.findall(r'<dd id="account-([a-z-]+)">([^<]+)</dd>', page)}
    # 4 conversations with 4 children; long-1 and short-2 reached high, short-3 review; 3 conversation
    # cases + the account case open
    assert facts == {"max-risk": "0.900", "conversations": "4", "counterparts": "4", "review": "3", "high": "2",
                     "open-cases": "4"}
    convs = _section(page, 'id="account-convs"', "</table>")
    # highest risk first; a conversation with a case links to it, quiet-4 (never at review) has none
    assert HREF_CASE.findall(convs) == [(story.cases["long-1"], "long-1"), (story.cases["short-2"], "short-2"),
                                       (story.cases["short-3"], "short-3")]
    assert '<span class="mono">quiet-4</span> <span class="hint">no case</span>' in convs
    badges = re.findall(r'<span class="badge (\w+)">', convs)
    assert badges == ["high", "high", "review", "low"]
    # long-1's strip: 80 kept risks as 40 bars, review at #30 (bar 15), high at #60 and #76 (bars 30, 38)
    strips = re.findall(r'<svg class="mini".*?</svg>', convs)
    assert len(strips) == 4
    bars = re.findall(r'<rect class="bar (\w+)"', strips[0])
    assert len(bars) == 40 and {i: b for i, b in enumerate(bars) if b != "low"} == {15: "review", 30: "high",
                                                                                   38: "high"}
    cases = _section(page, 'id="account-case-list"', "</table>")
    assert set(re.findall(r'href="/review/cases/([^"]+)"', cases)) == {*story.cases.values(), story.account_case}
    for text in ALL_TEXT:  # ids, counts and scores only
        assert text not in page
        assert all(text not in rec.getMessage() for rec in caplog.records)


def test_account_queue_lists_account_cases_and_accounts_by_risk_page_by_page(desk: tuple[TestClient, Story]) -> None:
    client, story = desk
    login(client, "mo")
    page = client.get("/review/accounts").text
    cases = _section(page, 'id="account-cases"', "</table>")
    assert re.findall(r'class="case-link" href="/review/cases/([^"]+)"', cases) == [story.account_case]
    assert f'class="account-link" href="/review/accounts/{ADULT}"' in cases
    # 7 accounts (the adult at 0.9; four children, the odd id and its peer at 0.1), 2 per page here
    listed = []
    for apage in (1, 2, 3, 4):
        html = client.get("/review/accounts", params={"apage": apage}).text
        assert f"page {apage} of 4." in html
        listed += re.findall(r'class="account-link" href="/review/accounts/([^"]+)"',
                             _section(html, 'id="accounts"', "</table>"))
    odd_href = "team%2Flead%20%3Fx%231%20%C3%BC"
    assert listed == [ADULT, *sorted(child for child, _ in CONVERSATIONS.values()), "synthetic_peer", odd_href]
    past = client.get("/review/accounts", params={"apage": 99}).text  # past the end: the last page
    assert "page 4 of 4." in past and odd_href in past
    # the escaped link finds the account ('/' in the id included)
    r = client.get(f"/review/accounts/{odd_href}")
    assert r.status_code == 200 and f'<span class="mono" id="account-name">{ODD}</span>' in r.text
    assert 'rel="next" href="/review/accounts?status=open&amp;page=1&amp;apage=2"' in page
    # a status outside the list is refused; status=any lists every status
    assert client.get("/review/accounts", params={"status": "nonsense"}).status_code == 400
    assert story.account_case in client.get("/review/accounts", params={"status": "any"}).text
    # the conversation queue marks account cases and links the account queue
    queue = "".join(client.get("/review", params={"status": "any", "page": p}).text for p in (1, 2, 3))
    assert 'href="/review/accounts" id="account-queue-link"' in queue
    row = queue[queue.index(f">{story.account_case}</a>"):][:100]
    assert '<span class="badge kind">account</span>' in row


def test_a_case_page_lists_each_authors_other_conversations(desk: tuple[TestClient, Story]) -> None:
    client, story = desk
    login(client, "mo")
    page = client.get(f"/review/cases/{story.cases['long-1']}").text
    others = _section(page, 'id="other-conversations"', "</section>")
    # the adult first (0.9 in this conversation), then the child (0.1); long-1 itself is not "other"
    assert re.findall(r'class="account-link" href="/review/accounts/([^"]+)"', others) == [ADULT, "synthetic_child_1"]
    adult, child = others.split('<h3 class="author">')[1:]
    assert '<span class="badge high">high</span> here, max risk 0.900' in adult
    # desk.other_conversations=2 here: short-2 (0.9) and short-3 (0.6); quiet-4 only on the account page
    assert HREF_CASE.findall(adult) == [(story.cases["short-2"], "short-2"), (story.cases["short-3"], "short-3")]
    assert "quiet-4" not in adult and "2 of 3 shown" in adult
    assert "No other conversations." in child
    # the handles stay behind "Show account handles": the headings name roles
    assert "Role A" in adult and "Role B" in child


def test_an_account_case_page_shows_its_linked_conversations_and_the_account(desk: tuple[TestClient, Story]) -> None:
    client, story = desk
    login(client, "mo")
    page = client.get(f"/review/cases/{story.account_case}").text
    assert '<dd id="case-kind">account</dd>' in page
    assert f'<a class="account-link" href="/review/accounts/{ADULT}">{ADULT}</a>' in page
    linked = _section(page, 'id="linked"', "</table>")
    assert sorted(HREF_CASE.findall(linked)) == sorted((story.cases[c], c) for c in ("long-1", "short-2", "short-3"))
    others = _section(page, 'id="other-conversations"', "</section>")
    assert "quiet-4" in others and "short-2" not in others  # the linked ones are not "other"
    assert 'class="messages"' not in page and 'svg class="strip"' not in page  # it copies no message
    assert 'name="decision" value="escalated"' in page and "Claim this case" in page  # worked like any case


def test_the_long_case_folds_low_risk_stretches_and_keeps_every_message(desk: tuple[TestClient, Story]) -> None:
    """desk.fold_* defaults (8, 3, 1) on long-1 (review #30, high #60, #76): #3-28 and #32-58 fold.
    #62-74 folds too unless the model's explanation pins a message near it (it explains the newest
    window, the last messages), so the whole list is also checked against fold_ranges with the page's
    own pins."""
    client, story = desk
    login(client, "mo")
    page = client.get(f"/review/cases/{story.cases['long-1']}").text
    assert sorted(int(s) for s in re.findall(r'<li id="m-(\d+)"', page)) == list(range(80))  # each exactly once
    folds = re.findall(r'<details class="fold" id="fold-(\d+)"><summary>(\d+) low-risk messages \(#(\d+)–#(\d+)\)',
                       page)
    spans = [(int(a), int(b)) for _, _, a, b in folds]
    assert spans[:2] == [(3, 28), (32, 58)] and [int(n) for _, n, _, _ in folds[:2]] == [26, 27]
    pinned = {int(s) for s in re.findall(r'<li id="m-(\d+)" class="msg top">', page)}
    assert all(not (a <= s <= b) for s in pinned for a, b in spans)
    assert spans == fold_ranges(RISKS_LONG, pinned, THRESHOLDS, 8, 3, 1)  # the unit-tested rule, page-wide
    # every strip bar links to a message of the page, and the panel comes before the messages
    assert sorted(int(s) for s in re.findall(r'<a href="#m-(\d+)" class="jump"', page)) == list(range(80))
    assert page.index('id="case-panel"') < page.index('id="decision"') < page.index('<ol class="messages">')


@pytest.mark.parametrize("author", ["no-such-account", "bad%00id", "x" * 300, "a/b"])
def test_unknown_or_malformed_accounts_are_404_pages_that_do_not_echo_the_id(desk: tuple[TestClient, Story],
                                                                           author: str) -> None:
    client, _ = desk
    login(client, "mo")
    r = client.get(f"/review/accounts/{author}")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "No such account." in r.text and author not in r.text


def test_account_pages_need_a_login_and_carry_the_security_headers(desk: tuple[TestClient, Story]) -> None:
    client, story = desk
    client.cookies.clear()
    for path in ("/review/accounts", f"/review/accounts/{ADULT}"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/review/login"
    login(client, "lea")
    for path in ("/review/accounts", f"/review/accounts/{ADULT}", "/review/accounts/no-such-account",
                 f"/review/cases/{story.account_case}"):
        r = client.get(path)
        assert r.headers["cache-control"] == "no-store" and r.headers["x-frame-options"] == "DENY", path
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp

