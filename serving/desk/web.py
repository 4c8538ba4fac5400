"""Plumbing shared by the desk's pages: templates, the logged-in user, CSRF, errors, security headers.

Every response under `/review` carries `Cache-Control: no-store` (case pages hold message text; no
browser or proxy may keep a copy) and a Content-Security-Policy that allows only this origin's own
script and style files: no inline script, no CDN, no framing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from groomguard.serving.api.deps import services_of
from groomguard.serving.desk import sessions
from groomguard.serving.desk.sessions import DeskSession
from groomguard.serving.review.errors import Conflict, InvalidRequest, NotFound

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
# A path segment for an id that may hold '/', '?', '#' or '..' (chat account ids are the platform's):
# everything but unreserved characters is escaped, '/' included (Jinja's urlencode keeps '/').
TEMPLATES.env.filters["segment"] = lambda value: quote(str(value), safe="")
PREFIX = "/review"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = [(b"cache-control", b"no-store"), (b"content-security-policy", CSP.encode()),
           (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
           (b"x-frame-options", b"DENY")]
NOTE_MAX = 2000  # the API's DecisionRequest.note limit


class DeskError(Exception):
    """Shown to the user as an HTML error page with this status (never carries message text)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@contextmanager
def case_errors(missing: str = "No such case.") -> Iterator[None]:
    """The review layer's refusals as desk error pages: NotFound -> 404 `missing`; Conflict and
    InvalidRequest (claimed by someone else, already decided, ...) -> 409 with their own message."""
    try:
        yield
    except NotFound:
        raise DeskError(404, missing) from None
    except (Conflict, InvalidRequest) as exc:
        raise DeskError(409, str(exc)) from None


class LoginRequired(Exception):
    """No live session: send the browser to the login page."""


class SecurityHeaders:
    """ASGI middleware adding HEADERS to every `/review` response (pages, redirects, errors, static)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                keep = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dict(HEADERS)]
                message["headers"] = keep + HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def current(request: Request) -> DeskSession:
    """FastAPI dependency: the logged-in person, or a redirect to the login page."""
    services = services_of(request)
    session = sessions.load(services.store, request.cookies.get(sessions.COOKIE), services.config.desk)
    if session is None:
        raise LoginRequired()
    return session


def lead_only(request: Request) -> DeskSession:
    """Dependency for lead pages: a moderator gets 403, not the page."""
    session = current(request)
    if not session.user.is_lead:
        raise DeskError(403, "This page is for leads.")
    return session


CASE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # ours are case-<32 hex>; anything else cannot exist


def check_case_id(case_id: str) -> None:
    """An id that cannot name a case is a 404 before it reaches the database (no NUL, no 10 kB path)."""
    if not CASE_ID.match(case_id):
        raise DeskError(404, "No such case.")


# Authors (chat accounts) are platform ids: any printable text up to limits.max_id_chars, '/' included
# (the route takes the rest of the path). A control character or an over-long value cannot name one.
AUTHOR = re.compile(r"^[^\x00-\x1f\x7f]+$")


def check_author(author: str, max_chars: int) -> None:
    """Like check_case_id, for `/review/accounts/{author}`; the value is never echoed (user-supplied)."""
    if not author or len(author) > max_chars or not AUTHOR.match(author):
        raise DeskError(404, "No such account.")


def check_csrf(session: DeskSession, token: str | None) -> None:
    if not sessions.csrf_ok(session.csrf, token):
        raise DeskError(403, "The form's security token is missing or stale. Reload the page and try again.")


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def install_handlers(app: Any) -> None:
    """Desk exceptions become HTML (the API's own errors stay problem+json)."""

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return see_other(f"{PREFIX}/login")

    @app.exception_handler(DeskError)
    async def _desk(request: Request, exc: DeskError) -> Response:
        return render(request, "error.html", status=exc.status, message=exc.message, status_code=exc.status)
