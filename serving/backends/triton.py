"""`triton` engine backend: the gateway hands padded token-id batches to a Triton server.

Requests are already tokenised and right-padded by the engine (INT64 `input_ids`/`attention_mask`,
FP32 `logits` back, names from bundle.json which `groomguard triton export` checked against the
ONNX graph). Transient failures (connection refused/reset, UNAVAILABLE) are retried with capped
exponential backoff (timeouts are not: re-sending to an overloaded server deepens its queue); all
failures surface as `BackendUnavailable` (the API answers 503
problem+json) — unless `fallback_to_onnxruntime` is on, in which case the embedded ONNX Runtime
backend scores the batch and `groomguard_backend_fallbacks_total` counts it.

Both batchers stay on: the gateway's micro-batcher merges concurrent API requests into one
Triton request (fewer round trips, one padded tensor), and Triton's dynamic batcher merges
requests from *several gateway replicas* into GPU-sized batches. Neither can do the other's job.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
from prometheus_client import Counter

from groomguard.bundle import Bundle, Variant
from groomguard.serving.backends.base import Backend, BackendHealth, BackendUnavailable
from groomguard.serving.engine_config import EngineConfig, TritonClientConfig
from groomguard.serving.triton.client import TritonClient, is_retryable

log = logging.getLogger(__name__)

FALLBACKS = Counter(
    "groomguard_backend_fallbacks", "Batches scored by the embedded ONNX Runtime backend because Triton was unavailable"
)
RETRIES = Counter("groomguard_triton_retries", "Triton requests retried after a transient failure")


class TritonBackend:
    """Remote inference through tritonclient; see the module docstring for the failure policy."""

    name = "triton"

    def __init__(self, config: TritonClientConfig, model_name: str, input_names: list[str], output_name: str,
                 fallback: Backend | None = None) -> None:
        self.config = config
        self.variant = config.variant  # what the repository serves (`groomguard triton export` printed it)
        self.model_name = model_name
        self.input_names = list(input_names)
        self.output_name = output_name
        self.fallback = fallback
        self.client = TritonClient(config.url, config.protocol, model_name, config.timeout_s)
        self._health: tuple[float, BackendHealth] | None = None
        self._health_lock = threading.Lock()
        self._signature_checked = False

    @classmethod
    def from_config(cls, bundle: Bundle, engine_config: EngineConfig) -> TritonBackend:
        """Build from the bundle (tensor names, model name) and `engine.triton` settings."""
        tc = engine_config.triton
        fallback: Backend | None = None
        if tc.fallback_to_onnxruntime:
            from groomguard.serving.backends.onnxruntime import OnnxRuntimeBackend

            # CPU fallback: the variant Triton serves (its answers, not another variant's); fp16 and
            # fused-fp16 run as fp32 on a CPU (within the fp16 parity tolerance)
            variant: Variant = "int8" if tc.variant == "int8" else "fp32"
            sig = bundle.manifest.onnx
            fallback = OnnxRuntimeBackend(bundle.model_path(variant), ["CPUExecutionProvider"],
                                          engine_config.intra_op_threads, sig.inputs, sig.output,
                                          engine_config.intra_op_spinning)
        sig = bundle.manifest.onnx
        return cls(tc, tc.model_name or bundle.manifest.name, sig.inputs, sig.output, fallback)

    # -- inference -------------------------------------------------------------------------
    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        try:
            return self._infer_remote(input_ids, attention_mask)
        except BackendUnavailable:
            if self.fallback is None:
                raise
            FALLBACKS.inc()
            log.warning("triton unavailable; batch of %d scored by embedded onnxruntime", len(input_ids))
            return self.fallback.infer(input_ids, attention_mask)

    def _infer_remote(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        cfg = self.config
        last: BaseException | None = None
        for attempt in range(cfg.retries + 1):
            if attempt:
                RETRIES.inc()
                time.sleep(min(cfg.max_backoff_s, cfg.backoff_s * 2 ** (attempt - 1)))
            try:
                return self.client.infer(self.input_names, [input_ids, attention_mask], self.output_name)
            except Exception as exc:
                last = exc
                if not is_retryable(exc):
                    break
                if cfg.protocol == "http":
                    self.client.reset_thread_client()
        self._health = None  # the next readiness probe must ask the server again
        reason = _describe(last)
        raise BackendUnavailable(f"triton at {cfg.url} ({cfg.protocol}) model {self.model_name!r}: {reason}") from last

    # -- health ----------------------------------------------------------------------------
    def health(self) -> BackendHealth:
        """Live + model-ready probe with a short timeout, cached for `health_cache_s`."""
        now = time.monotonic()
        with self._health_lock:
            if self._health and now - self._health[0] < self.config.health_cache_s:
                return self._health[1]
            health = self._probe()
            self._health = (time.monotonic(), health)
            return health

    def _probe(self) -> BackendHealth:
        where = f"{self.config.protocol}://{self.config.url} model {self.model_name}"
        try:
            ready, detail = self.client.probe(self.config.health_timeout_s)
            if ready and not self._signature_checked:
                detail = self._check_signature() or detail
                ready = detail == "model ready"
        except Exception as exc:
            ready, detail = False, _describe(exc)
        if ready:
            return BackendHealth(True, self.name, f"{where}: ready")
        if self.fallback is not None:
            return BackendHealth(True, self.name, f"{where}: {detail}; degraded: falling back to embedded onnxruntime")
        return BackendHealth(False, self.name, f"{where}: {detail}")

    def _check_signature(self) -> str | None:
        """Once per backend: the served model must take our tensor names (else every request fails)."""
        meta = self.client.metadata()
        served_in = [t["name"] for t in meta.get("inputs", [])]
        served_out = [t["name"] for t in meta.get("outputs", [])]
        if sorted(served_in) != sorted(self.input_names) or self.output_name not in served_out:
            return (f"served tensors {served_in} -> {served_out} differ from bundle "
                    f"{self.input_names} -> {self.output_name}")
        served = self.client.config_parameters().get("groomguard_variant")
        if served is not None and served != self.variant:  # published by NVIDIA Triton from config.pbtxt
            return (f"the server serves variant {served}, engine.triton.variant says {self.variant}: re-export "
                    "or set engine.triton.variant to what was evaluated")
        self._signature_checked = True
        return None

    def close(self) -> None:
        self.client.close()
        if self.fallback is not None:
            self.fallback.close()


def _describe(exc: BaseException | None) -> str:
    """One line without payloads (tritonclient messages carry no request data)."""
    if exc is None:
        return "unknown error"
    from tritonclient.utils import InferenceServerException

    if isinstance(exc, InferenceServerException):
        status = exc.status() or "connection failed"
        return f"{status}: {str(exc.message())[:200]}"
    return f"{exc.__class__.__name__}: {str(exc)[:200]}"

