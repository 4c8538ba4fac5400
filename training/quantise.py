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
