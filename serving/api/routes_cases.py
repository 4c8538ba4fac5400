"""The review queue: list, read, decide and export cases."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse

from groomguard.scores import Level
from groomguard.serving.api.auth import require_scope
from groomguard.serving.api.deps import Services, get_services
from groomguard.serving.api.errors import field_error
from groomguard.serving.api.metrics import DECISIONS
from groomguard.serving.api.models import DecisionRequest
from groomguard.serving.api.routes_score import PROBLEMS
from groomguard.serving.apikeys import ApiKeyInfo
from groomguard.serving.review.request_limits import UNSAFE_MSG, has_unsafe_chars
from groomguard.serving.review.views import CaseDetail, CasePage
from groomguard.serving.store.statuses import CaseStatus

router = APIRouter(prefix="/v1", tags=["review queue"])


def check_case_id(case_id: str) -> None:
    """Case ids are ours (hex); a NUL or lone surrogate in one is a 422, not a database error."""
    if has_unsafe_chars(case_id):
        raise field_error("case_id", UNSAFE_MSG)

NOT_FOUND: dict[int | str, dict[str, object]] = {
    **PROBLEMS, 404: {"description": "No such case", "content": {"application/problem+json": {}}}}
DECISION_PROBLEMS: dict[int | str, dict[str, object]] = {
    **NOT_FOUND, 409: {"description": "The case is already final (or already escalated)",
                       "content": {"application/problem+json": {}}}}


@router.get("/cases", response_model=CasePage, responses=PROBLEMS, summary="List cases, highest risk first")
def list_cases(
    status: CaseStatus | None = Query(default=None, description="Filter by status."),
    level: Level | None = Query(default=None, description="Filter by level."),
    limit: int = Query(default=50, ge=1, description="Page size (at most limits.max_page_size)."),
    offset: int = Query(default=0, ge=0, description="Cases to skip (at most limits.max_offset)."),
    services: Services = Depends(get_services),
    _key: ApiKeyInfo = Depends(require_scope("review")),
) -> CasePage:
    limits = services.config.limits
    if limit > limits.max_page_size:
        raise field_error("limit", f"at most {limits.max_page_size} (limits.max_page_size)")
    if offset > limits.max_offset:
        raise field_error("offset", f"at most {limits.max_offset} (limits.max_offset)")
    return services.review.list_cases(status, level, limit, offset)


@router.get("/cases/export", responses=PROBLEMS, summary="Export decided cases as canonical JSONL",
            response_class=StreamingResponse,
            response_description="One canonical conversation per line (application/x-ndjson); label 1 for "
                                 "confirmed/escalated, 0 for dismissed.")
def export_cases(
    services: Services = Depends(get_services),
    _key: ApiKeyInfo = Depends(require_scope("admin")),
) -> StreamingResponse:
    """Decided cases as training data for the next model. Admin scope: it is a bulk copy of message text."""
    conversations = services.review.export_decided()
    # Read the first page before answering: a store fault then becomes a 503, not a 200 whose
    # body breaks off (once the status line is sent, a later fault can only cut the stream).
    first = list(itertools.islice(conversations, 1))

    def lines() -> Iterator[bytes]:
        for conv in itertools.chain(first, conversations):
            yield (json.dumps(conv.model_dump(mode="json", exclude_none=True), ensure_ascii=False) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="decided-cases.jsonl"'})


@router.get("/cases/{case_id}", response_model=CaseDetail, responses=NOT_FOUND, summary="One case with evidence")
def get_case(
    case_id: str = Path(max_length=128),
    services: Services = Depends(get_services),
    _key: ApiKeyInfo = Depends(require_scope("review")),
) -> CaseDetail:
    """The case, its evidence messages, score history, audit trail and the messages that moved the
    score most (leave-one-out deltas on the newest window)."""
    check_case_id(case_id)
    return services.review.get_case(case_id)


@router.post("/cases/{case_id}/decision", response_model=CaseDetail, responses=DECISION_PROBLEMS,
             summary="Confirm, dismiss or escalate a case")
def decide(
    body: DecisionRequest,
    case_id: str = Path(max_length=128),
    services: Services = Depends(get_services),
    key: ApiKeyInfo = Depends(require_scope("review")),
) -> CaseDetail:
    """Record a moderator's decision; the actor is the API key's name. Every decision is audited."""
    check_case_id(case_id)
    detail = services.review.decide(case_id, body.decision, body.note, actor=key.name)
    DECISIONS.labels(body.decision).inc()
    return detail
