"""RFC 9457 `application/problem+json` errors for every failure the API can produce.

Bodies name the offending field (`detail` and `errors[].field`) but never echo input values:
FastAPI's default validation error includes `input` (which would be message text) - stripped here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from groomguard.serving.backends.base import BackendUnavailable
from groomguard.serving.batcher import BatcherClosed, Overloaded
from groomguard.serving.review import Conflict, InvalidRequest, NotFound
from groomguard.serving.review.errors import LimitExceeded
from groomguard.serving.store import StoreError, StoreFull, is_disk_full

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# Said to clients so the sender of a refused append knows it was not stored and why (no content).
STORE_FULL_DETAIL = "store full: nothing was stored; retry later"
STORE_RETRY_AFTER = "1"  # seconds; store faults are usually short (failover, a full disk being cleared)
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ApiProblem(Exception):
    """Raised by routes and dependencies; rendered as problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: Sequence[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors or [])
        self.headers = headers or {}


def field_error(field: str, msg: str, status: int = 422) -> ApiProblem:
    """A single-field problem, e.g. a request limit on `messages.3.text`."""
    return ApiProblem(status, f"{field}: {msg}", [{"field": field, "msg": msg, "type": "limit"}])


def problem(
    status: int,
    detail: str,
    errors: Sequence[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status,
                            "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


def _loc(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] if len(parts) > 1 else parts
    return ".".join(parts) or "body"


def validation_errors(errs: Sequence[Any]) -> list[dict[str, str]]:
    """Field, message and type only: never `input` or `ctx` (they can hold chat text)."""
    out = []
    for e in errs:
        msg = str(e.get("msg", "invalid"))
        if e.get("type") == "json_invalid":
            msg = "body is not valid JSON"
        out.append({"field": _loc(e.get("loc", ())), "msg": msg, "type": str(e.get("type", "value_error"))})
    return out


def _path(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "")) or "unmatched"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem(exc.status, exc.detail, exc.errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = validation_errors(exc.errors())
        first = errs[0] if errs else {"field": "body", "msg": "invalid"}
        detail = f"{first['field']}: {first['msg']}"
        if len(errs) > 1:
            detail += f" (and {len(errs) - 1} more)"
        status = 400 if first.get("type") == "json_invalid" else 422
        return problem(status, detail, errs)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such route"
        return problem(exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return problem(404, str(exc) or "not found")

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> JSONResponse:
        return problem(409, str(exc) or "conflict")

    @app.exception_handler(InvalidRequest)
    async def _invalid(request: Request, exc: InvalidRequest) -> JSONResponse:
        if isinstance(exc, LimitExceeded):  # the same body as `field_error`: detail and errors[] name the field
            return problem(422, str(exc), [{"field": exc.field, "msg": exc.msg, "type": "limit"}])
        return problem(422, str(exc) or "invalid request")

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> JSONResponse:
        log.warning("store error on %s: %s", _path(request), exc)
        if isinstance(exc, StoreFull):
            return problem(503, STORE_FULL_DETAIL, headers={"Retry-After": STORE_RETRY_AFTER})
        return problem(503, "store unavailable; retry later", headers={"Retry-After": STORE_RETRY_AFTER})

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        # Any database failure that escaped the service (refused connection, read-only file, lost
        # server, auth-key lookup included) is the store being unavailable, never a 500. Only the
        # class name is logged: driver messages can quote SQL parameters (message text, ids).
        if is_disk_full(exc):
            log.warning("store error on %s: %s (database or disk full)", _path(request), exc.__class__.__name__)
            return problem(503, STORE_FULL_DETAIL, headers={"Retry-After": STORE_RETRY_AFTER})
        log.warning("store error on %s: %s", _path(request), exc.__class__.__name__)
        return problem(503, "store unavailable; retry later", headers={"Retry-After": STORE_RETRY_AFTER})

    @app.exception_handler(Overloaded)
    async def _overloaded(request: Request, exc: Overloaded) -> JSONResponse:
        # QueueFull or DeadlineExceeded: refused or given up before the model ran it; safe to retry.
        retry = str(max(1, round(exc.retry_after_s)))
        return problem(503, f"{exc}; retry later", headers={"Retry-After": retry})

    @app.exception_handler(BatcherClosed)
    async def _closed(request: Request, exc: BatcherClosed) -> JSONResponse:
        return problem(503, "server is shutting down", headers={"Retry-After": "1"})

    @app.exception_handler(BackendUnavailable)
    async def _backend(request: Request, exc: BackendUnavailable) -> JSONResponse:
        log.warning("backend unavailable on %s: %s", _path(request), exc.__class__.__name__)
        return problem(503, "model backend unavailable", headers={"Retry-After": "1"})

    async def _timeout(request: Request, exc: Exception) -> JSONResponse:
        return problem(503, "scoring timed out", headers={"Retry-After": "1"})

    app.add_exception_handler(TimeoutError, _timeout)
    app.add_exception_handler(FutureTimeout, _timeout)  # a distinct class before Python 3.11
    # Anything else is caught by MetricsMiddleware (type name logged, 500 problem, no traceback).
