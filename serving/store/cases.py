"""Case persistence inside a caller's transaction: open, update, evidence/history caps, audit, queries.

All SQL on the case tables lives here (the review service, verdict export, retention and the desk
call these functions). Writers (groomguard.serving.review.service) hold the conversation lock; the partial
unique index on `cases` is the backstop that makes a second active case per conversation impossible
even if they did not.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ColumnExpressionArgument, and_, case, delete, exists, func, select
from sqlalchemy.orm import Session

from groomguard.serving.store.orm import (
    AuditRow,
    CaseClaimRow,
    CaseLinkRow,
    CaseMessageRow,
    CaseRow,
    CaseScoreRow,
    SecondReviewRow,
    utcnow,
)
from groomguard.serving.store.statuses import (
    ACTIVE_STATUSES,
    CONVERSATION_KIND,
    DECIDED_STATUSES,
    FINAL_STATUSES,
    OPEN,
)


@dataclass(frozen=True)
class EvidenceIn:
    """A message to copy into a case's evidence."""

    seq: int
    message_id: str | None
    author: str
    text: str
    timestamp: datetime | None
    risk: float | None


def new_case_id() -> str:
    return f"case-{uuid.uuid4().hex}"


def active_case(session: Session, conversation_id: str, lock: bool = False) -> CaseRow | None:
    stmt = select(CaseRow).where(CaseRow.conversation_id == conversation_id, CaseRow.status.in_(ACTIVE_STATUSES),
                                 CaseRow.kind == CONVERSATION_KIND)
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def get_case(session: Session, case_id: str, lock: bool = False) -> CaseRow | None:
    """One case; `lock` holds its row until commit (SELECT ... FOR UPDATE; SQLite's writes are serial)."""
    if not lock:
        return session.get(CaseRow, case_id)
    return session.scalars(select(CaseRow).where(CaseRow.case_id == case_id).with_for_update()).first()


def case_page(session: Session, status: str | None, level: str | None, limit: int,
              offset: int) -> tuple[list[CaseRow], int]:
    """The API's queue: cases by max risk (highest first), then newest, then id; and how many match."""
    where = []
    if status is not None:
        where.append(CaseRow.status == status)
    if level is not None:
        where.append(CaseRow.level == level)
    total = session.scalar(select(func.count()).select_from(CaseRow).where(*where)) or 0
    rows = list(session.scalars(
        select(CaseRow).where(*where)
        .order_by(CaseRow.max_risk.desc(), CaseRow.opened_at.desc(), CaseRow.case_id)
        .limit(limit).offset(offset)
    ))
    return rows, int(total)


def decided_page(session: Session, after: tuple[datetime, str] | None, limit: int) -> list[CaseRow]:
    """Decided conversation cases in (decided_at, case_id) order after the keyset `after`: the verdict
    export's pages (an account case copies no message, so it is no training example)."""
    stmt = select(CaseRow).where(CaseRow.status.in_(DECIDED_STATUSES), CaseRow.decided_at.is_not(None),
                                 CaseRow.kind == CONVERSATION_KIND)
    if after is not None:
        stmt = stmt.where((CaseRow.decided_at > after[0])
                          | ((CaseRow.decided_at == after[0]) & (CaseRow.case_id > after[1])))
    return list(session.scalars(stmt.order_by(CaseRow.decided_at, CaseRow.case_id).limit(limit)))


def no_active_case(conversation_id: ColumnExpressionArgument[str]) -> ColumnElement[bool]:
    """SQL condition for a conversation query: no open or escalated case, and no link to an active
    account case (retention keeps those tails: a moderator may still need them)."""
    linked = (exists().where(CaseLinkRow.conversation_id == conversation_id, CaseLinkRow.case_id == CaseRow.case_id,
                             CaseRow.status.in_(ACTIVE_STATUSES)))
    return ~exists().where(CaseRow.status.in_(ACTIVE_STATUSES), CaseRow.conversation_id == conversation_id) & ~linked


def purgeable_case_ids(session: Session, decided_before: datetime, limit: int | None = None) -> list[str]:
    """Final (confirmed/dismissed) cases decided before the cutoff, by id; escalated ones never qualify."""
    stmt = (select(CaseRow.case_id)
            .where(CaseRow.status.in_(FINAL_STATUSES), CaseRow.decided_at < decided_before)
            .order_by(CaseRow.case_id))
    return list(session.scalars(stmt if limit is None else stmt.limit(limit)))


def audit(session: Session, action: str, actor: str, case_id: str | None = None, note: str | None = None,
          detail: dict[str, Any] | None = None, at: datetime | None = None) -> None:
    """Append to the audit log (never updated, never deleted except with a purged case)."""
    session.add(AuditRow(case_id=case_id, action=action, actor=actor, note=note, detail=detail, at=at or utcnow()))


