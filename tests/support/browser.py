"""Real headless Chromium for the UI tests (Debian's `chromium`, driven by Playwright; `make browser`
installs it): one way to launch it, the hooks every UI test checks (console errors, page errors, the
requests a page makes), the desk login, and the screenshot checks."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from PIL import Image

from benchmarks.support.server import free_port
from tests.support.desk import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


@contextmanager
def served_app(app: Any) -> Iterator[str]:
    """`app` under uvicorn on a free loopback port in a thread; yields the base URL once its lifespan
    (model load, migration) has run, and stops it on exit."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(600):  # poll readiness, not a fixed sleep
        if srv.started:
            break
        thread.join(0.05)
    assert srv.started, "server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(30)


def sync_api_or_skip() -> Any:
    """Playwright's sync API, or a visible skip where Chromium or Playwright is missing."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("Debian chromium not installed (`make browser` installs it)")
    return pytest.importorskip("playwright.sync_api")


@contextmanager
def chromium(sync_api: Any) -> Iterator[Any]:
    """A launched headless Chromium (closed on exit)."""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
                                     args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """What a page did: console errors (CSP violations included), uncaught page errors, every request."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [*self.console_errors, *self.page_errors]

    def foreign(self, base: str) -> list[str]:
        """Requests to anywhere but `base` (no CDN, no font service)."""
        return [u for u in self.requests if not u.startswith(base)]


def watch(page: Any) -> Watched:
    seen = Watched()
    page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.page_errors.append(str(e)))
    page.on("request", lambda r: seen.requests.append(r.url))
    return seen


def desk_login(page: Any, base: str, name: str = "mo", password: str = PASSWORD) -> None:
    """Log in on the desk's form (the page may already be on it) and land on the queue."""
    if not page.url.endswith("/review/login"):
        page.goto(f"{base}/review/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/review")


def not_blank(path: Path) -> None:
    with Image.open(path) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert path.stat().st_size > 10_000
    assert colours is None or len(colours) > 20, f"{path.name} looks blank"


def keep_screenshots(tmp_path: Path, *names: str) -> None:
    """Every screenshot is checked not blank; GROOMGUARD_UPDATE_SCREENSHOTS=1 copies them to docs/img."""
    for name in names:
        not_blank(tmp_path / name)
        if os.environ.get("GROOMGUARD_UPDATE_SCREENSHOTS") == "1":
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tmp_path / name, DOCS_IMG / name)
