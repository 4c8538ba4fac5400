"""Second reviews: a lead asks someone other than the first decider to decide a case again, blind to the
first verdict; agreement between the two is what the lead page reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from groomguard.serving.review.errors import Conflict, InvalidRequest, NotFound
from groomguard.serving.store import Store
from groomguard.serving.store import cases as case_db
from groomguard.serving.store.cases import audit
from groomguard.serving.store.orm import SecondReviewRow, utcnow
from groomguard.serving.store.statuses import DECIDED_STATUSES


@dataclass(frozen=True)
class SecondReview:
    requested_by: str
    reviewer: str | None
    decision: str | None
    decided_at: datetime | None


def get(store: Store, case_id: str) -> SecondReview | None:
    with store.read() as s:
        row = s.get(SecondReviewRow, case_id)
        return None if row is None else SecondReview(row.requested_by, row.reviewer, row.decision, row.decided_at)


def request(store: Store, case_id: str, lead: str) -> None:
    """Only decided cases can be reviewed again; asking twice is a no-op."""
    with store.write() as s:
        case = case_db.get_case(s, case_id)
        if case is None:
            raise NotFound(f"case {case_id} not found")
        if case.status not in DECIDED_STATUSES:
            raise Conflict(f"case {case_id} is not decided yet")
        if s.get(SecondReviewRow, case_id) is None:
            s.add(SecondReviewRow(case_id=case_id, requested_by=lead, requested_at=utcnow()))
            audit(s, "second-review:request", lead, case_id)


def record(store: Store, case_id: str, reviewer: str, decision: str, note: str | None) -> None:
    """The second verdict; the first decider cannot give it (that would not be a second opinion)."""
    if decision not in DECIDED_STATUSES:
        raise InvalidRequest("decision must be confirmed, dismissed or escalated")
    with store.write() as s:
        row = s.get(SecondReviewRow, case_id)
        case = case_db.get_case(s, case_id)
        if row is None or case is None:
            raise NotFound(f"no second review was requested for case {case_id}")
        if row.decision is not None:
            raise Conflict(f"case {case_id} already has a second review")
        if case.decided_by == reviewer:
            raise Conflict("the first decider cannot give the second review")
        row.reviewer, row.decision, row.note, row.decided_at = reviewer, decision, note, utcnow()
        audit(s, f"second-review:{decision}", reviewer, case_id, note=note)
