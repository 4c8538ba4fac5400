"""The canonical conversation schema (docs/design.md "Conversation").

Every loader, the API body and the review-queue export produce and consume these types.
Validation lives here so a malformed record is rejected in the same words everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NonEmptyStr = Annotated[str, Field(min_length=1)]


class Message(BaseModel):
    """One chat message. `text` may be empty (PAN12 has messages with no text)."""

    # Unknown fields are an error: a typo such as "txt" must not silently drop the message text.
    model_config = ConfigDict(extra="forbid")

    author: NonEmptyStr
    text: str
    timestamp: datetime | None = None
    message_id: str | None = None


class Conversation(BaseModel):
    """A whole conversation, optionally labelled.

    `label` 1 means grooming. `first_risk_index` is the 0-based index of the first message at which a
    careful moderator would escalate; windows ending before it are not positives.
    """

    model_config = ConfigDict(extra="forbid")

    conversation_id: NonEmptyStr
    messages: list[Message] = Field(min_length=1)
    label: Literal[0, 1] | None = None
    predator_ids: list[str] = Field(default_factory=list)
    first_risk_index: int | None = Field(default=None, ge=0)
    source: str | None = None
    lang: str | None = None
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_consistency(self) -> Conversation:
        if self.first_risk_index is not None and self.first_risk_index >= len(self.messages):
            raise ValueError(
                f"first_risk_index {self.first_risk_index} is past the last message "
                f"(conversation has {len(self.messages)} messages)"
            )
        return self

    @property
    def authors(self) -> list[str]:
        """Distinct authors in order of first appearance."""
        return list(dict.fromkeys(m.author for m in self.messages))
