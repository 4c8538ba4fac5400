"""`fused-fp16` (model.fused-fp16.onnx): the GPU variant with attention fused, in half precision.

The plain fp16 variant (training/export/fp16.py) converts the un-fused graph: on an H100 its attention
is a chain of MatMul/Softmax/MatMul kernels, and PyTorch's fused attention ran the same model 1.8x
faster (docs/performance.md "On a GPU"). This variant first fuses with ONNX Runtime's transformer
optimizer (training/export/fusion.py: one Attention or MultiHeadAttention contrib op per layer, whose
CUDA kernels use fused/flash attention in fp16) and then converts to fp16 with the I/O types kept.

The gate is the fp16 variant's: max |Δ risk| against the fp32 graph on the CPU <= 0.01
(`export.fused_fp16_max_delta_prob`), else the file is deleted and the bundle does not list it. ONNX
Runtime's CPU provider runs this graph (contrib ops without an fp16 CPU kernel get Cast nodes inserted
and compute in fp32), so the CPU gate measures the weights' and activations' rounding but not the CUDA
kernels' own fp16 arithmetic: `python -m benchmarks.gpu run` measures that on the card (its `parity`
section) against the fp32 risks computed here. Its speed on a CPU means nothing (slower than fp32), so
the export records no CPU speed for it and `engine.variant: auto` considers it only on a GPU provider.
"""

from __future__ import annotations

from pathlib import Path

from groomguard.bundle import MODEL_FILES, Bundle, VariantInfo
from groomguard.training.export.fp16 import FP16_TOLERANCE, ParityResult, bundle_parity, record_variant
from groomguard.training.export.fusion import AttentionOp, attention_shape, fuse

NAME = "fused-fp16"


def build_fused_fp16(src: Path, dst: Path, num_heads: int = 0, hidden_size: int = 0,
                     attention: AttentionOp = "Attention") -> dict[str, int]:
    """Fuse the fp32 graph `src` and write it in fp16 to `dst`; returns the fused-op counts (ValueError: no
    attention fused)."""
    if not (num_heads and hidden_size):
        num_heads, hidden_size = attention_shape(src)
    return fuse(src, dst, num_heads, hidden_size, attention=attention, fp16=True)


def method(stats: dict[str, int], against: str) -> str:
    """The `method` line bundle.json records: how the graph was made and where it was gated."""
    ops = ", ".join(f"{k} x{v}" for k, v in stats.items())
    return (f"ORT transformer optimizer ({ops}), then fp16 (I/O types kept); gated on the CPU vs {against}; "
            "GPU speed and GPU error: python -m benchmarks.gpu")


def add_fused_fp16_variant(bundle_dir: Path, n_windows: int = 256, seed: int = 0,
                           tolerance: float = FP16_TOLERANCE, attention: AttentionOp = "Attention") -> ParityResult:
    """Add model.fused-fp16.onnx to an existing bundle (its checkpoint not at hand: the fp32 graph is the
    reference), record the gate's error in bundle.json `variants['fused-fp16']` and re-hash. Raises
    BundleError (file removed, bundle unchanged) over `tolerance`, ValueError when nothing fuses."""
    bundle = Bundle.load(bundle_dir)
    dst = bundle_dir / MODEL_FILES[NAME]
    try:
        stats = build_fused_fp16(bundle.model_path("fp32"), dst, attention=attention)
    except ValueError:
        dst.unlink(missing_ok=True)
        raise
    result = bundle_parity(bundle, dst, NAME, n_windows, seed, tolerance)
    record_variant(bundle, NAME, VariantInfo(file=MODEL_FILES[NAME], max_abs_delta_prob=result.max_abs_delta_prob,
                                             method=method(stats, f"fp32 ONNX, {result.n_windows} generated windows")))
    return result
