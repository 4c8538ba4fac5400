"""int8 dynamic quantisation of the exported fp32 graph (ONNX Runtime).

ENVIRONMENT.md: quantising the graph fused by `onnxruntime.transformers.optimizer` failed shape
inference, so the un-fused exported graph is quantised (weights int8, activations quantised on
the fly). ~2x faster on CPU with AVX-512 VNNI, ~4x smaller; its error vs fp32 is measured by
the caller on held-out windows and recorded in bundle.json.
"""

from __future__ import annotations

from pathlib import Path


def quantise_int8(fp32_path: Path, out_path: Path) -> Path:
    """Write a dynamically quantised (QInt8 weights) copy of `fp32_path` to `out_path`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32_path), str(out_path), weight_type=QuantType.QInt8)
    return out_path
