"""Shared fixtures. Heavy ones are session-scoped: the tiny bundle is exported once per run."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FIXTURES = Path(__file__).parent / "fixtures"
# A local Ray cluster binds this machine's loopback address, not its network interface (Ray's own
# switch for single-machine clusters); subprocesses the tests start inherit it.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


class NonLoopbackConnection(RuntimeError):
    """A test tried to talk to another machine: tests and benchmarks use loopback only."""


def _loopback(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if not isinstance(host, str):
        return True  # AF_UNIX paths (bytes) and the like: local by construction
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost would be resolved and may leave the machine


def _guarded(method: Any) -> Any:
    def connect(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            raise NonLoopbackConnection(f"test opened a connection to {address!r}: loopback (127.0.0.1) only")
        return method(sock, address)
    return connect


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    """Every connection a test makes from this process goes to loopback (issue 22: the Ray tests used to
    join a cluster on the machine's interface address). Subprocesses are covered by what they are told
    to connect to (127.0.0.1 URLs, the Ray switch above)."""
    original = socket.socket.connect, socket.socket.connect_ex
    socket.socket.connect = _guarded(original[0])  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded(original[1])  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = original  # type: ignore[method-assign]


def running_in_ci() -> bool:
    """CI=true (GitHub Actions, GitLab, .ci/run): the suite must run everything it claims."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI a PostgreSQL test that skips (no server, no URL) fails instead: a green CI run means
    the PostgreSQL paths ran. Locally it still skips, visibly, with the reason."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and item.get_closest_marker("postgres") is not None and running_in_ci():
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"PostgreSQL test skipped under CI=true ({reason}); set GROOMGUARD_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def tiny_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A verified bundle with a random-weight tiny BERT and the real MiniLM tokenizer."""
    from tests.tiny_bundle import build_tiny_bundle

    return build_tiny_bundle(tmp_path_factory.mktemp("bundle") / "tiny")


@pytest.fixture(scope="session")
def sharp_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like tiny_bundle_dir, but initialised so risks differ clearly from window to window (the default
    init gives ~0.56 everywhere, which hides a wrong window or a wrong formula)."""
    from tests.tiny_bundle import build_tiny_bundle, tiny_bert

    return build_tiny_bundle(tmp_path_factory.mktemp("bundle") / "sharp", name="sharp",
                             model=tiny_bert(seed=3, init_range=0.5))


@pytest.fixture(scope="session")
def minilm_tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer

    from tests.tiny_bundle import minilm_dir

    return Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
