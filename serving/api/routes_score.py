"""POST /v1/score: stateless scoring of whole conversations (optionally routed to review)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from groomguard.serving.api.auth import require_scope
from groomguard.serving.api.deps import Services, get_services
from groomguard.serving.api.errors import field_error
from groomguard.serving.api.metrics import CASES_OPENED
from groomguard.serving.api.models import ConversationScoreOut, ScoreRequest, ScoreResponse
from groomguard.serving.apikeys import ApiKeyInfo
from groomguard.serving.review.request_limits import check_conversations
from groomguard.window_plan import WindowPlan

router = APIRouter(prefix="/v1", tags=["scoring"])

PROBLEMS: dict[int | str, dict[str, object]] = {
    s: {"description": d, "content": {"application/problem+json": {}}}
    for s, d in ((400, "Body is not valid JSON"), (401, "No or invalid API key"), (403, "Key lacks the scope"),
                 (413, "Body too large"), (422, "Invalid body or limit exceeded"),
                 (429, "The key is over its rate limit (Retry-After)"),
                 (503, "Queue full, backend or store down (Retry-After)"))
}


@router.post("/score", response_model=ScoreResponse, responses=PROBLEMS, summary="Score 1-64 conversations")
def score(
    body: ScoreRequest,
    services: Services = Depends(get_services),
    _key: ApiKeyInfo = Depends(require_scope("score")),
) -> ScoreResponse:
    """Risk after every message (the window ending there), the conversation's risk (the maximum) and
    level. Stateless: nothing is stored unless `route` is true, in which case conversations at or over
    the review threshold open or update a review case (`case_id`)."""
    check_conversations(body.conversations, services.config.limits)
    if body.route and len({c.conversation_id for c in body.conversations}) != len(body.conversations):
        raise field_error("conversations", "conversation_id must be unique when route is true")
    engine = services.engine
    plan = WindowPlan.of(engine.windower, body.conversations)
    risks = services.batcher.score(plan.windows, timeout=services.config.batching.timeout_s, lane="bulk")
    results = []
    for conv, by_msg in zip(body.conversations, plan.by_message(risks), strict=True):
        overall = max(by_msg)
        case_id = None
        if body.route:
            routed = services.review.route_scored(conv, by_msg)
            case_id = routed.case_id
            if routed.opened:
                CASES_OPENED.inc()
        results.append(ConversationScoreOut(conversation_id=conv.conversation_id, risk=overall,
                                            level=engine.level(overall), risk_by_message=by_msg,
                                            model=engine.model_ref, case_id=case_id))
    return ScoreResponse(results=results)

