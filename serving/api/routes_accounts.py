"""Accounts (issue 25): per-author aggregates for reviewers. Ids, counts and scores; never message text."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from groomguard.serving.api.auth import require_scope
from groomguard.serving.api.deps import Services, get_services
from groomguard.serving.api.errors import field_error
from groomguard.serving.api.routes_score import PROBLEMS
from groomguard.serving.apikeys import ApiKeyInfo
from groomguard.serving.review.request_limits import UNSAFE_MSG, has_unsafe_chars
from groomguard.serving.review.views import AccountDetail, AccountPage

router = APIRouter(prefix="/v1", tags=["accounts"])

ACCOUNT_NOT_FOUND: dict[int | str, dict[str, object]] = {
    **PROBLEMS, 404: {"description": "No such account (no stored conversation has this author)",
                      "content": {"application/problem+json": {}}}}


@router.get("/accounts", response_model=AccountPage, responses=PROBLEMS, summary="List accounts, highest risk first")
def list_accounts(
    limit: int = Query(default=50, ge=1, description="Page size (at most limits.max_page_size)."),
    offset: int = Query(default=0, ge=0, description="Accounts to skip (at most limits.max_offset)."),
    services: Services = Depends(get_services),
    _key: ApiKeyInfo = Depends(require_scope("review")),
) -> AccountPage:
    """Message authors by the highest risk of a window ending at their messages, then by conversations
    at review: the multi-conversation view a single conversation's case cannot give."""
    limits = services.config.limits
    if limit > limits.max_page_size:
        raise field_error("limit", f"at most {limits.max_page_size} (limits.max_page_size)")
    if offset > limits.max_offset:
        raise field_error("offset", f"at most {limits.max_offset} (limits.max_offset)")
    return services.review.list_accounts(limit, offset)


@router.get("/accounts/{author}", response_model=AccountDetail, responses=ACCOUNT_NOT_FOUND,
            summary="One account: aggregates, conversations, cases")
def get_account(
    author: str = Path(max_length=255, description="The message author, as the appends named it."),
    services: Services = Depends(get_services),
    _key: ApiKeyInfo = Depends(require_scope("review")),
) -> AccountDetail:
    """The account's aggregates, its conversations (level and max risk) and its cases (account cases and
    the cases of its conversations)."""
    if has_unsafe_chars(author):
        raise field_error("author", UNSAFE_MSG)
    return services.review.get_account(author)
