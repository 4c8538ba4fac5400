"""Fused fp32 variant and `engine.variant: auto`: hand-built manifests, an independent ORT check."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from groomguard.bundle import BudgetCheck, Bundle, BundleManifest, VariantInfo, write_manifest
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.variant_choice import choose_variant
from groomguard.training.export.fusion import attention_shape, fuse

CPU = "CPUExecutionProvider"


def manifest_with(tiny_bundle_dir: Path, variants: dict[str, VariantInfo], files: tuple[str, ...]) -> BundleManifest:
    m = Bundle.load(tiny_bundle_dir).manifest
    return m.model_copy(update={"variants": variants, "files": {**m.files, **{f: "0" * 64 for f in files}}})


PASSED = BudgetCheck(passed=True)


def info(file: str, delta: float, b1: float, b32: float, check: BudgetCheck | None = PASSED) -> VariantInfo:
    return VariantInfo(file=file, max_abs_delta_prob=delta, windows_per_s={"1": b1, "32": b32}, budget_check=check)


def test_auto_serves_only_variants_whose_budget_check_passed(tiny_bundle_dir: Path) -> None:
    """Speed and tolerance are not enough: the thresholds (chosen on fp32) must have held on the
    variant's own validation risks. Unchecked (older bundles) or failed variants are never auto."""
    fp32 = info("model.onnx", 0.0, 20, 20)
    fast = {"fused": info("model.fused.onnx", 1e-6, 28, 27), "int8": info("model.int8.onnx", 0.01, 60, 50)}
    files = ("model.fused.onnx", "model.int8.onnx")
    assert choose_variant(manifest_with(tiny_bundle_dir, {"fp32": fp32, **fast}, files), CPU, 0.02) == "int8"
    failed = {**fast, "int8": info("model.int8.onnx", 0.01, 60, 50, BudgetCheck(passed=False, detail="x"))}
    assert choose_variant(manifest_with(tiny_bundle_dir, {"fp32": fp32, **failed}, files), CPU, 0.02) == "fused"
    unchecked = {name: v.model_copy(update={"budget_check": None}) for name, v in fast.items()}
    assert choose_variant(manifest_with(tiny_bundle_dir, {"fp32": fp32, **unchecked}, files), CPU, 0.02) == "fp32"
    gpu = manifest_with(tiny_bundle_dir, {"fp32": fp32, "fp16": VariantInfo(file="model.fp16.onnx",
                                                                            max_abs_delta_prob=0.004)},
                        ("model.fp16.onnx",))
    assert choose_variant(gpu, "CUDAExecutionProvider", 0.02) == "fp32"  # fp16 unchecked


def test_auto_picks_the_fastest_within_tolerance_by_its_slower_batch(tiny_bundle_dir: Path) -> None:
    fp32 = info("model.onnx", 0.0, 20, 20)
    fused = info("model.fused.onnx", 7e-7, 28, 27)
    int8 = info("model.int8.onnx", 0.015, 60, 26)  # slower than fused at batch 32: min 26 < 27
    m = manifest_with(tiny_bundle_dir, {"fp32": fp32, "fused": fused, "int8": int8},
                      ("model.fused.onnx", "model.int8.onnx"))
    assert choose_variant(m, CPU, 1e-4) == "fused"  # int8 is outside 1e-4
    assert choose_variant(m, CPU, 0.02) == "fused"  # inside 0.02 but its worse batch is slower
    faster8 = info("model.int8.onnx", 0.015, 60, 40)
    m8 = m.model_copy(update={"variants": {**m.variants, "int8": faster8}})
    assert choose_variant(m8, CPU, 0.02) == "int8" and choose_variant(m8, CPU, 0.01) == "fused"
    slow_fused = m.model_copy(update={"variants": {**m.variants, "fused": info("model.fused.onnx", 0.0, 19, 30)}})
    assert choose_variant(slow_fused, CPU, 1e-4) == "fp32"  # 19 at batch 1 < fp32's 20


def test_auto_falls_back_to_fp32_without_measurements_or_files(tiny_bundle_dir: Path) -> None:
    fused = info("model.fused.onnx", 0.0, 28, 27)
    old = manifest_with(tiny_bundle_dir, {"fp32": VariantInfo(file="model.onnx", max_abs_delta_prob=0.0),
                                          "fused": fused}, ("model.fused.onnx",))
    assert choose_variant(old, CPU, 1e-4) == "fp32"  # fp32 speed unknown: nothing to compare against
    listed_not_shipped = manifest_with(tiny_bundle_dir, {"fp32": info("model.onnx", 0, 20, 20), "fused": fused}, ())
    assert choose_variant(listed_not_shipped, CPU, 1e-4) == "fp32"
    gpu = manifest_with(tiny_bundle_dir, {"fp32": info("model.onnx", 0, 20, 20), "fused": fused,
                                          "fp16": VariantInfo(file="model.fp16.onnx", max_abs_delta_prob=0.004,
                                                              budget_check=PASSED)},
                        ("model.fused.onnx", "model.fp16.onnx"))
    assert choose_variant(gpu, "CUDAExecutionProvider", 1e-4) == "fp16"
    assert choose_variant(gpu, CPU, 1e-4) == "fused"


