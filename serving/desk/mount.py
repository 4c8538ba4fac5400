"""Mount the moderator desk on the API app (`/review`)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from groomguard.serving.desk import routes_accounts, routes_auth, routes_case, routes_lead, routes_queue
from groomguard.serving.desk.web import HERE, PREFIX, SecurityHeaders, install_handlers


def install_desk(app: FastAPI) -> None:
    """Routes, static files, HTML error handlers and security headers."""
    install_handlers(app)
    for module in (routes_auth, routes_queue, routes_case, routes_accounts, routes_lead):
        app.include_router(module.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="desk-static")
    app.add_middleware(SecurityHeaders)
