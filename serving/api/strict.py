"""Edge validation of request bodies: what the canonical schema tolerates but a service must refuse.

The canonical `Message`/`Conversation` (groomguard.schema) are shared with the data loaders, which
read files; a network edge must be stricter, and these subclasses add it without changing the
contract (they are still `Message`/`Conversation`, so the service code takes them unchanged):

- no NUL characters and no lone UTF-16 surrogates in any string (PostgreSQL cannot store NUL, and a
  lone surrogate cannot be encoded as UTF-8 for the tokenizer, a log line or a database);
- `timestamp` must be an ISO 8601 string (no numbers coerced to Unix times: `0` is a client bug),
  and must stay representable when converted to UTC (`9999-12-31T23:59:59-01:00` is year 10000);
- booleans are booleans (`"route": 0` is refused, not read as false).

Every failure is a 422 naming the field (serving/api/errors.py), never quoting the value.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

from groomguard.schema import Conversation, Message
from groomguard.serving.review.request_limits import UNSAFE_MSG, has_unsafe_chars


def _safe(value: str) -> str:
    if has_unsafe_chars(value):
        raise ValueError(UNSAFE_MSG)
    return value


def _iso_only(value: Any) -> Any:
    if value is not None and not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


def _utc_representable(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is not None:
        try:
            value.astimezone(timezone.utc)
        except OverflowError:
            raise ValueError("outside the representable range once converted to UTC") from None
    return value


SafeStr = Annotated[str, AfterValidator(_safe)]
SafeId = Annotated[str, Field(min_length=1), AfterValidator(_safe)]
Timestamp = Annotated[datetime | None, BeforeValidator(_iso_only), AfterValidator(_utc_representable)]


class ApiMessage(Message):
    model_config = ConfigDict(title="Message")

    author: SafeId
    text: SafeStr
    timestamp: Timestamp = None
    message_id: SafeStr | None = None


class ApiConversation(Conversation):
    model_config = ConfigDict(title="Conversation")

    conversation_id: SafeId
    messages: list[ApiMessage] = Field(min_length=1)  # type: ignore[assignment]
    predator_ids: list[SafeStr] = Field(default_factory=list)
    source: SafeStr | None = None
    lang: SafeStr | None = None
    tags: list[SafeStr] = Field(default_factory=list)
