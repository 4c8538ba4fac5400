"""`engine.io_binding` (issue 27): the ONNX Runtime backend's bound path (OrtValues on the session's device,
output bound there) gives the plain run's answers, and reaches the engine and the Triton server's callable.
Exercised on the CPU provider, which binds OrtValues the same way the CUDA provider does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from groomguard.serving.backends.onnxruntime import OnnxRuntimeBackend
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.windowing import pad_batch

CPU = "CPUExecutionProvider"


def _batch(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    windows = [[101, *rng.integers(1000, 30000, size=int(k)).tolist(), 102] for k in (3, 40, 17, 1, 62)]
    b = pad_batch(windows, 0)
    return b.input_ids, b.attention_mask


def test_bound_run_equals_the_plain_run_and_never_calls_it(sharp_bundle_dir: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ids, mask = _batch()
    plain = OnnxRuntimeBackend(sharp_bundle_dir / "model.onnx", [CPU], 1, io_binding="off")
    bound = OnnxRuntimeBackend(sharp_bundle_dir / "model.onnx", [CPU], 1, io_binding="on")
    assert not plain.io_binding and bound.io_binding and (bound.device, bound.device_id) == ("cpu", 0)
    expected = plain.infer(ids, mask)
    assert np.ptp(expected[:, 1] - expected[:, 0]) > 0.1, "logits barely vary: equality would be vacuous"

    def no_plain_run(*_a: object, **_k: object) -> None:
        raise AssertionError("the bound backend called session.run")

    monkeypatch.setattr(bound.session, "run", no_plain_run)
    got = bound.infer(ids, mask)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)  # same kernels, same inputs: bit-identical on the CPU
    # non-contiguous inputs (a column slice) are copied into place, not misread
    np.testing.assert_array_equal(bound.infer(np.asfortranarray(ids), np.asfortranarray(mask)), expected)


def test_auto_is_off_on_the_cpu_and_bad_values_are_refused(sharp_bundle_dir: Path) -> None:
    assert not OnnxRuntimeBackend(sharp_bundle_dir / "model.onnx", [CPU], 1).io_binding  # auto, CPU: off
    # a GPU provider asked for and absent: the session runs on the CPU, and auto follows what it got
    gpu_asked = OnnxRuntimeBackend(sharp_bundle_dir / "model.onnx", ["CUDAExecutionProvider", CPU], 1)
    assert gpu_asked.provider == CPU and not gpu_asked.io_binding
    with pytest.raises(ValueError, match="io_binding must be auto, on or off"):
        OnnxRuntimeBackend(sharp_bundle_dir / "model.onnx", [CPU], 1, io_binding="yes")


def test_engine_config_reaches_the_backend_and_scores_agree(sharp_bundle_dir: Path) -> None:
    from groomguard.serving.settings import load_serve_config

    assert load_serve_config(None, []).engine.io_binding == "auto"
    for word in ("on", "off"):  # YAML reads a bare on/off as a boolean: still the word meant
        assert load_serve_config(None, [f"engine.io_binding={word}"]).engine.io_binding == word
    engines = {io: build_engine(str(sharp_bundle_dir), EngineConfig(variant="fp32", providers=[CPU],
                                                                    intra_op_threads=1, io_binding=io))
               for io in ("off", "on")}
    assert engines["on"].backend.io_binding and not engines["off"].backend.io_binding  # type: ignore[attr-defined]
    rng = np.random.default_rng(4)
    windows = [[101, *rng.integers(1000, 30000, size=int(k)).tolist(), 102] for k in rng.integers(1, 60, size=40)]
    np.testing.assert_array_equal(engines["on"].score_windows(windows), engines["off"].score_windows(windows))


def test_the_triton_callable_is_the_engines_backend_with_its_settings(sharp_bundle_dir: Path) -> None:
    """`groomguard triton serve` binds this backend: configured providers (CUDA first by default, the CPU
    where there is none) and I/O binding; a repository whose signature is not the bundle's is refused."""
    from groomguard.serving.triton.config import load_triton_config
    from groomguard.serving.triton.server import make_backend

    serve = load_triton_config().serve
    assert serve.providers[0] == "CUDAExecutionProvider" and serve.io_binding == "auto"
    assert load_triton_config(None, ["serve.io_binding=off"]).serve.io_binding == "off"
    backend = make_backend(sharp_bundle_dir / "model.onnx", ["input_ids", "attention_mask"], ["logits"], 1,
                           serve.providers, "on")
    assert backend.provider == CPU and backend.io_binding and backend.output_name == "logits"
    ids, mask = _batch(1)
    plain = OnnxRuntimeBackend(sharp_bundle_dir / "model.onnx", [CPU], 1, io_binding="off")
    np.testing.assert_array_equal(backend.infer(ids, mask), plain.infer(ids, mask))
    with pytest.raises(SystemExit, match="expected 2 inputs"):
        make_backend(sharp_bundle_dir / "model.onnx", ["input_ids"], ["logits"])