def open_case(session: Session, conversation_id: str, *, points: Sequence[tuple[int, float]], level: str,
              model_ref: str, roles: dict[str, str], evidence: Sequence[EvidenceIn], evidence_cap: int,
              history_cap: int, actor: str = "system") -> CaseRow:
    """Create an open case with its first evidence and score points ((seq, risk), oldest first: the
    newest is the case's `risk`, the highest its `max_risk`); audited as `opened`."""
    now = utcnow()
    risk, top = points[-1][1], max(r for _, r in points)
    case = CaseRow(case_id=new_case_id(), conversation_id=conversation_id, status=OPEN, level=level, risk=risk,
                   max_risk=top, model_ref=model_ref, roles=dict(roles), opened_at=now, updated_at=now,
                   evidence_version=1)
    session.add(case)
    session.flush()  # the partial unique index fires here if another active case exists
    add_evidence(session, case.case_id, evidence, evidence_cap)
    add_scores(session, case.case_id, points, history_cap, now)
    audit(session, "opened", actor, case.case_id, detail={"risk": round(top, 6), "model": model_ref}, at=now)
    return case


def update_case(session: Session, case: CaseRow, *, points: Sequence[tuple[int, float]], level_of: Any,
                roles: dict[str, str], evidence: Sequence[EvidenceIn], evidence_cap: int, history_cap: int) -> None:
    """Later messages: append evidence and score points, raise max_risk, refresh the level."""
    now = utcnow()
    add_evidence(session, case.case_id, evidence, evidence_cap)
    if points:
        add_scores(session, case.case_id, points, history_cap, now)
        case.risk = points[-1][1]
        case.max_risk = max(case.max_risk, *(r for _, r in points))
    case.level = level_of(case.max_risk)
    case.roles = {**case.roles, **roles}
    case.updated_at = now
    case.evidence_version = case.evidence_version + 1


def add_evidence(session: Session, case_id: str, evidence: Sequence[EvidenceIn], cap: int) -> None:
    """Copy messages into the case, then keep only the newest `cap` (by conversation position)."""
    if not evidence:
        return
    session.add_all(
        CaseMessageRow(case_id=case_id, seq=e.seq, message_id=e.message_id, author=e.author, text=e.text,
                       timestamp=e.timestamp, risk=e.risk)
        for e in evidence
    )
    session.flush()
    _cap(session, CaseMessageRow, case_id, cap)


def add_scores(session: Session, case_id: str, points: Sequence[tuple[int, float]], cap: int, at: datetime) -> None:
    """Score points (seq, risk), then keep only the newest `cap`."""
    session.add_all(CaseScoreRow(case_id=case_id, seq=seq, risk=risk, at=at) for seq, risk in points)
    session.flush()
    _cap(session, CaseScoreRow, case_id, cap)


def _cap(session: Session, model: type[CaseMessageRow] | type[CaseScoreRow], case_id: str, cap: int) -> None:
    count = session.scalar(select(func.count()).select_from(model).where(model.case_id == case_id)) or 0
    if count <= cap:
        return
    oldest = select(model.id).where(model.case_id == case_id).order_by(model.seq, model.id).limit(count - cap)
    session.execute(delete(model).where(model.id.in_(list(session.scalars(oldest)))))


def evidence_rows(session: Session, case_id: str) -> list[CaseMessageRow]:
    return list(session.scalars(
        select(CaseMessageRow).where(CaseMessageRow.case_id == case_id).order_by(CaseMessageRow.seq, CaseMessageRow.id)
    ))


def score_rows(session: Session, case_id: str) -> list[CaseScoreRow]:
    return list(session.scalars(
        select(CaseScoreRow).where(CaseScoreRow.case_id == case_id).order_by(CaseScoreRow.seq, CaseScoreRow.id)
    ))


def audit_rows(session: Session, case_id: str) -> list[AuditRow]:
    return list(session.scalars(select(AuditRow).where(AuditRow.case_id == case_id).order_by(AuditRow.id)))


def evidence_counts(session: Session, case_ids: Sequence[str]) -> dict[str, int]:
    if not case_ids:
        return {}
    rows = session.execute(
        select(CaseMessageRow.case_id, func.count()).where(CaseMessageRow.case_id.in_(case_ids))
        .group_by(CaseMessageRow.case_id)
    )
    return {cid: int(n) for cid, n in rows}


def known_evidence_keys(session: Session, case_id: str) -> set[tuple[Any, ...]]:
    """Identity of messages already in a case: message_id when present, else (author, text, timestamp)."""
    keys: set[tuple[Any, ...]] = set()
    for row in evidence_rows(session, case_id):
        keys.add(("id", row.message_id) if row.message_id else ("m", row.author, row.text, row.timestamp))
    return keys


