"""What the desk shows about chat accounts (message authors, issue 25): the rows of an account's
conversations, and "this account's other conversations" on a case page.

Reads ids, counts and scores only (the per-author aggregates, case ids, the tail's per-message risks
for the small strips): no message text is ever selected here, so no account page can show or leak one.
Bounded: a case page lists at most `desk.other_conversations` other conversations for at most
`desk.other_authors` authors; the account page at most `limits.max_page_size` (AccountReads).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from groomguard.scores import Thresholds
from groomguard.serving.desk.case_view import MiniStrip, mini_strip
from groomguard.serving.desk.config import DeskConfig
from groomguard.serving.review.views import AccountConversation, CaseDetail
from groomguard.serving.store import Store
from groomguard.serving.store import accounts as account_db
from groomguard.serving.store.orm import AccountConversationRow, CaseRow, TailMessageRow
from groomguard.serving.store.statuses import ACCOUNT_KIND, ACTIVE_STATUSES


@dataclass(frozen=True)
class ConvRow:
    """One of an author's conversations: the author's level and max risk in it, and its case."""

    conversation_id: str
    level: str
    max_risk: float
    messages: int
    last_seen: datetime
    case_id: str | None  # its active case, else its newest case, else None (never reached review)
    case_status: str | None
    strip: MiniStrip | None


@dataclass(frozen=True)
class AuthorConversations:
    """An author of the case's conversation and (some of) their other conversations."""

    author: str
    role: str | None  # the model's role (A, B, ...) in this case; handles stay behind "Show account handles"
    level: str | None  # in this conversation (None: an account case's account)
    max_risk: float | None
    total: int  # other conversations in all (rows holds at most desk.other_conversations)
    rows: list[ConvRow]


def _cases_of(s: Session, conversation_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """conversation -> (case id, status) of its conversation case: the active one, else the newest."""
    found: dict[str, tuple[str, str]] = {}
    if not conversation_ids:
        return found
    rows = s.execute(select(CaseRow.conversation_id, CaseRow.case_id, CaseRow.status, CaseRow.opened_at)
                     .where(CaseRow.kind != ACCOUNT_KIND, CaseRow.conversation_id.in_(list(conversation_ids)))
                     .order_by(CaseRow.opened_at.desc(), CaseRow.case_id))
    for conv, case_id, status, _ in rows:
        held = found.get(conv)
        if held is None or (status in ACTIVE_STATUSES and held[1] not in ACTIVE_STATUSES):
            found[conv] = (case_id, status)
    return found


def _risks_of(s: Session, conversation_ids: Sequence[str]) -> dict[str, list[float]]:
    """The tail's scored per-message risks of each conversation, in order (risk column only)."""
    out: dict[str, list[float]] = {}
    if not conversation_ids:
        return out
    t = TailMessageRow
    for conv, risk in s.execute(select(t.conversation_id, t.risk).where(
            t.conversation_id.in_(list(conversation_ids)), t.risk.is_not(None)).order_by(t.conversation_id, t.seq)):
        if risk is not None:  # excluded by the query; says so to the type checker
            out.setdefault(conv, []).append(float(risk))
    return out


def _rows(s: Session, convs: Iterable[AccountConversation | AccountConversationRow],
          thresholds: Thresholds) -> list[ConvRow]:
    convs = list(convs)
    ids = [c.conversation_id for c in convs]
    cases, risks = _cases_of(s, ids), _risks_of(s, ids)
    out = []
    for c in convs:
        case_id, status = cases.get(c.conversation_id, (None, None))
        out.append(ConvRow(c.conversation_id, c.level, c.max_risk, c.messages, c.last_seen, case_id, status,
                           mini_strip(risks.get(c.conversation_id, []), thresholds)))
    return out


def account_rows(store: Store, convs: Sequence[AccountConversation], thresholds: Thresholds) -> list[ConvRow]:
    """The account page's conversation rows (its list comes from AccountReads.get_account)."""
    with store.read() as s:
        return _rows(s, convs, thresholds)


def linked_rows(store: Store, detail: CaseDetail, thresholds: Thresholds) -> list[ConvRow]:
    """An account case's linked conversations, with the account's level and max risk in each."""
    if detail.account is None or not detail.linked_conversations:
        return []
    acr = AccountConversationRow
    with store.read() as s:
        convs = list(s.scalars(select(acr).where(acr.author == detail.account,
                                                 acr.conversation_id.in_(detail.linked_conversations))
                               .order_by(acr.max_risk.desc(), acr.conversation_id)))
        return _rows(s, convs, thresholds)


def other_conversations(store: Store, detail: CaseDetail, thresholds: Thresholds,
                        desk: DeskConfig) -> list[AuthorConversations]:
    """For each author of the case's conversation (highest risk in it first; for an account case its
    account), their other conversations, highest risk first. Which author is the suspected adult is
    not known to the store (roles are the model's A/B), so every author is listed, the riskiest first."""
    acr = AccountConversationRow
    roles = {m.author: m.role for m in detail.messages}
    with store.read() as s:
        if detail.kind == ACCOUNT_KIND and detail.account is not None:
            people: list[tuple[str, str | None, float | None]] = [(detail.account, None, None)]
            exclude = {detail.conversation_id, *detail.linked_conversations}
        else:
            people = [(r.author, r.level, r.max_risk) for r in s.execute(
                select(acr.author, acr.level, acr.max_risk).where(acr.conversation_id == detail.conversation_id)
                .order_by(acr.max_risk.desc(), acr.author).limit(desk.other_authors))]
            exclude = {detail.conversation_id}
        out = []
        for author, level, risk in people:
            convs = account_db.account_conversations(s, author, desk.other_conversations, exclude)
            total = account_db.count_account_conversations(s, author, exclude)
            out.append(AuthorConversations(author, roles.get(author), level, risk, total,
                                           _rows(s, convs, thresholds)))
    return out
