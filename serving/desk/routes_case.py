"""The case page, decisions (through `ReviewService.decide`, as the API), second reviews, report drafts.

The case page (issue 25 item 4) keeps the claim and decision controls in a side panel that stays in
view (CSS sticky), folds long low-risk stretches (case_view.segments), links every risk-strip bar to
its message, and lists each author's other conversations (account_view); an account case shows its
linked conversations instead of messages.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from groomguard.serving.api.metrics import DECISIONS
from groomguard.serving.desk import queue as q
from groomguard.serving.desk import second
from groomguard.serving.desk.account_view import linked_rows, other_conversations
from groomguard.serving.desk.case_view import report_draft, risk_strip, segments, top_seqs
from groomguard.serving.desk.sessions import DeskSession
from groomguard.serving.desk.users import list_users
from groomguard.serving.desk.web import (
    NOTE_MAX,
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
from groomguard.serving.review.views import CaseDetail
from groomguard.serving.store.cases import audit
from groomguard.serving.store.statuses import DECIDED_STATUSES, ESCALATED

router = APIRouter(prefix=f"{PREFIX}/cases", include_in_schema=False)


def _case(request: Request, case_id: str, explain: bool = True) -> CaseDetail:
    with case_errors():
        return services_of(request).review.get_case(case_id, explain=explain)


def _note(note: str) -> str | None:
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise DeskError(400, f"The note is longer than {NOTE_MAX} characters.")
    return note or None


@router.get("/{case_id}")
def case_page(request: Request, case_id: str, session: DeskSession = Depends(current)) -> Response:
    check_case_id(case_id)
    services = services_of(request)
    detail = _case(request, case_id)
    thresholds = services.engine.thresholds
    review2 = second.get(services.store, case_id)
    blind = review2 is not None and review2.decision is None and detail.decided_by != session.user.name
    now = datetime.now(timezone.utc)
    exposure_s = (now - session.created_at).total_seconds()
    users = [u.name for u in list_users(services.store) if u.disabled_at is None] if session.user.is_lead else []
    holder = q.claimant(services.store, case_id, services.config.desk.claim_minutes)
    desk = services.config.desk
    top = top_seqs(detail)
    return render(request, "case.html", session=session, case=detail, thresholds=thresholds,
                  strip=risk_strip(detail, thresholds), top=top, claimed_by=holder,
                  segments=segments(detail, thresholds, top, desk),
                  others=other_conversations(services.store, detail, thresholds, desk),
                  linked=linked_rows(services.store, detail, thresholds),
                  second=review2, blind=blind, users=users, desk=desk,
                  exposure_minutes=int(exposure_s // 60), started_ms=int(session.created_at.timestamp() * 1000),
                  break_due=exposure_s >= services.config.desk.break_reminder_minutes * 60)


@router.post("/{case_id}/decision")
def decide(request: Request, case_id: str, decision: str = Form(""), note: str = Form(""), csrf: str = Form(""),
           session: DeskSession = Depends(current)) -> Response:
    check_case_id(case_id)
    check_csrf(session, csrf)
    if decision not in DECIDED_STATUSES:
        raise DeskError(400, "Choose confirmed, dismissed or escalated.")
    services = services_of(request)
    with case_errors():
        q.check_may_decide(services.store, case_id, session.user.name, session.user.is_lead,
                           services.config.desk.claim_minutes)
        services.review.decide(case_id, decision, _note(note), actor=session.user.name)  # type: ignore[arg-type]
    DECISIONS.labels(decision).inc()
    return see_other(f"{PREFIX}?done={case_id}")


@router.post("/{case_id}/second-review/request")
def request_second(request: Request, case_id: str, csrf: str = Form(""),
                   session: DeskSession = Depends(current)) -> Response:
    check_case_id(case_id)
    check_csrf(session, csrf)
    if not session.user.is_lead:
        raise DeskError(403, "Only a lead can ask for a second review.")
    with case_errors():
        second.request(services_of(request).store, case_id, session.user.name)
    return see_other(f"{PREFIX}/cases/{case_id}")


@router.post("/{case_id}/second-review")
def record_second(request: Request, case_id: str, decision: str = Form(""), note: str = Form(""),
                  csrf: str = Form(""), session: DeskSession = Depends(current)) -> Response:
    check_case_id(case_id)
    check_csrf(session, csrf)
    with case_errors("No second review was requested for this case."):
        second.record(services_of(request).store, case_id, session.user.name, decision, _note(note))
    return see_other(f"{PREFIX}/cases/{case_id}")


@router.get("/{case_id}/report-draft.json")
def report(request: Request, case_id: str, session: DeskSession = Depends(current)) -> Response:
    """Escalated cases only; the download is audited (it is a copy of evidence leaving the desk)."""
    check_case_id(case_id)
    services = services_of(request)
    detail = _case(request, case_id, explain=False)
    if detail.status != ESCALATED:
        raise DeskError(409, "Only an escalated case has a report draft.")
    body = report_draft(detail, services.engine.thresholds, session.user.name, datetime.now(timezone.utc))
    with services.store.write() as s:
        audit(s, "report:draft", session.user.name, case_id)
    return Response(json.dumps(body, ensure_ascii=False, indent=2), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{case_id}-report-DRAFT.json"'})
