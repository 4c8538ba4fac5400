"""Typed view of configs/triton.yaml (export and local-server defaults)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from groomguard.config import load_config
from groomguard.serving.engine_config import IoBinding


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DynamicBatchingConfig(_Strict):
    preferred_batch_size: list[int] = Field(default_factory=lambda: [8, 16, 32])
    max_queue_delay_microseconds: int = Field(default=2000, ge=0)


class InstanceGroupConfig(_Strict):
    kind: Literal["KIND_GPU", "KIND_CPU"] = "KIND_GPU"
    count: int = Field(default=1, ge=1)


class TensorRTConfig(_Strict):
    enabled: bool = True
    precision_mode: Literal["FP16", "FP32"] = "FP16"
    max_workspace_size_bytes: int = Field(default=1 << 30, ge=1)
    engine_cache: bool = True
    # a path inside the Triton server's container (its own /tmp, a mounted volume in deploy/), not the host's
    engine_cache_path: str = "/tmp/groomguard-trt-cache"  # nosec B108  # container-private path, see above


class WarmupConfig(_Strict):
    enabled: bool = True
    batch_size: int = Field(default=1, ge=1)
    sequence_length: int = Field(default=0, ge=0)  # 0 = the bundle's max_length


class Fp16Config(_Strict):
    tolerance: float = Field(default=0.01, gt=0)
    parity_windows: int = Field(default=256, ge=8)
    seed: int = 0


class ExportConfig(_Strict):
    # auto: what `engine.variant: auto` would serve on the instance kind (GPU: fp16 if the bundle's
    # passed its budget check; CPU: the fastest ONNX Runtime graph that passed; else fp32).
    variant: Literal["auto", "fp32", "int8", "fp16", "fused-fp16"] = "auto"
    version: int = Field(default=1, ge=1)
    max_batch_size: int = Field(default=32, ge=1)
    dynamic_batching: DynamicBatchingConfig = Field(default_factory=DynamicBatchingConfig)
    instance_group: InstanceGroupConfig = Field(default_factory=InstanceGroupConfig)
    tensorrt: TensorRTConfig = Field(default_factory=TensorRTConfig)
    warmup: WarmupConfig = Field(default_factory=WarmupConfig)
    fp16: Fp16Config = Field(default_factory=Fp16Config)


class LocalServerConfig(_Strict):
    host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    startup_timeout_s: float = Field(default=120, gt=0)
    intra_op_threads: int = Field(default=0, ge=0)
    # the model callable's ONNX Runtime providers, tried in order (unavailable ones skipped, CPU last)
    providers: list[str] = Field(default_factory=lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    io_binding: IoBinding = "auto"  # engine.io_binding's values (serving/engine_config.py)


class TritonConfig(_Strict):
    export: ExportConfig = Field(default_factory=ExportConfig)
    serve: LocalServerConfig = Field(default_factory=LocalServerConfig)


def load_triton_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TritonConfig:
    return load_config(TritonConfig, path, overrides or [], default="triton.yaml")
