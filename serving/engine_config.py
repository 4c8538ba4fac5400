"""Engine configuration (the `engine:` section of configs/serve.yaml)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _on_off(value: object) -> object:
    """YAML 1.1 reads a bare `on`/`off` as true/false: take those as the words they were written as."""
    return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


# ONNX Runtime I/O binding (serving/backends/onnxruntime.py): auto = on where the session runs on CUDA or
# TensorRT (host-to-device copies of each batch's feeds), off on the CPU; on | off force it.
IoBinding = Annotated[Literal["auto", "on", "off"], BeforeValidator(_on_off)]


class TritonClientConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = "127.0.0.1:8001"
    protocol: Literal["http", "grpc"] = "grpc"
    model_name: str | None = None  # default: the bundle's name
    timeout_s: float = 5.0
    retries: int = 3
    backoff_s: float = 0.05
    max_backoff_s: float = 1.0  # cap on the exponential backoff between retries
    health_timeout_s: float = 1.0  # /readyz probe timeout
    health_cache_s: float = 1.0  # probe result reused for this long (readiness is polled often)
    fallback_to_onnxruntime: bool = False
    # The variant the Triton repository serves (`groomguard triton export` prints it): reports and
    # /readyz name it, the fallback scores with it (fp16 falls back to fp32 on the CPU), and where the
    # server publishes the repository's `groomguard_variant` parameter (NVIDIA Triton) a mismatch makes
    # the backend unhealthy instead of serving answers nobody evaluated.
    variant: Literal["fp32", "int8", "fp16", "fused-fp16"] = "fp32"


class EngineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["onnxruntime", "triton"] = "onnxruntime"
    # auto = the fastest variant within auto_max_delta_prob of fp32 on the provider in use
    # (serving/variant_choice.py); or name one: fp32 | fused | int8 | fp16 | fused-fp16 | bf16 (OpenVINO).
    variant: Literal["auto", "fp32", "fused", "int8", "fp16", "fused-fp16", "bf16"] = "auto"
    auto_max_delta_prob: float = Field(default=0.02, ge=0.0)
    providers: list[str] = Field(
        default_factory=lambda: ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    intra_op_threads: int = 0
    # ONNX Runtime's pool threads busy-wait between parallel sections when true. Off: on a server the
    # request threads need those cycles (docs/performance.md: +6 % appends/s at 8 clients on 2 cores,
    # no measurable change to the engine's own batch-1 rate).
    intra_op_spinning: bool = False
    io_binding: IoBinding = "auto"
    max_batch_size: int = Field(default=32, ge=1)
    # Model calls in flight at once: OpenVINO streams (bf16) and the micro-batcher's workers; offline
    # scoring keeps this many batches running. 1 = lowest latency for a lone request.
    streams: int = Field(default=1, ge=1)
    # bf16 (OpenVINO): compiled kernels kept per input shape, ~1 MB each (benchmarks/openvino_memory.py)
    openvino_shape_cache: int = Field(default=256, ge=0)
    # A model call that has not returned after this many seconds is a stuck backend (issue 22: an
    # OpenVINO call that never returned froze `groomguard score`): offline scoring stops with an
    # error, the server fails the batch's requests with 503 and /readyz reports not ready.
    infer_timeout_s: float = Field(default=60.0, gt=0)
    triton: TritonClientConfig = Field(default_factory=TritonClientConfig)
