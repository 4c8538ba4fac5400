"""Tensor names, dtypes and shapes read from the ONNX file itself (never hard-coded).

Triton's config.pbtxt must match the graph exactly; reading it from the model is the only way a
re-exported or differently-named model cannot drift from its config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from groomguard.errors import BundleError

# ONNX TensorProto elem_type -> Triton data_type (model_config.proto DataType names).
ONNX_TO_TRITON: dict[int, str] = {
    1: "TYPE_FP32", 2: "TYPE_UINT8", 3: "TYPE_INT8", 4: "TYPE_UINT16", 5: "TYPE_INT16", 6: "TYPE_INT32",
    7: "TYPE_INT64", 9: "TYPE_BOOL", 10: "TYPE_FP16", 11: "TYPE_FP64", 12: "TYPE_UINT32",
    13: "TYPE_UINT64", 16: "TYPE_BF16",
}
# Triton data_type -> numpy dtype name (what clients send and the PyTriton server binds).
TRITON_TO_NUMPY: dict[str, str] = {
    "TYPE_FP32": "float32", "TYPE_FP16": "float16", "TYPE_FP64": "float64", "TYPE_INT64": "int64",
    "TYPE_INT32": "int32", "TYPE_INT16": "int16", "TYPE_INT8": "int8", "TYPE_UINT8": "uint8",
    "TYPE_UINT16": "uint16", "TYPE_UINT32": "uint32", "TYPE_UINT64": "uint64", "TYPE_BOOL": "bool",
}


@dataclass(frozen=True)
class TensorSpec:
    name: str
    data_type: str  # Triton name, e.g. TYPE_INT64
    shape: tuple[int, ...]  # full ONNX shape, -1 for symbolic dims (batch included)

    @property
    def dims(self) -> tuple[int, ...]:
        """Shape without the batch dimension: what config.pbtxt lists when max_batch_size > 0."""
        return self.shape[1:]

    @property
    def triton_dtype(self) -> str:
        """The KServe/tritonclient dtype string (INT64, FP32, ...)."""
        return self.data_type.removeprefix("TYPE_")


@dataclass(frozen=True)
class ModelSignature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


def read_signature(model_path: Path) -> ModelSignature:
    """Read graph inputs/outputs (initializers excluded) without loading external weight data."""
    import onnx

    try:
        model = onnx.load(str(model_path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError/OSError variants
        raise BundleError(f"{model_path}: not a readable ONNX model ({exc.__class__.__name__})") from None
    initializers = {init.name for init in model.graph.initializer}

    def spec(value: onnx.ValueInfoProto) -> TensorSpec:
        ttype = value.type.tensor_type
        if ttype.elem_type not in ONNX_TO_TRITON:
            raise BundleError(f"{model_path}: tensor {value.name} has ONNX type {ttype.elem_type} Triton cannot serve")
        shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in ttype.shape.dim)
        return TensorSpec(value.name, ONNX_TO_TRITON[ttype.elem_type], shape)

    inputs = tuple(spec(v) for v in model.graph.input if v.name not in initializers)
    outputs = tuple(spec(v) for v in model.graph.output)
    for t in (*inputs, *outputs):
        if not t.shape or t.shape[0] != -1:
            raise BundleError(f"{model_path}: tensor {t.name} has no dynamic batch dimension; re-export the model")
    return ModelSignature(inputs, outputs)
