"""Moderator verdicts as training data: decided cases -> canonical conversations (docs/design.md "the loop").

One owner for the export used by `GET /v1/cases/export`, the desk's lead export and
`groomguard data verdicts`:
- confirmed and escalated cases -> `label` 1, with `first_risk_index` at the first evidence message
  whose window risk reached the risk the case opened with (the point the model alerted; for a
  streamed case that is exactly the opening message), else the highest-risk message;
- dismissed cases -> `label` 0: the hard negatives (false alerts) the next model must learn from.
Streams page by page in short read transactions; tags carry the case id, decision and model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from groomguard.schema import Conversation, Message
from groomguard.serving.store import Store
from groomguard.serving.store import cases as case_db
from groomguard.serving.store.orm import AuditRow
from groomguard.serving.store.statuses import DISMISSED

EXPORT_PAGE = 100


def first_risk_index(risks: Sequence[float | None], opened_risk: float | None) -> int | None:
    """Index of the first message whose risk reached `opened_risk`; without that, of the riskiest
    message; None when no message was scored (nothing to point at)."""
    scored = [(i, r) for i, r in enumerate(risks) if r is not None]
    if not scored:
        return None
    if opened_risk is not None:
        for i, r in scored:
            if r >= opened_risk - 1e-6:  # the audit keeps the opening risk to 6 decimals
                return i
    return max(scored, key=lambda ir: (ir[1], -ir[0]))[0]


def _opened_risk(rows: Sequence[AuditRow]) -> float | None:
    for row in rows:
        if row.action == "opened" and isinstance(row.detail, dict) and isinstance(row.detail.get("risk"), (int, float)):
            return float(row.detail["risk"])
    return None


def export_verdicts(store: Store) -> Iterator[Conversation]:
    after: tuple[datetime, str] | None = None
    while True:
        with store.read() as s:
            page = case_db.decided_page(s, after, EXPORT_PAGE)
            evidence = {c.case_id: case_db.evidence_rows(s, c.case_id) for c in page}
            opened = {c.case_id: _opened_risk(case_db.audit_rows(s, c.case_id)) for c in page
                      if c.status != DISMISSED}
        for case in page:
            msgs = evidence[case.case_id]
            if not msgs:
                continue
            positive = case.status != DISMISSED
            yield Conversation(
                conversation_id=case.conversation_id,
                messages=[Message(author=m.author, text=m.text, timestamp=m.timestamp, message_id=m.message_id)
                          for m in msgs],
                label=1 if positive else 0,
                first_risk_index=first_risk_index([m.risk for m in msgs], opened[case.case_id]) if positive else None,
                source="review-queue",
                tags=[f"case:{case.case_id}", f"decision:{case.status}", f"model:{case.model_ref}"],
            )
        if len(page) < EXPORT_PAGE:
            return
        last = page[-1]
        assert last.decided_at is not None
        after = (last.decided_at, last.case_id)
