"""What the review queue returns: pydantic views of cases (the API serialises these as they are)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from groomguard.scores import Level
from groomguard.serving.store.statuses import CaseStatus, Decision


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
