"""The account queue (`/review/accounts`) and one chat account's page (`/review/accounts/{author}`).

"Account" in the desk is a chat account: a message author with the per-author aggregates of issue 25.
The queue lists the account rule's cases (claimed and decided on the ordinary case page, with the same
audit trail) beside every account by risk; an account page shows the aggregates, the account's
conversations (level, max risk, a small risk strip, a link to the conversation's case) and its cases.
No message text is read for either page (account_view.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from groomguard.scores import level_for
from groomguard.serving.desk import queue as q
from groomguard.serving.desk.account_view import account_rows
from groomguard.serving.desk.sessions import DeskSession
from groomguard.serving.desk.web import PREFIX, DeskError, case_errors, check_author, current, render, services_of
from groomguard.serving.review.errors import InvalidRequest
from groomguard.serving.store.statuses import ACCOUNT_KIND, OPEN, STATUSES

router = APIRouter(prefix=f"{PREFIX}/accounts", include_in_schema=False)


@router.get("")
def account_queue(request: Request, status: str = OPEN, page: int = 1, apage: int = 1,
                  session: DeskSession = Depends(current)) -> Response:
    """Account cases (`status`, `page`; `status=any` lists every status) and accounts by max risk
    (`apage`), each paginated by desk.page_size."""
    services = services_of(request)
    desk = services.config.desk
    flt = q.QueueFilter(status=None if status == "any" else status, kind=ACCOUNT_KIND)
    try:
        cases = q.queue(services.store, session.user.name, flt, page, desk.page_size, desk.claim_minutes)
    except InvalidRequest as exc:
        raise DeskError(400, str(exc)) from None
    size = desk.page_size
    offset = min((max(1, apage) - 1) * size, services.config.limits.max_offset)
    accounts = services.review.list_accounts(size, offset)
    apages = max(1, -(-accounts.total // size))
    if offset and offset >= accounts.total:  # past the end (or the list shrank): show the last page
        offset = (apages - 1) * size
        accounts = services.review.list_accounts(size, offset)
    thresholds = services.engine.thresholds
    levels = {a.author: level_for(a.max_risk, thresholds) for a in accounts.items}
    return render(request, "accounts.html", session=session, cases=cases, accounts=accounts, levels=levels,
                  apage=offset // size + 1, apages=apages, case_status=status, statuses=STATUSES)


@router.get("/{author:path}")
def account_page(request: Request, author: str, session: DeskSession = Depends(current)) -> Response:
    """One account: aggregates, conversations, cases. `:path` because platform ids may hold '/'."""
    services = services_of(request)
    check_author(author, services.config.limits.max_id_chars)
    with case_errors("No such account."):
        detail = services.review.get_account(author)
    thresholds = services.engine.thresholds
    return render(request, "account.html", session=session, account=detail,
                  level=level_for(detail.max_risk, thresholds), thresholds=thresholds,
                  rows=account_rows(services.store, detail.conversation_list, thresholds))