def test_fused_graph_has_contrib_ops_and_the_same_answers(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    src = tiny_bundle_dir / "model.onnx"
    assert attention_shape(src) == (2, 32)  # benchmarks/support/tiny_bundle.py: 2 heads, hidden 32
    stats = fuse(src, tmp_path / "fused.onnx")
    ops = {n.op_type for n in onnx.load(str(tmp_path / "fused.onnx")).graph.node}
    assert {"Attention", "SkipLayerNormalization", "EmbedLayerNormalization"} <= ops and stats["Attention"] == 2
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, size=(3, 20)).astype(np.int64)
    mask = np.ones_like(ids)
    mask[1, 12:] = 0
    mask[2, 5:] = 0
    outs = [ort.InferenceSession(str(p), providers=[CPU]).run(None, {"input_ids": ids, "attention_mask": mask})[0]
            for p in (src, tmp_path / "fused.onnx")]
    np.testing.assert_allclose(outs[1], outs[0], atol=1e-5)


def test_engine_auto_loads_the_chosen_file(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    bundle_dir = tmp_path / "b"
    shutil.copytree(tiny_bundle_dir, bundle_dir)
    fuse(bundle_dir / "model.onnx", bundle_dir / "model.fused.onnx")
    m = Bundle.load(bundle_dir).manifest
    write_manifest(bundle_dir, m.model_copy(update={"variants": {
        "fp32": info("model.onnx", 0, 20, 20), "fused": info("model.fused.onnx", 1e-6, 28, 27)}}))
    auto = build_engine(str(bundle_dir), EngineConfig(providers=[CPU]))
    assert auto.backend.model_path.name == "model.fused.onnx"  # type: ignore[attr-defined]
    named = build_engine(str(bundle_dir), EngineConfig(providers=[CPU], variant="fp32"))
    assert named.backend.model_path.name == "model.onnx"  # type: ignore[attr-defined]
    plain = build_engine(str(tiny_bundle_dir), EngineConfig(providers=[CPU]))  # no fused file: fp32
    assert plain.backend.model_path.name == "model.onnx"  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="no int8 model"):
        build_engine(str(tiny_bundle_dir), EngineConfig(providers=[CPU], variant="int8"))


