"""The desk's view of the case table: the work queue, claims, and the numbers a lead watches.

Queue order (issue 11): level (high, then review, then low), then max risk (highest first), then age
(oldest first: the case that has waited longest is read first among equals). A claim marks who works
a case; only its holder or a lead may decide it, and only a lead may take it from someone else.

Claims lapse after `desk.claim_minutes` (issue 26): a moderator who claims a case and goes home must
not keep it out of everyone else's hands. A lapsed claim is no claim at all: the queue shows the case
unclaimed, `mine` no longer lists it, and anyone may claim or decide it. Claiming again renews it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from groomguard.serving.review.errors import Conflict, InvalidRequest, NotFound
from groomguard.serving.store import Store
from groomguard.serving.store import cases as case_db
from groomguard.serving.store.cases import audit
from groomguard.serving.store.orm import CaseClaimRow, utcnow
from groomguard.serving.store.statuses import ACCOUNT_KIND, CONVERSATION_KIND, OPEN, STATUSES

LEVELS = ("high", "review", "low")
KINDS = (CONVERSATION_KIND, ACCOUNT_KIND)


def claim_cutoff(claim_minutes: float, now: datetime | None = None) -> datetime | None:
    """Claims made at or before this moment have lapsed (None: claims never lapse, claim_minutes 0)."""
    if claim_minutes <= 0:
        return None
    return (now or utcnow()) - timedelta(minutes=claim_minutes)


def _live(row: CaseClaimRow | None, cutoff: datetime | None) -> CaseClaimRow | None:
    return None if row is None or (cutoff is not None and row.claimed_at <= cutoff) else row


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = OPEN
    level: str | None = None
    mine: bool = False
    opened_from: datetime | None = None
    opened_to: datetime | None = None  # exclusive
    kind: str | None = None  # None: every case; "account": the account queue's account cases

    def check(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}")
        if self.level is not None and self.level not in LEVELS:
            raise InvalidRequest(f"level must be one of {', '.join(LEVELS)}")
        if self.kind is not None and self.kind not in KINDS:
            raise InvalidRequest(f"kind must be one of {', '.join(KINDS)}")


@dataclass(frozen=True)
class QueueRow:
    case_id: str
    status: str
    level: str
    max_risk: float
    opened_at: datetime
    claimed_by: str | None
    kind: str = CONVERSATION_KIND
    account: str | None = None  # an account case's account (message author)


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int  # matching the filter
    page: int
    pages: int
    counts: dict[str, int] = field(default_factory=dict)  # open cases per level, and per status


def queue(store: Store, user: str, flt: QueueFilter, page: int, page_size: int, claim_minutes: float = 0,
          now: datetime | None = None) -> QueuePage:
    flt.check()
    where = case_db.CaseFilter(flt.status, flt.level, flt.opened_from, flt.opened_to, user if flt.mine else None,
                               claim_cutoff(claim_minutes, now), flt.kind)
    with store.read() as s:
        total = case_db.count_filtered(s, where)
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        result = case_db.filtered_page(s, where, page_size, (page - 1) * page_size)
        rows = [QueueRow(c.case_id, c.status, c.level, c.max_risk, c.opened_at, claimed, c.kind, c.account)
                for c, claimed in result]
        counts = case_db.queue_counts(s)
    return QueuePage(rows, total, page, pages, counts)


def claimant(store: Store, case_id: str, claim_minutes: float = 0, now: datetime | None = None) -> str | None:
    """Who holds a live claim on the case (a lapsed claim holds nothing)."""
    with store.read() as s:
        row = _live(s.get(CaseClaimRow, case_id), claim_cutoff(claim_minutes, now))
        return None if row is None else row.user_name


def claim(store: Store, case_id: str, user: str, *, assignee: str | None = None, lead: bool = False,
          claim_minutes: float = 0, now: datetime | None = None) -> str:
    """Claim a case for `user`, or (a lead) assign it to `assignee`. Taking a case someone else holds
    needs a lead, unless their claim has lapsed. Claiming a case you hold renews the claim. Audited as
    `claim` or `assign` (with `lapsed_from` when a lapsed claim was taken over); returns who holds it now."""
    target = assignee or user
    now = now or utcnow()
    with store.write() as s:
        if case_db.get_case(s, case_id) is None:
            raise NotFound(f"case {case_id} not found")
        row = s.get(CaseClaimRow, case_id)
        live = _live(row, claim_cutoff(claim_minutes, now))
        if live is not None and live.user_name != user and not lead:
            raise Conflict(f"case {case_id} is claimed by {live.user_name}")
        if (assignee is not None and assignee != user) and not lead:
            raise Conflict("only a lead can assign a case to someone else")
        detail: dict[str, str] = {} if target == user else {"to": target}
        if row is None:
            s.add(CaseClaimRow(case_id=case_id, user_name=target, claimed_at=now))
        elif live is not None and row.user_name == target:
            row.claimed_at = now  # renewed, not audited again
            return target
        else:
            if live is None and row.user_name != target:
                detail["lapsed_from"] = row.user_name
            row.user_name, row.claimed_at = target, now
        audit(s, "claim" if target == user else "assign", user, case_id, detail=detail or None)
    return target


def check_may_decide(store: Store, case_id: str, user: str, lead: bool, claim_minutes: float = 0) -> None:
    """A case claimed by someone else is theirs to decide (a lead may decide any; a lapsed claim binds nobody)."""
    holder = claimant(store, case_id, claim_minutes)
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
