"""Render config.pbtxt for Triton's onnxruntime backend, and parse it with Triton's own schema.

Rendering is plain text (readable, commented, stable for the golden-file test); validation parses
the text with protobuf's text format against `model_config.proto` as shipped in tritonclient
(`tritonclient.grpc.model_config_pb2`), which is the definition tritonserver itself parses with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from groomguard.errors import GroomguardError
from groomguard.serving.triton.config import ExportConfig
from groomguard.serving.triton.signature import ModelSignature, TensorSpec


class TritonConfigError(GroomguardError):
    """A config.pbtxt that Triton's schema rejects or that does not match the model."""


def _dims(dims: tuple[int, ...]) -> str:
    return "[ " + ", ".join(str(d) for d in dims) + " ]"


def _tensor_block(t: TensorSpec) -> str:
    return f'  {{\n    name: "{t.name}"\n    data_type: {t.data_type}\n    dims: {_dims(t.dims)}\n  }}'


def _concrete(t: TensorSpec, seq_len: int) -> tuple[int, ...]:
    """Warm-up/profile shape for one item: symbolic (sequence) dims become `seq_len`."""
    return tuple(seq_len if d == -1 else d for d in t.dims)


def _profile(sig: ModelSignature, batch: int, seq_len: int) -> str:
    return ",".join(f"{t.name}:" + "x".join(str(d) for d in (batch, *_concrete(t, seq_len))) for t in sig.inputs)


def _param(key: str, value: object) -> str:
    return f'        parameters {{ key: "{key}" value: "{value}" }}'


def render_config(name: str, sig: ModelSignature, cfg: ExportConfig, max_length: int, header: str = "",
                  variant: str = "fp32", model_ref: str = "") -> str:
    """config.pbtxt text for the onnxruntime backend (see configs/triton.yaml for each knob). `variant`
    and `model_ref` travel as model parameters, which Triton returns in the model configuration, so a
    gateway can check it talks to the variant it expects."""
    lines: list[str] = []
    if header:
        lines += [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += [
        f'name: "{name}"',
        'backend: "onnxruntime"',
        f"max_batch_size: {cfg.max_batch_size}",
        "input [",
        ",\n".join(_tensor_block(t) for t in sig.inputs),
        "]",
        "output [",
        ",\n".join(_tensor_block(t) for t in sig.outputs),
        "]",
        f'parameters {{ key: "groomguard_variant" value: {{ string_value: "{variant}" }} }}',
    ]
    if model_ref:
        lines += [f'parameters {{ key: "groomguard_model" value: {{ string_value: "{model_ref}" }} }}']
    preferred = [b for b in cfg.dynamic_batching.preferred_batch_size if b <= cfg.max_batch_size]
    lines += ["dynamic_batching {"]
    if preferred:
        lines += [f"  preferred_batch_size: {_dims(tuple(preferred))}"]
    lines += [f"  max_queue_delay_microseconds: {cfg.dynamic_batching.max_queue_delay_microseconds}", "}"]
    ig = cfg.instance_group
    lines += ["instance_group [", "  {", f"    count: {ig.count}", f"    kind: {ig.kind}", "  }", "]"]
    trt = cfg.tensorrt
    if trt.enabled and ig.kind == "KIND_GPU":
        opt_batch = max(preferred) if preferred else cfg.max_batch_size
        lines += [
            "optimization {",
            "  execution_accelerators {",
            "    gpu_execution_accelerator [",
            "      {",
            '        name: "tensorrt"',
            _param("precision_mode", trt.precision_mode),
            _param("max_workspace_size_bytes", trt.max_workspace_size_bytes),
        ]
        if trt.engine_cache:
            lines += [_param("trt_engine_cache_enable", "true"), _param("trt_engine_cache_path", trt.engine_cache_path)]
        lines += [
            _param("trt_profile_min_shapes", _profile(sig, 1, 1)),
            _param("trt_profile_opt_shapes", _profile(sig, opt_batch, max_length)),
            _param("trt_profile_max_shapes", _profile(sig, cfg.max_batch_size, max_length)),
            "      }",
            "    ]",
            "  }",
            "}",
        ]
    if cfg.warmup.enabled:
        seq = cfg.warmup.sequence_length or max_length
        lines += ["model_warmup [", "  {", f'    name: "zeros_{cfg.warmup.batch_size}x{seq}"',
                  f"    batch_size: {min(cfg.warmup.batch_size, cfg.max_batch_size)}"]
        for t in sig.inputs:
            lines += [
                "    inputs {",
                f'      key: "{t.name}"',
                f"      value {{ data_type: {t.data_type} dims: {_dims(_concrete(t, seq))} zero_data: true }}",
                "    }",
            ]
        lines += ["  }", "]"]
    return "\n".join(lines) + "\n"


def parse_config(text: str, source: str = "config.pbtxt") -> Any:
    """Parse with Triton's ModelConfig schema; returns the `ModelConfig` protobuf message."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    try:
        return text_format.Parse(text, model_config_pb2.ModelConfig())
    except text_format.ParseError as exc:
        raise TritonConfigError(f"{source}: Triton's model_config.proto rejects it: {exc}") from None


def check_against_signature(config: Any, sig: ModelSignature, source: str) -> None:
    """Semantic checks Triton applies at load time: names, dtypes and dims match the model."""
    from tritonclient.grpc import model_config_pb2

    def as_tuple(tensors: Any) -> list[tuple[str, str, tuple[int, ...]]]:
        return [(t.name, model_config_pb2.DataType.Name(t.data_type), tuple(t.dims)) for t in tensors]

    want_in = [(t.name, t.data_type, t.dims) for t in sig.inputs]
    want_out = [(t.name, t.data_type, t.dims) for t in sig.outputs]
    if as_tuple(config.input) != want_in or as_tuple(config.output) != want_out:
        raise TritonConfigError(f"{source}: inputs/outputs do not match the ONNX model ({want_in} -> {want_out})")
    if config.max_batch_size < 1:
        raise TritonConfigError(f"{source}: max_batch_size must be >= 1 for a batched model")
    bad = [b for b in config.dynamic_batching.preferred_batch_size if b > config.max_batch_size]
    if bad:
        raise TritonConfigError(f"{source}: preferred_batch_size {bad} exceeds max_batch_size")


def read_config(path: Path) -> Any:
    if not path.is_file():
        raise TritonConfigError(f"{path}: no config.pbtxt (run `groomguard triton export` first)")
    return parse_config(path.read_text(encoding="utf-8"), str(path))
