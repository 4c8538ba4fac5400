"""The work queue (`/review`) and claiming: who works which case."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from groomguard.serving.desk import queue as q
from groomguard.serving.desk.sessions import DeskSession
from groomguard.serving.desk.users import list_users
from groomguard.serving.desk.web import (
    PREFIX,
    DeskError,
    case_errors,
    check_case_id,
    check_csrf,
    current,
    render,
    see_other,
    services_of,
)
from groomguard.serving.review.errors import InvalidRequest
from groomguard.serving.store.statuses import OPEN, STATUSES

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _day(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=timezone.utc)
    except ValueError:
        raise DeskError(400, f"{name} must be a date like 2025-03-01") from None


@router.get("")
def queue_page(request: Request, status: str = OPEN, level: str = "", mine: str = "", opened_from: str = "",
               opened_to: str = "", page: int = 1, done: str = "",
               session: DeskSession = Depends(current)) -> Response:
    """Cases to work, most urgent first. `status=any` lists every status; `opened_to` is inclusive."""
    services = services_of(request)
    until = _day(opened_to, "opened_to")
    flt = q.QueueFilter(status=None if status == "any" else status, level=level or None, mine=mine == "1",
                        opened_from=_day(opened_from, "opened_from"),
                        opened_to=until + timedelta(days=1) if until else None)
    try:
        result = q.queue(services.store, session.user.name, flt, page, services.config.desk.page_size,
                         services.config.desk.claim_minutes)
    except InvalidRequest as exc:
        raise DeskError(400, str(exc)) from None
    params = {"status": status, "level": level, "mine": mine, "opened_from": opened_from, "opened_to": opened_to}
    return render(request, "queue.html", session=session, result=result, params=params, done=done[:80],
                  statuses=STATUSES, levels=q.LEVELS)


@router.post("/cases/{case_id}/claim")
def claim(request: Request, case_id: str, csrf: str = Form(""), session: DeskSession = Depends(current)) -> Response:
    check_case_id(case_id)
    check_csrf(session, csrf)
    services = services_of(request)
    with case_errors():
        q.claim(services.store, case_id, session.user.name, lead=session.user.is_lead,
                claim_minutes=services.config.desk.claim_minutes)
    return see_other(f"{PREFIX}/cases/{case_id}")


@router.post("/cases/{case_id}/assign")
def assign(request: Request, case_id: str, assignee: str = Form(""), csrf: str = Form(""),
           session: DeskSession = Depends(current)) -> Response:
    """Leads only: hand a case to another person (an active account)."""
    check_case_id(case_id)
    check_csrf(session, csrf)
    if not session.user.is_lead:
        raise DeskError(403, "Only a lead can assign cases.")
    services = services_of(request)
    if assignee not in {u.name for u in list_users(services.store) if u.disabled_at is None}:
        raise DeskError(400, "Choose an active account to assign the case to.")
    with case_errors():
        q.claim(services.store, case_id, session.user.name, assignee=assignee, lead=True,
                claim_minutes=services.config.desk.claim_minutes)
    return see_other(f"{PREFIX}/cases/{case_id}")
