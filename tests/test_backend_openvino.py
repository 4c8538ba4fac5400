"""The bf16 variant: OpenVINO running model.onnx at bf16, checked against ONNX Runtime as the reference,
its export measurement against an independent computation, and when `auto` may serve it."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

import groomguard.serving.backends.openvino as ovb
from groomguard.bundle import BudgetCheck, Bundle, VariantInfo, write_manifest
from groomguard.errors import ConfigError
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.variant_choice import choose_variant
from groomguard.windowing import pad_batch

CPU = "CPUExecutionProvider"
needs_bf16 = pytest.mark.skipif(not ovb.native_bf16(), reason="this CPU has no native bf16 (AMX / AVX512-BF16)")


def windows(seed: int, lengths: tuple[int, ...] = (3, 9, 30, 14, 7, 22, 60, 1)) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [[101, *rng.integers(1000, 30000, size=n).tolist(), 102] for n in lengths]


def ort_logits(path: Path, ws: list[list[int]]) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=[CPU])
    batch = pad_batch(ws, 0)
    return sess.run(None, {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask})[0]


def info(delta: float, b1: float, b32: float, passed: bool = True) -> VariantInfo:
    """A measured variant whose budget check passed (auto serves nothing unchecked: tests/test_variants.py)."""
    return VariantInfo(file="model.onnx", max_abs_delta_prob=delta, windows_per_s={"1": b1, "32": b32},
                       budget_check=BudgetCheck(passed=passed))


def test_auto_serves_bf16_only_with_native_bf16_within_tolerance_and_faster(tiny_bundle_dir: Path) -> None:
    m = Bundle.load(tiny_bundle_dir).manifest
    m = m.model_copy(update={"variants": {"fp32": info(0.0, 20, 20), "bf16": info(0.008, 50, 90)}})
    assert choose_variant(m, CPU, 0.02, native_bf16=True) == "bf16"
    assert choose_variant(m, CPU, 0.02, native_bf16=False) == "fp32"  # recorded on an AMX box, served elsewhere
    assert choose_variant(m, CPU, 1e-4, native_bf16=True) == "fp32"  # outside the tolerance
    assert choose_variant(m, "CUDAExecutionProvider", 0.02, native_bf16=True) == "fp32"  # GPU: never a CPU variant
    slow = m.model_copy(update={"variants": {**m.variants, "bf16": info(0.008, 19, 90)}})
    assert choose_variant(slow, CPU, 0.02, native_bf16=True) == "fp32"  # slower at batch 1
    assert EngineConfig().auto_max_delta_prob == 0.02  # issue 12's tolerance is the default


def test_openvino_at_fp32_gives_onnx_runtimes_logits(tiny_bundle_dir: Path) -> None:
    """Same graph, fp32 precision: any wrong input/output mapping or padding handling shows here."""
    path = tiny_bundle_dir / "model.onnx"
    ws = windows(0)
    backend = ovb.OpenVinoBackend(path, "f32", threads=1)
    batch = pad_batch(ws, 0)
    got = backend.infer(batch.input_ids, batch.attention_mask)
    assert got.dtype == np.float32 and got.shape == (len(ws), 2)
    np.testing.assert_allclose(got, ort_logits(path, ws), atol=1e-4)
    assert backend.health().ok and backend.health().backend == "openvino"


def test_shape_cache_setting_reaches_openvino(tiny_bundle_dir: Path) -> None:
    """`engine.openvino_shape_cache` bounds the per-shape kernel cache (OpenVINO's default, 5,000 shapes
    of ~1 MB each, grew a server by gigabytes: benchmarks/openvino_memory.py)."""
    from groomguard.serving.settings import load_serve_config

    assert load_serve_config(None, []).engine.openvino_shape_cache == 256
    for size in (0, 37):
        backend = ovb.OpenVinoBackend(tiny_bundle_dir / "model.onnx", "f32", shape_cache=size)
        assert backend.config["CPU_RUNTIME_CACHE_CAPACITY"] == size  # write-only in OpenVINO: not readable back


def test_openvino_rejects_a_bundle_whose_tensor_names_disagree(tiny_bundle_dir: Path) -> None:
    from groomguard.errors import BundleError

    with pytest.raises(BundleError, match=r"onnx\.inputs"):
        ovb.OpenVinoBackend(tiny_bundle_dir / "model.onnx", "f32", input_names=("ids", "attention_mask"))


@needs_bf16
def test_bf16_is_really_bf16_and_close_to_fp32(sharp_bundle_dir: Path) -> None:
    path = sharp_bundle_dir / "model.onnx"
    ws = windows(1)
    batch = pad_batch(ws, 0)
    got = ovb.OpenVinoBackend(path, "bf16", threads=1).infer(batch.input_ids, batch.attention_mask)
    want = ort_logits(path, ws)
    delta = np.abs(got - want).max()
    assert 1e-5 < delta < 0.5  # not fp32 (the hint took effect), not garbage


@needs_bf16
def test_concurrent_calls_each_get_their_own_answer(tiny_bundle_dir: Path) -> None:
    """A pool of infer requests: calls from many threads never see another call's output buffer."""
    backend = ovb.OpenVinoBackend(tiny_bundle_dir / "model.onnx", "bf16", threads=1)
    batches = [pad_batch(windows(seed, (5 + seed, 40 - seed)), 0) for seed in range(8)]
    serial = [backend.infer(b.input_ids, b.attention_mask) for b in batches]
    got: dict[int, list[np.ndarray]] = {i: [] for i in range(8)}

    def work(i: int) -> None:
        for _ in range(10):
            got[i].append(backend.infer(batches[i].input_ids, batches[i].attention_mask))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(8):
        for out in got[i]:
            np.testing.assert_array_equal(out, serial[i])


