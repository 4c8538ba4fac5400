"""Review-queue reads and decisions: list, detail (with leave-one-out), decide, export.

`CaseQueue` is the half of `ReviewService` (serving/review/service.py) that works on cases once they
exist; the service adds the writes that open and update them (appends, routed scores).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from groomguard.schema import Conversation
from groomguard.scores import Level, Thresholds, level_for
from groomguard.serving.review.errors import Conflict, InvalidRequest, NotFound
from groomguard.serving.review.influence import InfluenceInput, WindowScorer, message_influence
from groomguard.serving.review.views import (
    AuditEntry,
    CaseDetail,
    CasePage,
    CaseSummary,
    EvidenceMessage,
    ScorePoint,
)
from groomguard.serving.store import StateConfig, Store
from groomguard.serving.store import cases as case_db
from groomguard.serving.store.models import CaseRow
from groomguard.serving.store.statuses import DECIDED_STATUSES, FINAL_STATUSES, STATUSES, Decision
from groomguard.windowing import Windower

EXPORT_PAGE = 100


def summary(case: CaseRow, message_count: int) -> CaseSummary:
    return CaseSummary(
        case_id=case.case_id, conversation_id=case.conversation_id, status=case.status,  # type: ignore[arg-type]
        level=case.level, risk=case.risk, max_risk=case.max_risk, model=case.model_ref,  # type: ignore[arg-type]
        opened_at=case.opened_at, updated_at=case.updated_at, decided_at=case.decided_at,
        message_count=message_count,
    )


class CaseQueue:
    store: Store
    scorer: WindowScorer
    windower: Windower
    thresholds: Thresholds
    state: StateConfig

    def _level(self, risk: float) -> Level:
        return level_for(risk, self.thresholds)

    def list_cases(self, status: str | None, level: str | None, limit: int, offset: int) -> CasePage:
        """Cases sorted by max risk (highest first), then newest; filter by status and/or level."""
        if status is not None and status not in STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}")
        if level is not None and level not in ("low", "review", "high"):
            raise InvalidRequest("level must be one of low, review, high")
        if limit < 1 or offset < 0:
            raise InvalidRequest("limit must be >= 1 and offset >= 0")
        with self.store.read() as s:
            rows, total = case_db.case_page(s, status, level, limit, offset)
            counts = case_db.evidence_counts(s, [r.case_id for r in rows])
        return CasePage(items=[summary(r, counts.get(r.case_id, 0)) for r in rows], total=total,
                        limit=limit, offset=offset)

    def get_case(self, case_id: str, explain: bool = True) -> CaseDetail:
        """Everything about a case; `explain` adds the leave-one-message-out top messages (scores once)."""
        with self.store.read() as s:
            case = case_db.get_case(s, case_id)
            if case is None:
                raise NotFound(f"case {case_id} not found")
            evidence = case_db.evidence_rows(s, case_id)
            scores = case_db.score_rows(s, case_id)
            audit = case_db.audit_rows(s, case_id)
        roles = dict(case.roles or {})
        top = []
        if explain and evidence:
            inputs = [InfluenceInput(e.seq, e.message_id, e.author, e.text) for e in evidence]
            top = message_influence(self.windower, self.scorer, inputs, roles, self.state.top_messages)
        base = summary(case, len(evidence))
        return CaseDetail(
            **base.model_dump(),
            decision=case.status if case.status in DECIDED_STATUSES else None,  # type: ignore[arg-type]
            decided_by=case.decided_by, note=case.decision_note,
            messages=[EvidenceMessage(seq=e.seq, message_id=e.message_id, author=e.author, role=roles.get(e.author),
                                      text=e.text, timestamp=e.timestamp, risk=e.risk) for e in evidence],
            score_history=[ScorePoint(seq=p.seq, risk=p.risk, at=p.at) for p in scores],
            top_messages=top,
            audit=[AuditEntry(action=a.action, actor=a.actor, note=a.note, at=a.at) for a in audit],
        )

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
        return self.get_case(case_id, explain=False)

    def export_decided(self) -> Iterator[Conversation]:
        """Decided cases as canonical conversations (serving/review/verdicts.py: labels, first_risk_index)."""
        from groomguard.serving.review.verdicts import export_verdicts

        return export_verdicts(self.store)
