"""POST /v1/conversations/{conversation_id}/messages: streaming scoring, message by message."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from groomguard.schema import Message
from groomguard.serving.api.auth import require_scope
from groomguard.serving.api.deps import Services, get_services
from groomguard.serving.api.metrics import CASES_OPENED, MESSAGES_APPENDED
from groomguard.serving.api.models import AppendRequest, AppendResponse
from groomguard.serving.api.routes_score import PROBLEMS
from groomguard.serving.apikeys import ApiKeyInfo

router = APIRouter(prefix="/v1", tags=["conversations"])


@router.post("/conversations/{conversation_id}/messages", response_model=AppendResponse, responses=PROBLEMS,
             summary="Append messages and get the conversation's current risk")
async def append_messages(
    body: AppendRequest,
    conversation_id: str = Path(description="The platform's conversation id."),
    services: Services = Depends(get_services),
    _key: ApiKeyInfo = Depends(require_scope("score")),
) -> AppendResponse:
    """Append 1-100 messages (oldest first) and score the window ending at the newest message.

    Idempotent by `message_id`: a retried request stores nothing new and returns the same answer.
    Cost does not grow with conversation length (a bounded tail is kept per conversation). When the
    risk reaches the review threshold a review case is opened (or updated): `case_id`."""
    # async: store work runs in worker threads and the wait for the micro-batch is awaited, so a
    # request queued for scoring holds no thread. Limits are checked by the append path (422 via
    # LimitExceeded). The walk from here to the case: docs/design.md "The append walk".
    messages: list[Message] = list(body.messages)
    out = await services.review.appends.append(conversation_id, messages)
    if out.case_opened and out.accepted:  # a retried request reports the same outcome; count it once
        CASES_OPENED.inc()
    if out.accepted:
        MESSAGES_APPENDED.inc(out.accepted)
    return AppendResponse(conversation_id=out.conversation_id, risk=out.risk, max_risk=out.max_risk, level=out.level,
                          case_id=out.case_id, case_opened=out.case_opened, accepted=out.accepted,
                          duplicates=out.duplicates, model=services.engine.model_ref)
