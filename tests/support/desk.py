"""Helpers for the moderator desk tests: config, desk users, login through the real form, CSRF scraping."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from benchmarks.support.server import make_config
from groomguard.serving.desk.users import create_user
from groomguard.serving.settings import ServeConfig
from groomguard.serving.store import open_store

PASSWORD = "correct horse battery"  # 21 characters, above desk.min_password_chars
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def desk_config(db_path: Path, *overrides: str) -> ServeConfig:
    """Review threshold 0: every appended message opens or updates a case. Plain-HTTP cookies (TestClient)."""
    return make_config(db_path, "thresholds={review: 0.0, high: 1.0}", "desk.secure_cookie=false", *overrides)


def add_user(config: ServeConfig, name: str, role: str, password: str = PASSWORD) -> None:
    store = open_store(config.store)
    try:
        create_user(store, name, role, password, config.desk)
    finally:
        store.close()


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "page has no CSRF field"
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the form (GET for the token, POST); returns the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/review/login")
    r = client.post("/review/login", data={"username": name, "password": password, "csrf": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/review").text)
