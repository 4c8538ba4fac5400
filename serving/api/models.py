"""Request and response bodies of the HTTP API (the OpenAPI schema at /docs is generated from these).

Conversations and messages are the canonical `groomguard.schema` types; limits that depend on
configuration (counts, text length) are checked in one place (serving/review/request_limits.py).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from groomguard.scores import Level
from groomguard.serving.api.strict import ApiConversation, ApiMessage, SafeStr
from groomguard.serving.store.statuses import Decision


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversations: list[ApiConversation] = Field(min_length=1, description="1-64 canonical conversations.")
    route: bool = Field(default=False, strict=True, description="Open/update a review case for conversations over the "
                                                   "review threshold. Otherwise nothing is stored.")


class ConversationScoreOut(BaseModel):
    conversation_id: str
    risk: float = Field(description="Maximum window risk over the conversation, calibrated, in [0, 1].")
    level: Level
    risk_by_message: list[float] = Field(description="Risk of the window ending at each message.")
    model: str = Field(description="name@version of the bundle that scored it.")
    case_id: str | None = Field(default=None, description="Set when `route` was true and a case is open.")


class ScoreResponse(BaseModel):
    results: list[ConversationScoreOut]


class AppendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[ApiMessage] = Field(min_length=1, description="1-100 messages in chronological order. "
                                    "Messages with a `message_id` already stored for this conversation are "
                                    "ignored (idempotent retries); messages without one are always appended.")


class AppendResponse(BaseModel):
    conversation_id: str
    risk: float = Field(description="Risk of the window ending at the newest message.")
    max_risk: float = Field(description="Highest risk seen in this conversation.")
    level: Level = Field(description="Level of max_risk.")
    case_id: str | None
    case_opened: bool = Field(description="True when this request opened the case.")
    accepted: int = Field(description="Messages stored by this request.")
    duplicates: int = Field(description="Messages skipped because their message_id was already stored.")
    model: str


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision
    note: SafeStr | None = Field(default=None, max_length=2000)


class Ready(BaseModel):
    ready: bool
    model: str
    backend: str
    provider: str = Field(description="Execution provider / detail reported by the backend in use.")
    variant: str = Field(default="", description="Model variant served (engine.variant auto resolved): fp32, bf16, ...")
    backend_ok: bool = Field(description="The backend reports healthy.")
    model_ok: bool = Field(description="A one-window test inference returned a valid risk (cached probe).")
    store_ok: bool = Field(description="The store took a committed write (cached probe).")
