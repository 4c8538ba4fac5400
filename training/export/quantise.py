"""int8 dynamic quantisation of the exported fp32 graph (ONNX Runtime).

ENVIRONMENT.md: quantising the graph fused by `onnxruntime.transformers.optimizer` failed shape
inference, so the un-fused exported graph is quantised (weights int8, activations quantised on
the fly). Its error vs fp32 is measured by the caller on held-out windows and recorded in
bundle.json. Which ops and which weight granularity: `export.int8_*` in the training config,
chosen with `benchmarks/int8_variants.py` (error and speed side by side).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """ONNX Runtime's quantiser logs one INFO line per tensor on the root logger; keep the CLI readable."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantise_int8(fp32_path: Path, out_path: Path, op_types: Sequence[str] = (),
                  per_channel: bool = True) -> Path:
    """Write a dynamically quantised (QInt8 weights) copy of `fp32_path` to `out_path`.

    `op_types`: which operators get int8 weights (empty = every op ONNX Runtime can quantise,
    embeddings' Gather included).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root_logger():
        quantize_dynamic(str(fp32_path), str(out_path), weight_type=QuantType.QInt8, per_channel=per_channel,
                         op_types_to_quantize=list(op_types) or None)
    return out_path


def _same_length(windows: Sequence[Sequence[int]]) -> list[list[int]]:
    """Histogram calibrators stack activations across runs, so they need one sequence length: windows
    at least as long as the shortest quarter are cut to that length (first tokens + the last one)."""
    lengths = sorted(len(w) for w in windows)
    n = lengths[len(lengths) // 4]
    return [[*w[: n - 1], w[-1]] for w in windows if len(w) >= n]


class _WindowReader:
    """CalibrationDataReader over token windows, one unpadded window per run (no padding statistics)."""

    def __init__(self, windows: Sequence[Sequence[int]], input_names: Sequence[str]) -> None:
        import numpy as np

        self._feeds = iter([
            {input_names[0]: np.asarray([w], dtype=np.int64), input_names[1]: np.ones((1, len(w)), dtype=np.int64)}
            for w in windows])

    def get_next(self) -> dict[str, Any] | None:
        return next(self._feeds, None)

    def rewind(self) -> None:  # ORT's reader protocol; one pass is all MinMax needs
        return None


def quantise_static(fp32_path: Path, out_path: Path, calibration: Sequence[Sequence[int]],
                    op_types: Sequence[str] = ("MatMul",), per_channel: bool = True,
                    exclude_nodes: Sequence[str] = (), const_weights_only: bool = True,
                    input_names: Sequence[str] = ("input_ids", "attention_mask"),
                    method: str = "minmax", percentile: float = 99.999, reduce_range: bool = False) -> Path:
    """Static QDQ int8 (activation ranges from `calibration` windows) of `fp32_path`.

    `const_weights_only`: quantise only MatMuls whose second input is a weight (not Q·Kᵀ or
    attention·V, whose ranges vary most between inputs). `exclude_nodes` stay fp32. `method`:
    minmax, percentile (clip activation ranges at `percentile`) or entropy (KL-optimal clipping).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    calib = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
             "entropy": CalibrationMethod.Entropy}[method]
    extra: dict[str, Any] = {"MatMulConstBOnly": const_weights_only}
    if method == "percentile":
        extra["CalibPercentile"] = percentile
    if method != "minmax":
        calibration = _same_length(calibration)
    with _quiet_root_logger():
        quantize_static(str(fp32_path), str(out_path), _WindowReader(calibration, input_names),  # type: ignore[arg-type]
                        quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=per_channel, reduce_range=reduce_range,
                        op_types_to_quantize=list(op_types), nodes_to_exclude=list(exclude_nodes),
                        calibrate_method=calib, extra_options=extra)
    return out_path


def quantise_nbits(fp32_path: Path, out_path: Path, bits: int = 8, block_size: int = 32,
                   accuracy_level: int = 4, symmetric: bool = True, exclude_nodes: Sequence[str] = ()) -> Path:
    """Weight-only block-wise quantisation of the weight MatMuls into MatMulNBits (contrib op).

    Weights are stored with `bits` bits and one scale per `block_size` input channels; with
    `accuracy_level` 4 the CPU kernel quantises activations to int8 per block on the fly and runs
    int8 dot products, so activation outliers cost only their own block's precision (the error
    that per-tensor activation ranges cause in the FFN blocks). Needs the `onnx-ir` package.
    """
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    with _quiet_root_logger():
        quant = MatMulNBitsQuantizer(onnx.load(str(fp32_path)), bits=bits, block_size=block_size,
                                     is_symmetric=symmetric, accuracy_level=accuracy_level,
                                     nodes_to_exclude=list(exclude_nodes), op_types_to_quantize=("MatMul",))
        quant.process()
        quant.model.save_model_to_file(str(out_path), False)
    return out_path