def _bundle_with_bf16(src: Path, dst: Path, delta: float) -> Path:
    shutil.copytree(src, dst)
    b = Bundle.load(dst)
    variants = {"fp32": info(0.0, 20, 20), "bf16": info(delta, 60, 90)}
    write_manifest(dst, b.manifest.model_copy(update={"variants": variants}))
    return dst


@needs_bf16
def test_engine_auto_serves_bf16_and_says_so(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    bundle = _bundle_with_bf16(tiny_bundle_dir, tmp_path / "b", 0.005)
    engine = build_engine(str(bundle), EngineConfig(providers=[CPU], intra_op_threads=1, openvino_shape_cache=9))
    assert engine.variant == "bf16" and engine.health()["variant"] == "bf16"
    assert engine.backend.config["CPU_RUNTIME_CACHE_CAPACITY"] == 9  # type: ignore[attr-defined]
    assert engine.health()["backend"] == "openvino" and "bf16" in str(engine.health()["detail"])
    ws = windows(2)
    reference = build_engine(str(bundle), EngineConfig(variant="fp32", providers=[CPU]))
    assert reference.variant == "fp32"
    assert np.abs(engine.score_windows(ws) - reference.score_windows(ws)).max() < 0.05
    strict = build_engine(str(bundle), EngineConfig(providers=[CPU], auto_max_delta_prob=1e-4))
    assert strict.variant == "fp32"


def test_asking_for_bf16_without_native_bf16_is_a_clear_error(tiny_bundle_dir: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ovb, "native_bf16", lambda: False)
    with pytest.raises(ConfigError, match="no native bf16"):
        build_engine(str(tiny_bundle_dir), EngineConfig(variant="bf16", providers=[CPU]))


@needs_bf16
def test_export_records_bf16_error_on_the_calibrated_risk_and_gates_it(tmp_path: Path) -> None:
    """The recorded error is the calibrated risk's over the parity windows plus other validation windows
    (checked with OpenVINO + numpy, window by window); a stricter limit leaves bf16 out."""
    import openvino as ov

    from benchmarks.support.tiny_bundle import tiny_bert
    from groomguard.training.export.to_onnx import export_onnx
    from groomguard.training.export.variants import export_variants
    from groomguard.training.train_config import ExportSettings

    model = tiny_bert(seed=0, init_range=0.5)
    export_onnx(model, tmp_path / "model.onnx")
    pool = windows(3)
    probe, others = pool[:2], pool[2:]
    calibration = (0.7, -1.3)
    settings = ExportSettings(fused=False, int8=False, bf16=True, bf16_max_delta_prob=None,
                              variant_error_windows=len(others))
    out = export_variants(model, tmp_path, probe, pool, 0, settings, say=lambda _: None, calibration=calibration)
    assert set(out) == {"fp32", "bf16"} and "openvino" in (out["bf16"].method or "")
    assert out["bf16"].file == "model.onnx" and set(out["bf16"].windows_per_s) == {"1", "32"}

    compiled = ov.Core().compile_model(str(tmp_path / "model.onnx"), "CPU", {"INFERENCE_PRECISION_HINT": "bf16"})
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=[CPU])

    def risk(logits: np.ndarray) -> float:
        return float(1 / (1 + np.exp(-((logits[0, 1] - logits[0, 0]) / calibration[0] + calibration[1]))))

    deltas = []
    for w in probe + others:  # the error is measured beyond the 2 parity windows
        feeds = {"input_ids": np.array([w]), "attention_mask": np.ones((1, len(w)), dtype=np.int64)}
        deltas.append(abs(risk(compiled(feeds)[0]) - risk(sess.run(None, feeds)[0])))
    expected = max(deltas)
    assert expected > max(deltas[:2])  # else this test could not tell the extra windows were used
    assert out["bf16"].max_abs_delta_prob == pytest.approx(expected, rel=0.05, abs=1e-6)
    said: list[str] = []
    strict = settings.model_copy(update={"bf16_max_delta_prob": expected / 4})
    assert "bf16" not in export_variants(model, tmp_path, probe, pool, 0, strict, say=said.append,
                                         calibration=calibration)
    assert any("bf16 variant left out" in s and "bf16_max_delta_prob" in s for s in said)