def test_export_step_ships_fused_only_when_it_passes_the_pytorch_gate(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import groomguard.training.export.variants as tv
    from benchmarks.support.tiny_bundle import tiny_bert
    from groomguard.training.export.to_onnx import export_onnx
    from groomguard.training.train_config import ExportSettings

    model = tiny_bert(seed=0, init_range=0.5)
    export_onnx(model, tmp_path / "model.onnx")
    rng = np.random.default_rng(1)
    probe = [[101, *rng.integers(1000, 30000, size=n).tolist(), 102] for n in (3, 9, 30, 14)]
    settings = ExportSettings(int8=False, bf16=False, parity_tolerance=1e-4)
    said: list[str] = []
    good = tv.export_variants(model, tmp_path, probe, probe, 0, settings, say=said.append)
    assert set(good) == {"fp32", "fused"} and good["fused"].max_abs_delta_prob is not None
    assert good["fused"].max_abs_delta_prob <= 1e-4 and set(good["fused"].windows_per_s) == {"1", "32"}
    assert (tmp_path / "model.fused.onnx").is_file() and "Attention x2" in (good["fused"].method or "")

    def wrong_fuse(src: Path, dst: Path, num_heads: int = 0, hidden_size: int = 0) -> dict[str, int]:
        export_onnx(tiny_bert(seed=1, init_range=0.5), dst)  # other weights: must fail the gate
        return {"Attention": 2}

    monkeypatch.setattr(tv, "fuse", wrong_fuse)
    bad = tv.export_variants(model, tmp_path, probe, probe, 0, settings, say=said.append)
    assert set(bad) == {"fp32"} and not (tmp_path / "model.fused.onnx").exists()
    assert any("fused variant left out" in s and "parity" in s for s in said)


def test_calibration_windows_never_reuse_probe_windows() -> None:
    from groomguard.training.export.variants import calibration_windows

    pool = [[1], [2], [3], [4], [5], [6]]
    assert calibration_windows(pool, [[2], [5]], 2) == [[1], [4]]  # rest [1, 3, 4, 6], every 2nd
    assert calibration_windows(pool, [], 10) == pool


def test_export_step_static_int8_is_qdq_and_measured(tmp_path: Path) -> None:
    from benchmarks.support.tiny_bundle import tiny_bert
    from groomguard.training.export.to_onnx import export_onnx
    from groomguard.training.export.variants import export_variants
    from groomguard.training.train_config import ExportSettings

    model = tiny_bert(seed=0, init_range=0.5)
    export_onnx(model, tmp_path / "model.onnx")
    rng = np.random.default_rng(2)
    windows = [[101, *rng.integers(1000, 30000, size=n).tolist(), 102] for n in (3, 9, 30, 14, 7, 22)]
    settings = ExportSettings(fused=False, int8=True, int8_method="static", int8_calibration_windows=4, bf16=False)
    out = export_variants(model, tmp_path, windows[:2], windows, 0, settings, say=lambda _: None)
    ops = {n.op_type for n in onnx.load(str(tmp_path / "model.int8.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops and "DynamicQuantizeLinear" not in ops
    int8 = out["int8"]
    assert (int8.method or "").startswith("static QDQ (fp32 graph, 4 calibration windows)")
    assert int8.max_abs_delta_prob is not None and 0 < int8.max_abs_delta_prob < 0.5
    assert set(int8.windows_per_s) == {"1", "32"}


def test_export_step_nbits_int8_measured_on_calibrated_risk_and_gated(tmp_path: Path) -> None:
    """MatMulNBits int8: the recorded error is the calibrated risk's (checked with plain ORT + numpy),
    and `int8_max_delta_prob` below that error leaves the variant out."""
    from benchmarks.support.tiny_bundle import tiny_bert
    from groomguard.training.export.to_onnx import export_onnx
    from groomguard.training.export.variants import export_variants
    from groomguard.training.train_config import ExportSettings

    model = tiny_bert(seed=0, init_range=0.5)
    export_onnx(model, tmp_path / "model.onnx")
    rng = np.random.default_rng(3)
    windows = [[101, *rng.integers(1000, 30000, size=n).tolist(), 102] for n in (3, 9, 30, 14, 7, 22)]
    calibration = (0.7, -1.3)
    settings = ExportSettings(fused=False, int8=True, int8_method="nbits", int8_block_size=16, bf16=False)
    out = export_variants(model, tmp_path, windows, windows, 0, settings, say=lambda _: None,
                          calibration=calibration)
    int8_path = tmp_path / "model.int8.onnx"
    assert "MatMulNBits" in {n.op_type for n in onnx.load(str(int8_path)).graph.node}
    assert "MatMulNBits weight-only 8-bit, block 16, asymmetric" in (out["int8"].method or "")

    def risks(path: Path) -> np.ndarray:
        sess = ort.InferenceSession(str(path), providers=[CPU])
        margins = [np.diff(sess.run(None, {"input_ids": np.array([w]), "attention_mask": np.ones((1, len(w)),
                                                                                                   dtype=np.int64)})[0][0])[0]
                   for w in windows]
        return 1 / (1 + np.exp(-(np.array(margins) / calibration[0] + calibration[1])))

    expected = float(np.max(np.abs(risks(int8_path) - risks(tmp_path / "model.onnx"))))
    assert expected > 0 and out["int8"].max_abs_delta_prob == pytest.approx(expected, rel=1e-3, abs=1e-7)
    said: list[str] = []
    strict = settings.model_copy(update={"int8_max_delta_prob": expected / 2})
    gated = export_variants(model, tmp_path, windows, windows, 0, strict, say=said.append, calibration=calibration)
    assert "int8" not in gated and not int8_path.exists()
    assert any("int8 variant left out" in s and "int8_max_delta_prob" in s for s in said)


@pytest.mark.parametrize("spinning", [False, True])
def test_engine_config_sets_ort_thread_spinning(tiny_bundle_dir: Path, spinning: bool) -> None:
    """`engine.intra_op_spinning` reaches the ONNX Runtime session (off by default: serve.yaml)."""
    from groomguard.serving.settings import load_serve_config

    assert load_serve_config(None, []).engine.intra_op_spinning is False
    engine = build_engine(str(tiny_bundle_dir), EngineConfig(variant="fp32", intra_op_spinning=spinning,
                                                             providers=["CPUExecutionProvider"]))
    options = engine.backend.session.get_session_options()  # type: ignore[attr-defined]
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == ("1" if spinning else "0")
