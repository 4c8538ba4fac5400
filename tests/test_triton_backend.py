"""Triton backend failure policy without a server: retries, timeouts, fallback, health (fast)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import REGISTRY

from groomguard.serving.backends.base import BackendUnavailable
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.triton.client import is_retryable
from groomguard.serving.triton.launch import free_ports


def _count(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def _engine(bundle: Path, url: str, protocol: str = "grpc", **triton: object):  # type: ignore[no-untyped-def]
    return build_engine(str(bundle), EngineConfig.model_validate({
        "backend": "triton", "providers": ["CPUExecutionProvider"],
        "triton": {"url": url, "protocol": protocol, "backoff_s": 0.01, "health_cache_s": 0, **triton}}))


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections but never answers (a hung server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def test_retryable_classification() -> None:
    from tritonclient.utils import InferenceServerException

    assert is_retryable(InferenceServerException("x", status="StatusCode.UNAVAILABLE"))
    assert is_retryable(InferenceServerException("x", status="503"))
    assert is_retryable(ConnectionRefusedError())
    assert not is_retryable(InferenceServerException("x", status="StatusCode.DEADLINE_EXCEEDED"))
    assert not is_retryable(InferenceServerException("x", status="StatusCode.INVALID_ARGUMENT"))
    assert not is_retryable(InferenceServerException("x", status="400"))
    assert not is_retryable(TimeoutError())


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_refused_connection_is_retried_then_unavailable(tiny_bundle_dir: Path, protocol: str) -> None:
    (port,) = free_ports(1)
    engine = _engine(tiny_bundle_dir, f"127.0.0.1:{port}", protocol, retries=3)
    before = _count("groomguard_triton_retries_total")
    with pytest.raises(BackendUnavailable, match=f"triton at 127.0.0.1:{port} \\({protocol}\\)"):
        engine.infer_batch([[101, 2000, 102]])
    assert _count("groomguard_triton_retries_total") - before == 3
    health = engine.health()
    assert health["ok"] is False and health["backend"] == "triton"
    engine.close()


def test_timeout_is_not_retried(tiny_bundle_dir: Path, silent_port: int) -> None:
    # HTTP: the TCP connect succeeds (listen backlog), the response never comes -> read timeout.
    # (gRPC reports a missing HTTP/2 handshake as UNAVAILABLE, which is rightly retried.)
    engine = _engine(tiny_bundle_dir, f"127.0.0.1:{silent_port}", "http", retries=3, timeout_s=0.5)
    before = _count("groomguard_triton_retries_total")
    start = time.monotonic()
    with pytest.raises(BackendUnavailable, match=r"(?i)time"):
        engine.infer_batch([[101, 2000, 102]])
    assert time.monotonic() - start < 2.0
    assert _count("groomguard_triton_retries_total") == before
    engine.close()


def test_fallback_scores_locally_and_counts(tiny_bundle_dir: Path) -> None:
    (port,) = free_ports(1)
    engine = _engine(tiny_bundle_dir, f"127.0.0.1:{port}", "http", retries=0, fallback_to_onnxruntime=True)
    local = build_engine(str(tiny_bundle_dir), EngineConfig(providers=["CPUExecutionProvider"]))
    windows = [[101, 2000 + i, 2100, 102] for i in range(5)]
    before = _count("groomguard_backend_fallbacks_total")
    np.testing.assert_allclose(engine.score_windows(windows), local.score_windows(windows), atol=1e-6)
    assert _count("groomguard_backend_fallbacks_total") - before == 1
    health = engine.health()
    assert health["ok"] is True and "falling back" in str(health["detail"])
    engine.close()
    local.close()


def test_a_server_publishing_another_variant_is_not_healthy(tiny_bundle_dir: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """NVIDIA Triton returns config.pbtxt's `groomguard_variant`: a gateway expecting another variant
    reports unhealthy (/readyz 503) rather than serve answers nobody evaluated."""
    from groomguard.serving.triton.client import TritonClient

    monkeypatch.setattr(TritonClient, "probe", lambda self, timeout_s: (True, "model ready"))
    monkeypatch.setattr(TritonClient, "metadata", lambda self: {
        "inputs": [{"name": "input_ids"}, {"name": "attention_mask"}], "outputs": [{"name": "logits"}]})
    monkeypatch.setattr(TritonClient, "config_parameters", lambda self: {"groomguard_variant": "fp16"})
    engine = _engine(tiny_bundle_dir, "127.0.0.1:1", variant="int8")
    health = engine.health()
    assert health["ok"] is False and "serves variant fp16, engine.triton.variant says int8" in str(health["detail"])
    monkeypatch.setattr(TritonClient, "config_parameters", lambda self: {"groomguard_variant": "int8"})
    engine.backend._health = None  # type: ignore[attr-defined]
    assert engine.health()["ok"] is True and engine.variant == "int8"
    engine.close()
