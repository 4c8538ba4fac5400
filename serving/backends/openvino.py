"""Embedded OpenVINO backend: the bundle's fp32 ONNX graph at bf16 inference precision (variant `bf16`).

Why a second CPU runtime: on CPUs with native bf16 matrix units (Intel AMX, AVX512-BF16) OpenVINO's
CPU plugin runs the matrix multiplications in bf16 while keeping fp32 accumulation, about 2-4x
ONNX Runtime's fp32 on the same cores, with risks within 0.01 of fp32 on the demo model
(docs/performance.md). ONNX Runtime's CPU provider has no bf16 kernels on x86. The graph is the
same model.onnx the fp32 variant runs, so there is no second export to drift from it.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.errors import BundleError, ConfigError
from groomguard.serving.backends.base import BackendHealth, BackendUnavailable

log = logging.getLogger(__name__)


def native_bf16() -> bool:
    """True when OpenVINO is installed and this CPU computes bf16 natively (else bf16 would be emulated
    or silently run as fp32, and the export's recorded speed would not hold here)."""
    try:
        import openvino as ov
    except ImportError:
        return False
    try:
        return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except RuntimeError:  # no CPU plugin
        return False


def openvino_version() -> str:
    import openvino as ov

    return str(ov.get_version()).split("-", 1)[0]


class OpenVinoBackend:
    """One compiled model; a pool of infer requests makes `infer` safe to call from many threads."""

    name = "openvino"
    variant = "bf16"

    def __init__(
        self,
        model_path: Path,
        precision: str = "bf16",
        threads: int = 0,
        input_names: Sequence[str] = ("input_ids", "attention_mask"),
        output_name: str = "logits",
        shape_cache: int = 256,
        streams: int = 1,
    ) -> None:
        try:
            import openvino as ov
        except ImportError:
            raise ConfigError("engine.variant bf16 needs OpenVINO: pip install 'groomguard[bf16]'") from None
        if precision == "bf16" and not native_bf16():
            raise ConfigError("engine.variant bf16: this CPU has no native bf16 (AMX / AVX512-BF16); use fp32 or auto")
        # CPU_RUNTIME_CACHE_CAPACITY: kernels kept per input shape (~1 MB each on the demo model). The
        # default, 5,000, lets a server meeting every batch size x window length grow by gigabytes.
        # NUM_STREAMS: calls run in parallel, the threads split between them (engine.streams): 1 gives
        # one call all threads (lowest latency alone); more keep threads apart under concurrent load,
        # where one call's threads would otherwise wait on each other at every layer.
        config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": precision,
                                  "PERFORMANCE_HINT": "LATENCY" if streams == 1 else "THROUGHPUT",
                                  "NUM_STREAMS": streams, "CPU_RUNTIME_CACHE_CAPACITY": shape_cache}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self.config = config  # what the model was compiled with (some keys, like the cache size, cannot be read back)
        try:
            self.compiled = ov.Core().compile_model(str(model_path), "CPU", config)
        except RuntimeError as exc:
            raise BundleError(f"{model_path}: OpenVINO cannot load it ({exc.__class__.__name__}); "
                              "re-export the bundle") from None
        present = [n for port in self.compiled.inputs for n in port.get_names()]
        missing = [n for n in input_names if n not in present]
        outputs = [n for port in self.compiled.outputs for n in port.get_names()]
        if missing or output_name not in outputs:
            raise BundleError(f"{model_path}: the model's tensors ({', '.join(present + outputs)}) do not match "
                              "bundle.json onnx.inputs / onnx.output")
        self.input_names = list(input_names)
        self.output = self.compiled.output(output_name)
        self.provider = f"OpenVINO {openvino_version()} CPU, {precision}"
        self.model_path = model_path
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        log.info("openvino model ready: model=%s precision=%s", model_path.name, precision)

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        try:
            request = self._idle.get_nowait()
        except queue.Empty:  # one infer request per concurrent caller; reused afterwards
            request = self.compiled.create_infer_request()
        try:
            result = request.infer(dict(zip(self.input_names, (input_ids, attention_mask), strict=True)))
            return np.array(result[self.output], dtype=np.float32)  # a copy: the request reuses its buffer
        except RuntimeError as exc:
            raise BackendUnavailable(f"openvino inference failed: {exc.__class__.__name__}") from exc
        finally:
            self._idle.put(request)

    def health(self) -> BackendHealth:
        return BackendHealth(ok=True, backend=self.name, detail=self.provider)

    def close(self) -> None:
        return None
