"""The suite's loopback guard (tests/conftest.py) really refuses other addresses: without it, the
check that no test talks to another machine would be a test that cannot fail."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import NonLoopbackConnection


@pytest.mark.parametrize("address", [("192.0.2.1", 9), ("10.1.2.3", 80), ("example.invalid", 443)])
def test_a_connection_off_the_machine_is_refused(address: tuple[str, int]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(NonLoopbackConnection):
        s.connect(address)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(NonLoopbackConnection):
        s.connect_ex(address)


def test_loopback_connections_still_work() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        for host in ("127.0.0.1", "localhost"):
            with socket.create_connection((host, server.getsockname()[1]), timeout=5):
                conn, _ = server.accept()
                conn.close()
