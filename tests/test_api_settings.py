"""ServeConfig: the shipped serve.yaml validates; --set and CLI flag values override it correctly."""

from __future__ import annotations

from pathlib import Path

import pytest

from groomguard.errors import ConfigError
from groomguard.serving.settings import load_serve_config


def test_shipped_config_is_valid_and_keeps_engine_defaults() -> None:
    cfg = load_serve_config()
    assert cfg.engine.backend == "onnxruntime"
    assert cfg.engine.providers[-1] == "CPUExecutionProvider"
    assert cfg.limits.max_conversations_per_request == 64 and cfg.limits.max_messages_per_append == 100
    assert cfg.thresholds is None and cfg.auth.metrics_scope is None
    assert cfg.store.url.startswith("sqlite:///")


def test_flags_override_sets_and_file() -> None:
    cfg = load_serve_config(
        None,
        ["batching.max_delay_ms=2", "thresholds={review: 0.3, high: 0.8}", "engine.triton.url=wrong:1"],
        {"engine.backend": "triton", "engine.triton.url": "10.0.0.5:8001", "engine.triton.protocol": "http",
         "server.port": 9001, "store.url": "postgresql+psycopg://gg@db/groomguard", "server.host": None},
    )
    assert cfg.engine.backend == "triton"
    assert cfg.engine.triton.url == "10.0.0.5:8001" and cfg.engine.triton.protocol == "http"
    assert cfg.server.port == 9001 and cfg.server.host == "127.0.0.1"  # None = flag not given
    assert cfg.store.url == "postgresql+psycopg://gg@db/groomguard"
    assert cfg.batching.max_delay_ms == 2
    assert cfg.thresholds is not None and cfg.thresholds.review == 0.3


@pytest.mark.parametrize("override", ["limits.max_body_bytes=-1", "engine.backend=tensorflow", "nonsense.key=1",
                                      "thresholds={review: 0.9, high: 0.1}", "auth.metrics_scope=root"])
def test_bad_values_are_one_line_config_errors(override: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_serve_config(None, [override])
    assert "\n" not in str(info.value)


def test_partial_yaml_gets_defaults(tmp_path: Path) -> None:
    path = tmp_path / "serve.yaml"
    path.write_text("server:\n  port: 8123\n")
    cfg = load_serve_config(path)
    assert cfg.server.port == 8123 and cfg.batching.max_queue >= 1 and cfg.retention.purge_interval_minutes > 0
