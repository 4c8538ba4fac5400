"""`fused-fp16` (issue 27): attention fused by ONNX Runtime's transformer optimizer, then fp16; built,
gated at 0.01 against fp32 on the CPU, listed in bundle.json, loaded by the engine, served by `auto` only
on a GPU provider and only once its budget check passed. Real ONNX Runtime on the tiny BERT throughout."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from groomguard.bundle import BudgetCheck, Bundle, VariantInfo, sha256_file
from groomguard.errors import BundleError
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.variant_choice import choose_triton_variant, choose_variant
from groomguard.training.export.fused_fp16 import add_fused_fp16_variant, build_fused_fp16

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny bundle whose risks vary by window and whose fp16 error stays inside 0.01 (init 0.3: ~0.002)."""
    from benchmarks.support.tiny_bundle import build_tiny_bundle, tiny_bert

    return build_tiny_bundle(tmp_path_factory.mktemp("ff16") / "tiny", model=tiny_bert(seed=3, init_range=0.3))


def _windows(n: int = 64, seed: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [[101, *rng.integers(1000, 30000, size=int(k)).tolist(), 102] for k in rng.integers(1, 60, size=n)]


@pytest.mark.parametrize("attention", ["Attention", "MultiHeadAttention"])
def test_the_graph_is_fused_fp16_with_fp32_io_and_close_to_fp32(bundle_dir: Path, tmp_path: Path,
                                                                attention: str) -> None:
    src, dst = bundle_dir / "model.onnx", tmp_path / "model.fused-fp16.onnx"
    stats = build_fused_fp16(src, dst, attention=attention)  # type: ignore[arg-type]
    graph = onnx.load(str(dst)).graph
    ops = Counter(n.op_type for n in graph.node)
    assert ops[attention] == stats[attention] == 2 and ops["SkipLayerNormalization"] and ops["EmbedLayerNormalization"]
    # the weights are half precision; the I/O types the engine and Triton's config rely on are kept
    big = [i for i in graph.initializer if int(np.prod(i.dims)) >= 32 * 32]
    assert big and all(i.data_type == onnx.TensorProto.FLOAT16 for i in big)
    assert [i.type.tensor_type.elem_type for i in graph.input] == [onnx.TensorProto.INT64] * 2
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    # ONNX Runtime's CPU provider runs it (right-padded mixed lengths): close to fp32, yet not fp32's answers
    from groomguard.windowing import pad_batch

    b = pad_batch(_windows(), 0)
    feeds = {"input_ids": b.input_ids, "attention_mask": b.attention_mask}
    ref, got = (ort.InferenceSession(str(p), providers=[CPU]).run(None, feeds)[0] for p in (src, dst))
    assert got.dtype == np.float32 and 0 < np.max(np.abs(got - ref)) < 0.05


def test_add_variant_lists_hashes_records_and_the_engine_loads_it(bundle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    shutil.copytree(bundle_dir, out)
    result = add_fused_fp16_variant(out, n_windows=64)
    bundle = Bundle.load(out)  # verifies every listed sha256, the new file's included
    assert bundle.manifest.files["model.fused-fp16.onnx"] == sha256_file(out / "model.fused-fp16.onnx")
    info = bundle.manifest.variants["fused-fp16"]
    assert info.file == "model.fused-fp16.onnx" and info.max_abs_delta_prob == result.max_abs_delta_prob
    assert 0 < result.max_abs_delta_prob <= 0.01 and "Attention x2" in (info.method or "")
    assert not info.windows_per_s  # a GPU variant: no CPU speed recorded for `auto` to compare
    half = build_engine(str(out), EngineConfig(providers=[CPU], variant="fused-fp16", intra_op_threads=1))
    fp32 = build_engine(str(out), EngineConfig(providers=[CPU], variant="fp32", intra_op_threads=1))
    assert half.variant == "fused-fp16" and half.backend.model_path.name == "model.fused-fp16.onnx"  # type: ignore[attr-defined]
    windows = _windows(48, seed=1)
    a, b = half.score_windows(windows), fp32.score_windows(windows)
    assert np.ptp(b) > 0.05, "risks barely vary: the comparison would be vacuous"
    assert 0 < np.max(np.abs(a - b)) <= 0.01
    # not a CPU candidate for auto, whatever it recorded
    assert build_engine(str(out), EngineConfig(providers=[CPU], intra_op_threads=1)).variant == "fp32"


def test_a_graph_over_the_gate_is_refused_and_never_listed(bundle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    shutil.copytree(bundle_dir, out)
    before = (out / "bundle.json").read_text()
    refused = r"fused-fp16 variant fails parity: max \|Δ risk\| [0-9.e-]+ > tolerance 1e-07"
    with pytest.raises(BundleError, match=refused):
        add_fused_fp16_variant(out, n_windows=32, tolerance=1e-7)  # the real error (~1e-3) is over this limit
    assert not (out / "model.fused-fp16.onnx").exists() and (out / "bundle.json").read_text() == before
    with pytest.raises(BundleError, match="no fused-fp16 model"):
        build_engine(str(out), EngineConfig(providers=[CPU], variant="fused-fp16"))


def test_export_step_builds_gates_and_leaves_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """export.fused_fp16: built from model.onnx, error on the checked windows (calibrated), no CPU speed;
    a graph with other answers (planted) or a stricter limit leaves it out, file deleted."""
    import groomguard.training.export.variants as tv
    from benchmarks.support.tiny_bundle import tiny_bert
    from groomguard.training.export.to_onnx import export_onnx
    from groomguard.training.train_config import ExportSettings

    model = tiny_bert(seed=3, init_range=0.3)
    export_onnx(model, tmp_path / "model.onnx")
    probe = _windows(8, seed=2)
    settings = ExportSettings(fused=False, int8=False, bf16=False, fused_fp16=True)
    said: list[str] = []
    good = tv.export_variants(model, tmp_path, probe, _windows(40, seed=3), 0, settings, say=said.append,
                              calibration=(0.8, 0.1))
    half = good["fused-fp16"]
    assert (tmp_path / "model.fused-fp16.onnx").is_file() and half.windows_per_s == {}
    assert half.max_abs_delta_prob is not None and 0 < half.max_abs_delta_prob <= 0.01
    assert "gated on the CPU vs fp32 ONNX, 48 windows" in (half.method or "")
    assert any("variant fused-fp16" in s and "not timed (GPU variant)" in s for s in said)

    strict = settings.model_copy(update={"fused_fp16_max_delta_prob": half.max_abs_delta_prob / 2})
    assert "fused-fp16" not in tv.export_variants(model, tmp_path, probe, probe, 0, strict, say=said.append,
                                                  calibration=(0.8, 0.1))
    assert not (tmp_path / "model.fused-fp16.onnx").exists()
    assert any("fused-fp16 variant left out" in s and "export.fused_fp16_max_delta_prob" in s for s in said)

    def planted(src: Path, dst: Path, num_heads: int = 0, hidden_size: int = 0, attention: str = "") -> dict[str, int]:
        export_onnx(tiny_bert(seed=4, init_range=0.3), dst)  # another model's answers: must fail at 0.01
        return {"Attention": 2}

    monkeypatch.setattr(tv, "build_fused_fp16", planted)
    assert "fused-fp16" not in tv.export_variants(model, tmp_path, probe, probe, 0, settings, say=said.append)
    assert not (tmp_path / "model.fused-fp16.onnx").exists()


def test_auto_serves_it_on_a_gpu_only_once_its_budget_check_passed(tiny_bundle_dir: Path) -> None:
    m = Bundle.load(tiny_bundle_dir).manifest
    passed = BudgetCheck(passed=True)
    both = m.model_copy(update={
        "files": {**m.files, "model.fp16.onnx": "0" * 64, "model.fused-fp16.onnx": "0" * 64},
        "variants": {"fp16": VariantInfo(file="model.fp16.onnx", max_abs_delta_prob=0.001, budget_check=passed),
                     "fused-fp16": VariantInfo(file="model.fused-fp16.onnx", max_abs_delta_prob=0.002,
                                               budget_check=passed)}})
    assert choose_variant(both, CUDA, 0.02) == "fused-fp16"
    assert choose_variant(both, CPU, 0.02) == "fp32"
    failed = both.model_copy(update={"variants": {**both.variants, "fused-fp16": VariantInfo(
        file="model.fused-fp16.onnx", budget_check=BudgetCheck(passed=False))}})
    assert choose_variant(failed, CUDA, 0.02) == "fp16"
    # Triton's auto stays on plain graphs (its TensorRT accelerator does not take contrib ops); naming it works
    assert choose_triton_variant(both, gpu=True) == "fp16"


def test_the_budget_check_covers_it_whatever_the_cpu_serves(tmp_path: Path, tiny_bundle_dir: Path) -> None:
    """served mode stops at the first CPU variant that passes; the GPU variant is checked regardless."""
    from groomguard.bundle import OperatingPointInfo
    from groomguard.training.export.variant_budget import check_variants
    from groomguard.training.train_config import ExportSettings, ThresholdTargets

    for name in ("model.onnx", "model.int8.onnx", "model.fused-fp16.onnx"):
        shutil.copy(tiny_bundle_dir / "model.onnx", tmp_path / name)
    variants = {"fp32": VariantInfo(file="model.onnx", windows_per_s={"1": 10.0, "32": 10.0}),
                "int8": VariantInfo(file="model.int8.onnx", max_abs_delta_prob=0.01,
                                    windows_per_s={"1": 30.0, "32": 30.0}),
                "fused-fp16": VariantInfo(file="model.fused-fp16.onnx", max_abs_delta_prob=0.002)}
    labels, real = np.array([1, 0, 0]), np.array([False, True, True])
    risk = np.array([0.9, 0.1, 0.2])
    calls: list[str] = []

    def score(sess: object, which: np.ndarray) -> np.ndarray:
        name = Path(sess._model_path).name  # type: ignore[attr-defined]
        if not calls or calls[-1] != name:
            calls.append(name)
        return risk[which]

    points = {"review": OperatingPointInfo(threshold=0.5), "high": OperatingPointInfo(threshold=0.8)}
    check_variants(variants, tmp_path, score, risk, labels, real, points, ThresholdTargets(),
                   ExportSettings(budget_check="served"), 1, lambda _m: None)
    assert calls == ["model.int8.onnx", "model.fused-fp16.onnx"]
    assert variants["fused-fp16"].budget_check is not None and variants["fused-fp16"].budget_check.passed
