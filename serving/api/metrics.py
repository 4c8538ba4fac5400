"""Prometheus metrics on the default registry, plus the access-log middleware that feeds them.

Requests are labelled by route *template* (`/v1/conversations/{conversation_id}/messages`), never
the raw path: conversation ids are platform identifiers and would also blow up label cardinality.
The same middleware writes the access log (method, template, status, ms) because uvicorn's own
access log prints raw paths; `groomguard serve` turns that one off.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time

from prometheus_client import Counter, Gauge, Histogram, Info
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("groomguard.access")

REQUESTS = Counter("groomguard_http_requests_total", "HTTP requests by route template, method and status.",
                   ["route", "method", "status"])
LATENCY = Histogram("groomguard_http_request_duration_seconds", "HTTP request latency by route template.",
                    ["route", "method"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
BATCH_SIZE = Histogram("groomguard_batch_size", "Windows per backend call (micro-batches).",
                       buckets=(1, 2, 4, 8, 16, 32, 64, 128))
BATCH_SECONDS = Histogram("groomguard_batch_inference_seconds", "Backend time per micro-batch.",
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
QUEUE_DEPTH = Gauge("groomguard_batch_queue_depth", "Windows waiting for the micro-batcher.")
WINDOWS_SCORED = Counter("groomguard_windows_scored_total", "Windows scored by the model.")
CASES_OPENED = Counter("groomguard_cases_opened_total", "Review cases opened by appends or routed scores.")
MESSAGES_APPENDED = Counter("groomguard_messages_appended_total", "Messages stored by appends (duplicates excluded).")
DECISIONS = Counter("groomguard_case_decisions_total", "Moderator decisions.", ["decision"])
MODEL = Info("groomguard_model", "The model bundle being served and the backend running it.")


def observe_batch(size: int, seconds: float) -> None:
    """MicroBatcher's on_batch hook."""
    BATCH_SIZE.observe(size)
    BATCH_SECONDS.observe(seconds)
    WINDOWS_SCORED.inc(size)


class MetricsMiddleware:
    """Counts, times and access-logs every HTTP request by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        responded = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = int(message["status"]), True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            # Swallowed here so no traceback (whose messages might quote input) reaches the server log.
            transient = isinstance(exc, TRANSIENT)
            access_log.error("unhandled %s on %s%s", exc.__class__.__name__, _template(scope),
                             " (answered 503)" if transient else "")
            if not responded:
                status = 503 if transient else 500
                await _send_problem(send, status)
        finally:
            elapsed = time.perf_counter() - started
            template = _template(scope)
            method = str(scope.get("method", ""))
            REQUESTS.labels(template, method, str(status)).inc()
            LATENCY.labels(template, method).observe(elapsed)
            access_log.info("%s %s %d %.1fms", method, template, status, elapsed * 1000)


# Failures of the machine rather than of the code (disk full, descriptors exhausted, a socket
# reset, memory): the request may well succeed later or on another replica, so 503 + Retry-After,
# like every other fault. Anything else escaping the handlers is a bug: 500, logged by class name.
TRANSIENT: tuple[type[BaseException], ...] = (OSError, MemoryError, sqlite3.Error)
_PROBLEM = {503: ("Service Unavailable", "temporarily unavailable; retry later"),
            500: ("Internal Server Error", "internal error")}


async def _send_problem(send: Send, status: int) -> None:
    title, detail = _PROBLEM[status]
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    if status == 503:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _template(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "")) or "unmatched"
