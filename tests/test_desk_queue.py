"""The desk's queue query on real SQLite and PostgreSQL stores: order, filters, counts, pages (expected by hand)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from groomguard.serving.desk import queue as q
from groomguard.serving.review.errors import InvalidRequest
from groomguard.serving.store import Store, StoreConfig, open_store
from groomguard.serving.store import cases as case_db
from groomguard.serving.store.orm import CaseRow

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
# (conversation, level, max_risk, opened hours after T0, status)
CASES = [
    ("c-low", "low", 0.95, 0, "open"),  # high risk number but low level (thresholds moved): sorts last
    ("c-rev-old", "review", 0.60, 1, "open"),
    ("c-rev-new", "review", 0.60, 5, "open"),
    ("c-rev-hi", "review", 0.70, 9, "open"),
    ("c-high", "high", 0.90, 10, "open"),
    ("c-done", "high", 0.99, 2, "dismissed"),
]


pytest_plugins = ["tests.support.store_fixtures"]


@pytest.fixture()
def seeded(db_url: str) -> Iterator[Store]:
    """The CASES above on SQLite and on PostgreSQL (tests.support.store_fixtures.db_url)."""
    s = open_store(StoreConfig(url=db_url))
    with s.write() as sess:
        for conv, level, risk, hours, status in CASES:
            case = case_db.open_case(sess, conv, points=[(0, risk)], level=level, model_ref="m@1", roles={},
                                     evidence=[], evidence_cap=10, history_cap=10)
            case.opened_at = T0 + timedelta(hours=hours)
            case.status = status
    yield s
    s.close()


def _convs(store: Store, page: q.QueuePage) -> list[str]:
    with store.read() as s:
        return [s.get(CaseRow, r.case_id).conversation_id for r in page.rows]  # type: ignore[union-attr]


def test_open_queue_order_is_level_then_risk_then_oldest(seeded: Store) -> None:
    store = seeded
    page = q.queue(store, "mo", q.QueueFilter(), 1, 10)
    assert _convs(store, page) == ["c-high", "c-rev-hi", "c-rev-old", "c-rev-new", "c-low"]
    assert page.total == 5 and page.pages == 1
    assert page.counts["open_high"] == 1 and page.counts["open_review"] == 3 and page.counts["dismissed"] == 1


def test_filters_pages_and_claims(seeded: Store) -> None:
    store = seeded
    by_level = q.queue(store, "mo", q.QueueFilter(level="review"), 1, 2)
    assert _convs(store, by_level) == ["c-rev-hi", "c-rev-old"] and by_level.pages == 2
    assert _convs(store, q.queue(store, "mo", q.QueueFilter(level="review"), 2, 2)) == ["c-rev-new"]
    window = q.QueueFilter(status=None, opened_from=T0 + timedelta(hours=1), opened_to=T0 + timedelta(hours=5))
    assert _convs(store, q.queue(store, "mo", window, 1, 10)) == ["c-done", "c-rev-old"]  # to is exclusive
    target = q.queue(store, "mo", q.QueueFilter(level="high"), 1, 10).rows[0].case_id
    q.claim(store, target, "mo")
    mine = q.queue(store, "mo", q.QueueFilter(mine=True), 1, 10)
    assert [r.case_id for r in mine.rows] == [target] and mine.rows[0].claimed_by == "mo"
    assert q.queue(store, "max", q.QueueFilter(mine=True), 1, 10).rows == []
    with pytest.raises(InvalidRequest):
        q.queue(store, "mo", q.QueueFilter(level="urgent"), 1, 10)


def test_deleting_a_case_removes_its_claim_and_second_review(seeded: Store) -> None:
    """Retention deletes cases in bulk; the desk's rows must go with them (ON DELETE CASCADE)."""
    store = seeded
    from sqlalchemy import func, select

    from groomguard.serving.desk import second
    from groomguard.serving.store.orm import CaseClaimRow, SecondReviewRow

    done = q.queue(store, "mo", q.QueueFilter(status="dismissed"), 1, 10).rows[0].case_id
    q.claim(store, done, "mo")
    second.request(store, done, "lea")
    with store.write() as s:
        case_db.delete_cases(s, [done])
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(CaseClaimRow)) == 0
        assert s.scalar(select(func.count()).select_from(SecondReviewRow)) == 0


def test_a_claim_lapses_after_claim_minutes_and_another_moderator_may_take_it(seeded: Store) -> None:
    """Issue 26: claims expire. 60-minute claims; 59 minutes in the case is still mo's, 61 minutes in it
    shows unclaimed (queue, `mine`, the case's holder), max may claim and decide it, and the takeover
    is audited with whom it lapsed from. A renewed claim counts from the renewal."""
    from sqlalchemy import select

    from groomguard.serving.review.errors import Conflict
    from groomguard.serving.store.orm import AuditRow

    store = seeded
    t0 = datetime.now(timezone.utc)
    target = q.queue(store, "mo", q.QueueFilter(level="high"), 1, 10).rows[0].case_id
    assert q.claim(store, target, "mo", claim_minutes=60, now=t0) == "mo"
    before, after = t0 + timedelta(minutes=59), t0 + timedelta(minutes=61)

    def holder_in_queue(user: str, at: datetime, mine: bool = False) -> list[tuple[str, str | None]]:
        page = q.queue(store, user, q.QueueFilter(level="high", mine=mine), 1, 10, claim_minutes=60, now=at)
        return [(r.case_id, r.claimed_by) for r in page.rows]

    assert holder_in_queue("max", before) == [(target, "mo")]
    assert holder_in_queue("mo", before, mine=True) == [(target, "mo")]
    assert q.claimant(store, target, 60, now=before) == "mo"
    with pytest.raises(Conflict, match="claimed by mo"):
        q.claim(store, target, "max", claim_minutes=60, now=before)

    assert holder_in_queue("max", after) == [(target, None)]
    assert holder_in_queue("mo", after, mine=True) == []
    assert q.claimant(store, target, 60, now=after) is None
    assert q.claimant(store, target, 0, now=after) == "mo"  # claim_minutes 0: claims never lapse
    assert q.claim(store, target, "max", claim_minutes=60, now=after) == "max"
    assert holder_in_queue("mo", after) == [(target, "max")]
    with store.read() as s:
        last = s.scalars(select(AuditRow).where(AuditRow.case_id == target).order_by(AuditRow.id.desc())).first()
        assert last is not None and (last.action, last.actor, last.detail) == ("claim", "max", {"lapsed_from": "mo"})

    # renewing: max claims again at +100; at +155 (55 after the renewal, 94 after the takeover) it holds
    assert q.claim(store, target, "max", claim_minutes=60, now=t0 + timedelta(minutes=100)) == "max"
    assert q.claimant(store, target, 60, now=t0 + timedelta(minutes=155)) == "max"
    assert q.claimant(store, target, 60, now=t0 + timedelta(minutes=161)) is None