def delete_cases(session: Session, case_ids: Sequence[str]) -> None:
    """Remove cases with their evidence, score history, audit entries and links (retention)."""
    if not case_ids:
        return
    ids = list(case_ids)
    session.execute(delete(CaseMessageRow).where(CaseMessageRow.case_id.in_(ids)))
    session.execute(delete(CaseScoreRow).where(CaseScoreRow.case_id.in_(ids)))
    session.execute(delete(AuditRow).where(AuditRow.case_id.in_(ids)))
    session.execute(delete(CaseLinkRow).where(CaseLinkRow.case_id.in_(ids)))
    session.execute(delete(CaseRow).where(CaseRow.case_id.in_(ids)))


# -- the moderator desk's queries (serving/desk/queue.py) -------------------------------------------
LEVEL_RANK = case((CaseRow.level == "high", 0), (CaseRow.level == "review", 1), else_=2)


@dataclass(frozen=True)
class CaseFilter:
    """The desk queue's filter; None means any. `opened_to` is exclusive."""

    status: str | None = None
    level: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    claimed_by: str | None = None
    claim_cutoff: datetime | None = None  # claims made at or before this have lapsed: shown as unclaimed
    kind: str | None = None  # conversation | account (the desk's account queue lists account cases)


def _conditions(flt: CaseFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.status is not None:
        where.append(CaseRow.status == flt.status)
    if flt.level is not None:
        where.append(CaseRow.level == flt.level)
    if flt.opened_from is not None:
        where.append(CaseRow.opened_at >= flt.opened_from)
    if flt.opened_to is not None:
        where.append(CaseRow.opened_at < flt.opened_to)
    if flt.claimed_by is not None:
        where.append(CaseClaimRow.user_name == flt.claimed_by)
    if flt.kind is not None:
        where.append(CaseRow.kind == flt.kind)
    return where


def _claimed(cutoff: datetime | None) -> Any:  # Select[(CaseRow, str | None)]; differs in SQLAlchemy 2.0/2.1
    """Cases joined to their live claim: a lapsed claim (claimed_at <= cutoff) joins as no claim, so the
    queue shows the case unclaimed and `mine` no longer lists it."""
    on = CaseClaimRow.case_id == CaseRow.case_id
    if cutoff is not None:
        on = and_(on, CaseClaimRow.claimed_at > cutoff)
    return select(CaseRow, CaseClaimRow.user_name).outerjoin(CaseClaimRow, on)


def count_filtered(session: Session, flt: CaseFilter) -> int:
    """How many cases match the filter (the desk's page count)."""
    matching = _claimed(flt.claim_cutoff).where(*_conditions(flt)).subquery()
    return int(session.scalar(select(func.count()).select_from(matching)) or 0)


def filtered_page(session: Session, flt: CaseFilter, limit: int, offset: int) -> list[tuple[CaseRow, str | None]]:
    """Cases with their claimant: level (high first), max risk (highest first), age (oldest first), id."""
    result = session.execute(_claimed(flt.claim_cutoff).where(*_conditions(flt))
                             .order_by(LEVEL_RANK, CaseRow.max_risk.desc(), CaseRow.opened_at, CaseRow.case_id)
                             .limit(limit).offset(offset))
    return [(row[0], row[1]) for row in result]


def queue_counts(session: Session) -> dict[str, int]:
    """Open cases per level (`open_<level>`) and all cases per status (`<status>`)."""
    counts: dict[str, int] = {}
    for level, n in session.execute(select(CaseRow.level, func.count()).where(CaseRow.status == OPEN)
                                    .group_by(CaseRow.level)):
        counts[f"open_{level}"] = int(n)
    for status, n in session.execute(select(CaseRow.status, func.count()).group_by(CaseRow.status)):
        counts[status] = int(n)
    return counts


def decisions_by_moderator(session: Session) -> dict[str, dict[str, int]]:
    """moderator -> decision -> count, over the cases' current decisions."""
    decisions: dict[str, dict[str, int]] = {}
    for who, status, n in session.execute(select(CaseRow.decided_by, CaseRow.status, func.count())
                                          .where(CaseRow.status.in_(DECIDED_STATUSES), CaseRow.decided_by.is_not(None))
                                          .group_by(CaseRow.decided_by, CaseRow.status)):
        decisions.setdefault(str(who), {})[status] = int(n)
    return decisions


def open_backlog(session: Session) -> tuple[int, datetime | None]:
    """How many cases are open and when the oldest of them opened."""
    count, oldest = session.execute(select(func.count(), func.min(CaseRow.opened_at))
                                    .where(CaseRow.status == OPEN)).one()
    return int(count), oldest


def second_review_pairs(session: Session) -> list[tuple[str | None, str]]:
    """(second decision or None while pending, the case's current status) per requested second review."""
    return [(second, first) for second, first in session.execute(
        select(SecondReviewRow.decision, CaseRow.status).join(CaseRow, CaseRow.case_id == SecondReviewRow.case_id))]
