"""The moderator desk: server-rendered pages under `/review` for the people who work the review queue.

Accounts and sessions (accounts.py, sessions.py), the queue and claims (queue.py), the case page and
report drafts (case_view.py), routes per page group, Jinja2 templates and static files (no CDN; the
core flow works with JavaScript off). `install(app)` mounts it on the API app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Routes, static files, HTML error handlers and security headers (imported here: the package is
    also imported by groomguard.serving.settings for its config, which must not pull in the web stack)."""
    from fastapi.staticfiles import StaticFiles

    from groomguard.serving.desk import routes_auth, routes_case, routes_lead, routes_queue
    from groomguard.serving.desk.web import HERE, PREFIX, SecurityHeaders, install_handlers

    install_handlers(app)
    for module in (routes_auth, routes_queue, routes_case, routes_lead):
        app.include_router(module.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="desk-static")
    app.add_middleware(SecurityHeaders)
