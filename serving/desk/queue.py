"""The desk's view of the case table: the work queue, claims, and the numbers a lead watches.

Queue order (issue 11): level (high, then review, then low), then max risk (highest first), then age
(oldest first: the case that has waited longest is read first among equals). A claim marks who works
a case; only its holder or a lead may decide it, and only a lead may take it from someone else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from groomguard.serving.review.errors import Conflict, InvalidRequest, NotFound
from groomguard.serving.store import Store
from groomguard.serving.store import cases as case_db
from groomguard.serving.store.cases import audit
from groomguard.serving.store.orm import CaseClaimRow, utcnow
from groomguard.serving.store.statuses import OPEN, STATUSES

LEVELS = ("high", "review", "low")


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = OPEN
    level: str | None = None
    mine: bool = False
    opened_from: datetime | None = None
    opened_to: datetime | None = None  # exclusive

    def check(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}")
        if self.level is not None and self.level not in LEVELS:
            raise InvalidRequest(f"level must be one of {', '.join(LEVELS)}")


@dataclass(frozen=True)
class QueueRow:
    case_id: str
    status: str
    level: str
    max_risk: float
    opened_at: datetime
    claimed_by: str | None


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int  # matching the filter
    page: int
    pages: int
    counts: dict[str, int] = field(default_factory=dict)  # open cases per level, and per status


def queue(store: Store, user: str, flt: QueueFilter, page: int, page_size: int) -> QueuePage:
    flt.check()
    where = case_db.CaseFilter(flt.status, flt.level, flt.opened_from, flt.opened_to, user if flt.mine else None)
    with store.read() as s:
        total = case_db.count_filtered(s, where)
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        result = case_db.filtered_page(s, where, page_size, (page - 1) * page_size)
        rows = [QueueRow(c.case_id, c.status, c.level, c.max_risk, c.opened_at, claimed) for c, claimed in result]
        counts = case_db.queue_counts(s)
    return QueuePage(rows, total, page, pages, counts)


def claimant(store: Store, case_id: str) -> str | None:
    with store.read() as s:
        row = s.get(CaseClaimRow, case_id)
        return None if row is None else row.user_name


def claim(store: Store, case_id: str, user: str, *, assignee: str | None = None, lead: bool = False) -> str:
    """Claim a case for `user`, or (a lead) assign it to `assignee`. Taking a case someone else holds
    needs a lead. Audited as `claim` or `assign`; returns who holds it now."""
    target = assignee or user
    with store.write() as s:
        if case_db.get_case(s, case_id) is None:
            raise NotFound(f"case {case_id} not found")
        row = s.get(CaseClaimRow, case_id)
        if row is not None and row.user_name != user and not lead:
            raise Conflict(f"case {case_id} is claimed by {row.user_name}")
        if (assignee is not None and assignee != user) and not lead:
            raise Conflict("only a lead can assign a case to someone else")
        if row is None:
            s.add(CaseClaimRow(case_id=case_id, user_name=target, claimed_at=utcnow()))
        elif row.user_name == target:
            return target
        else:
            row.user_name, row.claimed_at = target, utcnow()
        audit(s, "claim" if target == user else "assign", user, case_id,
              detail=None if target == user else {"to": target})
    return target


def check_may_decide(store: Store, case_id: str, user: str, lead: bool) -> None:
    """A case claimed by someone else is theirs to decide (a lead may decide any)."""
    holder = claimant(store, case_id)
    if holder is not None and holder != user and not lead:
        raise Conflict(f"case {case_id} is claimed by {holder}")


@dataclass
class LeadStats:
    decisions: dict[str, dict[str, int]]  # moderator -> decision -> count
    open_count: int
    oldest_open: datetime | None
    double_reviewed: int
    agreed: int
    pending_second: int


def lead_stats(store: Store) -> LeadStats:
    with store.read() as s:
        decisions = case_db.decisions_by_moderator(s)
        open_count, oldest = case_db.open_backlog(s)
        pairs = case_db.second_review_pairs(s)
    done = [(second, first) for second, first in pairs if second is not None]
    return LeadStats(decisions, int(open_count), oldest, len(done), sum(1 for a, b in done if a == b),
                     len(pairs) - len(done))
