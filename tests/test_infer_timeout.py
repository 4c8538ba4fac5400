"""`engine.infer_timeout_s` end to end on the offline path: a model call that never returns (issue 22:
`groomguard score` at two OpenVINO streams froze for good) stops `score` with exit 2 and one line
naming the setting, instead of a process that waits forever. The server side is tested in
tests/test_batcher.py and tests/test_api_faults.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from groomguard.config import default_config_path
from groomguard.serving.backends.onnxruntime import OnnxRuntimeBackend
from groomguard.serving.engine_config import EngineConfig

CPU = "CPUExecutionProvider"


@pytest.fixture
def stuck_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Every ONNX Runtime backend call blocks until the returned event is set (set at teardown, so
    the threads the timeout abandoned end with the test)."""
    release = threading.Event()
    answers = OnnxRuntimeBackend.infer

    def stuck(self: OnnxRuntimeBackend, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        release.wait()
        return answers(self, input_ids, attention_mask)

    monkeypatch.setattr(OnnxRuntimeBackend, "infer", stuck)
    yield release
    release.set()


def test_shipped_configs_give_every_engine_a_timeout() -> None:
    """The default lives in configs/ (serve.yaml for serve/score, eval.yaml for evaluate), not only in code."""
    for name in ("serve.yaml", "eval.yaml"):
        shipped = yaml.safe_load(default_config_path(name).read_text(encoding="utf-8"))["engine"]
        assert shipped["infer_timeout_s"] == 60, name
    assert EngineConfig().infer_timeout_s == 60
    with pytest.raises(ValueError):
        EngineConfig(infer_timeout_s=0)


def test_engine_passes_the_timeout_to_its_batches(tiny_bundle_dir: Path, stuck_backend: threading.Event) -> None:
    from groomguard.batching import InferTimeout
    from groomguard.serving.engine import build_engine

    engine = build_engine(str(tiny_bundle_dir), EngineConfig(variant="fp32", providers=[CPU], infer_timeout_s=0.5,
                                                             streams=2))
    t0 = time.monotonic()
    with pytest.raises(InferTimeout, match=r"0\.5 s"):
        engine.score_windows([[101, 2000, 102], [101, 2001, 2002, 102]])
    assert time.monotonic() - t0 < 3.0


def test_score_with_a_stuck_backend_exits_2_with_one_line(tiny_bundle_dir: Path, tmp_path: Path,
                                                          stuck_backend: threading.Event,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from groomguard.cli import main

    inp, out = tmp_path / "in.jsonl", tmp_path / "scores.jsonl"
    conv: dict[str, Any] = {"conversation_id": "c-1", "messages": [{"author": "a", "text": "see you at practice"},
                                                                   {"author": "b", "text": "ok"}]}
    inp.write_text(json.dumps(conv) + "\n", encoding="utf-8")
    t0 = time.monotonic()
    with pytest.raises(SystemExit) as exited:
        main(["score", "--bundle", str(tiny_bundle_dir), "-i", str(inp), "-o", str(out), "--variant", "fp32",
              "--set", "engine.infer_timeout_s=0.5", "--set", "engine.providers=[CPUExecutionProvider]"])
    assert exited.value.code == 2 and time.monotonic() - t0 < 30
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "0.5 s" in errors[0] and "engine.infer_timeout_s" in errors[0], err[-2000:]
    assert "Traceback" not in err
    assert not out.exists()  # no partial output