def test_without_openvino_auto_never_picks_bf16_and_asking_names_the_extra(tiny_bundle_dir: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenVINO is the `bf16` extra: a base install must still serve (fp32) and explain what bf16 needs."""
    import sys

    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` raises ImportError
    assert ovb.native_bf16() is False
    with pytest.raises(ConfigError, match=r"groomguard\[bf16\]"):
        ovb.OpenVinoBackend(tiny_bundle_dir / "model.onnx", "bf16")
    bundle_manifest = Bundle.load(tiny_bundle_dir).manifest.model_copy(
        update={"variants": {"fp32": info(0.0, 20, 20), "bf16": info(0.005, 60, 90)}})
    assert choose_variant(bundle_manifest, CPU, 0.02, native_bf16=ovb.native_bf16()) == "fp32"


def test_streams_setting_compiles_that_many_streams_and_keeps_the_answers(tiny_bundle_dir: Path) -> None:
    """`engine.streams` reaches OpenVINO's NUM_STREAMS (read back from the compiled model), and calls
    from two threads at once give each caller its own logits."""
    from concurrent.futures import ThreadPoolExecutor

    from groomguard.serving.settings import load_serve_config

    assert load_serve_config(None, []).engine.streams == 2  # configs/serve.yaml
    path = tiny_bundle_dir / "model.onnx"
    one = ovb.OpenVinoBackend(path, "f32", threads=2)
    two = ovb.OpenVinoBackend(path, "f32", threads=2, streams=2)
    assert int(one.compiled.get_property("NUM_STREAMS")) == 1
    assert int(two.compiled.get_property("NUM_STREAMS")) == 2
    batches = [pad_batch(windows(seed), 0) for seed in range(6)]
    with ThreadPoolExecutor(2) as pool:
        got = list(pool.map(lambda b: two.infer(b.input_ids, b.attention_mask), batches))
    for b, logits in zip(batches, got, strict=True):
        np.testing.assert_allclose(logits, one.infer(b.input_ids, b.attention_mask), atol=1e-5)


def test_each_stream_has_one_infer_request_used_by_one_thread_only(tiny_bundle_dir: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """issue 22's hang: requests taken from a shared pool by whichever thread called, as many as there
    were callers. Now: exactly `streams` requests, created up front, each run by one thread for the
    backend's life however many threads call, and each caller still gets its own batch's logits."""
    import openvino as ov

    made: list[Any] = []
    threads_of: dict[int, set[int]] = {}
    create = ov.CompiledModel.create_infer_request

    class Recording:
        def __init__(self, request: Any) -> None:
            self.request = request

        def infer(self, inputs: Any) -> Any:
            threads_of.setdefault(id(self), set()).add(threading.get_ident())
            return self.request.infer(inputs)

    def recording(compiled: Any) -> Any:
        made.append(Recording(create(compiled)))
        return made[-1]

    monkeypatch.setattr(ov.CompiledModel, "create_infer_request", recording)
    backend = ovb.OpenVinoBackend(tiny_bundle_dir / "model.onnx", "f32", threads=2, streams=2)
    batches = [pad_batch(windows(seed, (5 + seed, 40 - seed)), 0) for seed in range(8)]
    serial = [backend.infer(b.input_ids, b.attention_mask) for b in batches]
    got: dict[int, list[np.ndarray]] = {i: [] for i in range(8)}

    def work(i: int) -> None:
        for _ in range(5):
            got[i].append(backend.infer(batches[i].input_ids, batches[i].attention_mask))

    callers = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    backend.close()
    assert len(made) == 2  # one request per stream, not one per concurrent caller
    assert all(len(ids) == 1 for ids in threads_of.values())  # a request never changes threads
    assert not {threading.get_ident()} & set().union(*threads_of.values())  # nor runs on a caller's thread
    for i in range(8):
        for out in got[i]:
            np.testing.assert_allclose(out, serial[i], atol=1e-5)


def test_close_ends_the_stream_threads_and_later_calls_are_backend_unavailable(tiny_bundle_dir: Path) -> None:
    """The stream threads must end before the interpreter does: left running into exit they dropped
    their requests during OpenVINO's teardown and the process aborted ("terminate called without an
    active exception": 3 aborted exits of benchmarks/openvino_stress.py). close() and exit stop and
    join them; garbage collection stops them."""
    import gc

    from groomguard.serving.backends.base import BackendUnavailable

    backend = ovb.OpenVinoBackend(tiny_bundle_dir / "model.onnx", "f32", threads=1, streams=2)
    batch = pad_batch(windows(4), 0)
    backend.infer(batch.input_ids, batch.attention_mask)
    streams = list(backend._streams.threads)
    assert len(streams) == 2 and all(t.is_alive() and t.daemon for t in streams)
    backend.close()
    assert not any(t.is_alive() for t in streams)
    with pytest.raises(BackendUnavailable, match="closed"):
        backend.infer(batch.input_ids, batch.attention_mask)
    backend.close()  # idempotent

    dropped = ovb.OpenVinoBackend(tiny_bundle_dir / "model.onnx", "f32", threads=1, streams=2)
    streams = list(dropped._streams.threads)
    del dropped  # never closed: collecting it stops its threads (they hold no reference to it)
    gc.collect()
    deadline = time.monotonic() + 10
    while any(t.is_alive() for t in streams):
        assert time.monotonic() < deadline
        time.sleep(0.01)
