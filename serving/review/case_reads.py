"""Reads of review cases: the list, one case in full (with leave-one-message-out), the export.

`CaseReads` is the part of `ReviewService` (serving/review/service.py) that only reads cases; they are
written by appends (appends.py), routed scores (routing.py) and decisions (decisions.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from groomguard.schema import Conversation
from groomguard.serving.review.errors import InvalidRequest, NotFound
from groomguard.serving.review.influence import InfluenceInput, WindowScorer, message_influence
from groomguard.serving.review.verdicts import export_verdicts
from groomguard.serving.review.views import (
    AuditEntry,
    CaseDetail,
    CasePage,
    CaseSummary,
    EvidenceMessage,
    ScorePoint,
)
from groomguard.serving.store import StateConfig, Store
from groomguard.serving.store import accounts as account_db
from groomguard.serving.store import cases as case_db
from groomguard.serving.store.orm import CaseRow
from groomguard.serving.store.statuses import DECIDED_STATUSES, STATUSES
from groomguard.windowing import Windower


def summary(case: CaseRow, message_count: int) -> CaseSummary:
    return CaseSummary(
        case_id=case.case_id, conversation_id=case.conversation_id, status=case.status,  # type: ignore[arg-type]
        level=case.level, risk=case.risk, max_risk=case.max_risk, model=case.model_ref,  # type: ignore[arg-type]
        opened_at=case.opened_at, updated_at=case.updated_at, decided_at=case.decided_at,
        message_count=message_count, kind=case.kind, account=case.account,  # type: ignore[arg-type]
    )


class CaseReads:
    """Case reads; `scorer` and `windower` re-score a case's windows for its explanation."""

    def __init__(self, store: Store, scorer: WindowScorer, windower: Windower, state: StateConfig) -> None:
        self.store = store
        self.scorer = scorer
        self.windower = windower
        self.state = state

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
            links = account_db.case_links(s, case_id)
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
            linked_conversations=links,
        )

    def export_decided(self) -> Iterator[Conversation]:
        """Decided cases as canonical conversations (serving/review/verdicts.py: labels, first_risk_index)."""
        return export_verdicts(self.store)
