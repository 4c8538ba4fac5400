"""Shared helpers for the API tests (imported by tests/test_api*.py, test_privacy*.py, test_crash*.py).

Builds a real app (real ONNX Runtime on the tiny bundle, real SQLite in a tmp dir, real API keys).
All chat text here is synthetic.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from groomguard.serving.settings import ServeConfig, load_serve_config

SCOPE_KEYS = ("score", "review", "admin")


def make_config(db_path: Path, *overrides: str) -> ServeConfig:
    base = [
        f"store.url=sqlite:///{db_path}",
        "engine.providers=[CPUExecutionProvider]",
        "engine.intra_op_threads=1",
        "batching.max_delay_ms=1",
        "auth.key_cache_seconds=0",
    ]
    return load_serve_config(None, [*base, *overrides])


def make_keys(config: ServeConfig) -> dict[str, str]:
    """One key per scope, plus `none` (a key with no scopes at all if the store allows it)."""
    from groomguard.serving.apikeys import create_key
    from groomguard.serving.store import open_store

    store = open_store(config.store)
    try:
        return {scope: create_key(store, f"test-{scope}", {scope})[1] for scope in SCOPE_KEYS}
    finally:
        store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(proc: subprocess.Popen[bytes], base: str, log_path: Path, timeout_s: float = 90.0) -> None:
    """Until `groomguard serve` at `base` answers /readyz with 200; fails with its log's tail if the
    process exits or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"server not ready after {timeout_s:.0f} s: {log_path.read_text()[-2000:]}")
        time.sleep(0.2)


@dataclass(frozen=True)
class Served:
    url: str  # http://127.0.0.1:PORT
    proc: subprocess.Popen[bytes]


@contextmanager
def serve_process(bundle: Path, settings: Sequence[str], log_path: Path, timeout_s: float = 120.0) -> Iterator[Served]:
    """`groomguard serve` of `bundle` with `--set` `settings` in its own process on a free loopback port,
    its output in `log_path`; yields it once /readyz answers, then stops it (SIGTERM, SIGKILL
    after 30 s). Its own process, as deployed: a load generator in the server's interpreter would share
    its lock and bill its own cost to the server."""
    port = free_port()
    cmd = [sys.executable, "-m", "groomguard", "serve", "--bundle", str(bundle), "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning", *(a for kv in settings for a in ("--set", kv))]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(proc, url, log_path, timeout_s=timeout_s)
            yield Served(url, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def running_app(config: ServeConfig, bundle_dir: Path) -> Iterator[TestClient]:
    from groomguard.serving.api.app import create_app

    with TestClient(create_app(config, bundle_dir), raise_server_exceptions=False) as client:
        yield client


def msg(author: str, text: str, message_id: str | None = None, ts: str | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"author": author, "text": text}
    if message_id is not None:
        m["message_id"] = message_id
    if ts is not None:
        m["timestamp"] = ts
    return m


# A short synthetic conversation (tactics only, nothing explicit): flattery, age question, secrecy,
# moving to a private app. Labelled synthetic in the tests that use it.
SYNTHETIC_THREAD = [
    ("adult_x", "hey, saw your drawing in the art channel, you are really talented"),
    ("kid_y", "thanks!! i made it yesterday"),
    ("adult_x", "how old are you btw? you seem very mature"),
    ("kid_y", "13"),
    ("adult_x", "cool. dont tell your parents we talk, they wouldnt get it"),
    ("adult_x", "lets move to a private app, add me there"),
]
