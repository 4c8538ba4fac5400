"""The desk's account reads (serving/desk/account_view.py) on real SQLite and PostgreSQL: each author's
other conversations (bounded, highest risk first, with their cases), an account case's linked
conversations, and the account page's rows; ids, levels and risks, computed by hand from the scripted
story (tests/support/desk_story.py)."""

from __future__ import annotations

from groomguard.serving.desk.account_view import account_rows, linked_rows, other_conversations
from groomguard.serving.desk.config import DeskConfig
from groomguard.serving.review import ReviewService
from groomguard.serving.store import RetentionConfig, StateConfig, Store
from groomguard.windowing import Windower
from tests.support.desk_story import ADULT, THRESHOLDS, fill

pytest_plugins = ["tests.support.store_fixtures"]


def test_other_conversations_linked_and_account_rows(db_url: str, windower: Windower) -> None:
    story = fill(db_url)
    from groomguard.serving.store import StoreConfig, open_store

    store: Store = open_store(StoreConfig(url=db_url))
    try:
        svc = ReviewService.build(store, lambda w: [0.1] * len(w), windower, THRESHOLDS, "synthetic@1",
                                  StateConfig(), RetentionConfig())
        long_case = svc.get_case(story.cases["long-1"], explain=False)
        got = other_conversations(store, long_case, THRESHOLDS, DeskConfig(other_conversations=2, other_authors=5))
        assert [(a.author, a.role, a.level, a.max_risk, a.total) for a in got] == [
            (ADULT, "A", "high", 0.9, 3), ("synthetic_child_1", "B", "low", 0.1, 0)]
        # highest risk first (short-2 0.9, short-3 0.6); quiet-4 (0.1) is cut by other_conversations=2
        assert [(r.conversation_id, r.level, r.max_risk, r.case_id, r.case_status) for r in got[0].rows] == [
            ("short-2", "high", 0.9, story.cases["short-2"], "open"),
            ("short-3", "review", 0.6, story.cases["short-3"], "open")]
        one_author = other_conversations(store, long_case, THRESHOLDS, DeskConfig(other_authors=1))
        assert [a.author for a in one_author] == [ADULT] and len(one_author[0].rows) == 3

        acct = svc.get_case(story.account_case, explain=False)
        assert [(r.conversation_id, r.level) for r in linked_rows(store, acct, THRESHOLDS)] == [
            ("long-1", "high"), ("short-2", "high"), ("short-3", "review")]
        others = other_conversations(store, acct, THRESHOLDS, DeskConfig())
        assert [(a.author, a.role, a.level, a.total) for a in others] == [(ADULT, None, None, 1)]
        assert [(r.conversation_id, r.case_id) for r in others[0].rows] == [("quiet-4", None)]

        # a decided conversation case is still linked (newest case), an active one wins over it
        svc.decide(story.cases["short-2"], "dismissed", None, actor="mod-1")
        rows = account_rows(store, svc.get_account(ADULT).conversation_list, THRESHOLDS)
        assert [(r.conversation_id, r.case_id, r.case_status) for r in rows] == [
            ("long-1", story.cases["long-1"], "open"), ("short-2", story.cases["short-2"], "dismissed"),
            ("short-3", story.cases["short-3"], "open"), ("quiet-4", None, None)]
        assert [len(r.strip.bars) if r.strip else 0 for r in rows] == [40, 6, 6, 4]
        assert [b.level for b in rows[1].strip.bars] == ["low"] * 4 + ["high", "low"]  # type: ignore[union-attr]
    finally:
        store.close()
