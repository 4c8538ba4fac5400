"""What the review queue returns: pydantic views of cases (the API serialises these as they are)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from groomguard.scores import Level
from groomguard.serving.store.statuses import CaseKind, CaseStatus, Decision


class CaseSummary(BaseModel):
    """One row of the queue."""

    case_id: str
    conversation_id: str
    status: CaseStatus
    level: Level
    risk: float = Field(description="Risk of the newest scored window.")
    max_risk: float = Field(description="Highest risk seen since the case opened; sorts the queue.")
    model: str = Field(description="Model (name@version) that opened the case.")
    opened_at: datetime
    updated_at: datetime
    decided_at: datetime | None = None
    message_count: int = Field(description="Evidence messages kept with the case.")
    kind: CaseKind = Field(default="conversation", description="conversation, or account (the account rule).")
    account: str | None = Field(default=None, description="An account case's account (message author).")


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int
    limit: int
    offset: int


class EvidenceMessage(BaseModel):
    """A copy of a conversation message kept as evidence (survives tail expiry)."""

    seq: int = Field(description="Position of the message in the conversation (0-based).")
    message_id: str | None = None
    author: str
    role: str | None = Field(default=None, description="Role the model saw (A, B, ...).")
    text: str
    timestamp: datetime | None = None
    risk: float | None = Field(default=None, description="Window risk scored at this message, if scored.")


class ScorePoint(BaseModel):
    seq: int
    risk: float
    at: datetime


class MessageInfluence(BaseModel):
    """Leave-one-message-out: how much the newest window's risk drops without this message."""

    seq: int
    message_id: str | None = None
    delta: float = Field(description="risk(window) - risk(window without this message); positive = raised risk.")


class AuditEntry(BaseModel):
    action: str
    actor: str
    note: str | None = None
    at: datetime


class CaseDetail(CaseSummary):
    decision: Decision | None = None
    decided_by: str | None = None
    note: str | None = None
    messages: list[EvidenceMessage]
    score_history: list[ScorePoint]
    top_messages: list[MessageInfluence] = Field(
        default_factory=list, description="Messages that moved the score most (leave-one-message-out)."
    )
    audit: list[AuditEntry]
    linked_conversations: list[str] = Field(
        default_factory=list, description="An account case's conversations (no message is copied into it).")


# -- accounts (issue 25): aggregates only; no message text ever -------------------------------------------
class AccountSummary(BaseModel):
    """One message author's aggregates over the conversations the store still holds."""

    author: str
    conversations: int = Field(description="Conversations the author wrote in.")
    counterparts: int = Field(description="Distinct other authors of those conversations.")
    conversations_review: int = Field(description="Conversations where the author's windows reached review (or high).")
    conversations_high: int = Field(description="Conversations where the author's windows reached high.")
    messages: int
    max_risk: float = Field(description="Highest risk of a window ending at one of the author's messages.")
    first_seen: datetime
    last_seen: datetime
    open_cases: int = Field(
        description="Active (open/escalated) account cases and cases of the author's conversations.")


class AccountPage(BaseModel):
    items: list[AccountSummary]
    total: int
    limit: int
    offset: int


class AccountConversation(BaseModel):
    """The author in one conversation (ids, counts and scores only)."""

    conversation_id: str
    level: Level
    max_risk: float
    messages: int
    first_seen: datetime
    last_seen: datetime
    review_at: datetime | None = Field(default=None, description="When it first reached review for this author.")


class AccountDetail(AccountSummary):
    conversation_list: list[AccountConversation] = Field(
        description="The author's conversations, highest risk first (at most limits.max_page_size).")
    cases: list[CaseSummary]
