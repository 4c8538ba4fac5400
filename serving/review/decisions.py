"""Moderators' verdicts on cases: the one write the review desk and `/v1/cases/{id}/decision` make.

`Decisions` is the part of `ReviewService` (serving/review/service.py) that closes or escalates a case;
it answers with the case as `CaseReads` shows it, so a decision returns what a reload would.
"""

from __future__ import annotations

from datetime import datetime

from groomguard.serving.review.case_reads import CaseReads
from groomguard.serving.review.errors import Conflict, InvalidRequest, NotFound
from groomguard.serving.review.views import CaseDetail
from groomguard.serving.store import Store
from groomguard.serving.store import cases as case_db
from groomguard.serving.store.statuses import DECIDED_STATUSES, FINAL_STATUSES, Decision


class Decisions:
    def __init__(self, store: Store, reads: CaseReads) -> None:
        self.store = store
        self.reads = reads

    def decide(self, case_id: str, decision: Decision, note: str | None,
               actor: str) -> CaseDetail:
        """Record a moderator's verdict. Open and escalated cases can be decided; final ones cannot."""
        if decision not in DECIDED_STATUSES:
            raise InvalidRequest("decision must be confirmed, dismissed or escalated")
        with self.store.write() as s:
            case = case_db.get_case(s, case_id, lock=True)
            if case is None:
                raise NotFound(f"case {case_id} not found")
            if case.status in FINAL_STATUSES:
                raise Conflict(f"case {case_id} is already {case.status}")
            if case.status == decision:
                raise Conflict(f"case {case_id} is already {decision}")
            now = datetime.now(case.opened_at.tzinfo)
            case.status, case.decided_at, case.decided_by = decision, now, actor
            case.decision_note, case.updated_at = note, now
            case_db.audit(s, f"decision:{decision}", actor, case_id, note=note, at=now)
        return self.reads.get_case(case_id, explain=False)
