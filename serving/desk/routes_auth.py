"""Login, logout, password change and the per-user blur setting.

The login form has no session yet, so its CSRF token is a double-submit one: a random value in a
short-lived SameSite=Strict cookie that the posted form must repeat.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from groomguard.serving.desk import sessions, users
from groomguard.serving.desk.sessions import DeskSession
from groomguard.serving.desk.web import PREFIX, check_csrf, current, render, see_other, services_of

router = APIRouter(prefix=PREFIX, include_in_schema=False)
LOGIN_MESSAGES = {
    "bad": (401, "Wrong name or password."),
    "disabled": (401, "Wrong name or password."),  # a disabled account is not revealed as such
    "locked": (429, "Too many failed attempts: this account is locked for a while. Ask a lead if it persists."),
    "client_locked": (429, "Too many failed attempts from this network address: logins from it are paused "
                           "for a while. Ask a lead if it persists."),
}


def _cookie_args(request: Request) -> dict[str, object]:
    desk = services_of(request).config.desk
    return {"httponly": True, "samesite": "strict", "secure": desk.secure_cookie, "path": PREFIX}


def _login_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", status=status, csrf=token, error=error)
    response.set_cookie(sessions.LOGIN_CSRF_COOKIE, token, max_age=3600, **_cookie_args(request))  # type: ignore[arg-type]
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    services = services_of(request)
    if sessions.load(services.store, request.cookies.get(sessions.COOKIE), services.config.desk) is not None:
        return see_other(PREFIX)
    return _login_page(request)


@router.post("/login")
async def login(request: Request, username: str = Form(""), password: str = Form(""),
                csrf: str = Form("")) -> Response:
    if not sessions.csrf_ok(request.cookies.get(sessions.LOGIN_CSRF_COOKIE), csrf):
        return _login_page(request, 403, "The login form expired. Please try again.")
    services = services_of(request)
    client = request.client.host if request.client else "unknown"
    result = await run_in_threadpool(users.login, services.store, username.strip(), password,
                                     services.config.desk, client)
    if result.user is None:
        status, message = LOGIN_MESSAGES[result.reason]
        return _login_page(request, status, message)
    token = await run_in_threadpool(sessions.start, services.store, result.user, services.config.desk)
    response = see_other(PREFIX)
    response.set_cookie(sessions.COOKIE, token, max_age=int(services.config.desk.session_minutes * 60),
                        **_cookie_args(request))  # type: ignore[arg-type]
    response.delete_cookie(sessions.LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form(""), session: DeskSession = Depends(current)) -> Response:
    check_csrf(session, csrf)
    sessions.end(services_of(request).store, request.cookies.get(sessions.COOKIE))
    response = see_other(f"{PREFIX}/login")
    response.delete_cookie(sessions.COOKIE, path=PREFIX)
    return response


@router.post("/settings")
def settings(request: Request, blur: str = Form(""), csrf: str = Form(""), back: str = Form(""),
             session: DeskSession = Depends(current)) -> Response:
    """Blur on or off for this person; `back` returns to the page they were on (only desk paths)."""
    check_csrf(session, csrf)
    users.set_blur(services_of(request).store, session.user.name, blur == "on")
    return see_other(back if back.startswith(f"{PREFIX}/") and "//" not in back else PREFIX)


@router.get("/password")
def password_form(request: Request, session: DeskSession = Depends(current)) -> Response:
    min_chars = services_of(request).config.desk.min_password_chars
    return render(request, "password.html", session=session, min_chars=min_chars)


@router.post("/password")
async def change_password(request: Request, current_pw: str = Form("", alias="current"),
                          new: str = Form(""), csrf: str = Form(""),
                          session: DeskSession = Depends(current)) -> Response:
    """Self-service password change. The current password is checked through `users.login` (so a
    stolen session cannot set a password without knowing the old one, and guesses here count towards
    the lockouts like any login); then every session of the account ends, this one included."""
    check_csrf(session, csrf)
    services = services_of(request)
    desk = services.config.desk
    min_chars = desk.min_password_chars

    def again(status: int, message: str) -> Response:
        return render(request, "password.html", status=status, session=session, min_chars=min_chars, error=message)

    if len(new) < min_chars:
        return again(400, f"The new password must be at least {min_chars} characters.")
    client = request.client.host if request.client else "unknown"
    result = await run_in_threadpool(users.login, services.store, session.user.name, current_pw, desk, client)
    if result.user is None:
        status, message = LOGIN_MESSAGES[result.reason]
        return again(status, "The current password is wrong." if status == 401 else message)
    await run_in_threadpool(users.set_password, services.store, session.user.name, new, desk,
                            session.user.name)
    response = see_other(f"{PREFIX}/login")
    response.delete_cookie(sessions.COOKIE, path=PREFIX)
    return response
