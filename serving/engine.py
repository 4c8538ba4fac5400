"""Scoring engine: windows -> padded batches -> backend -> calibrated risks.

The engine is synchronous and thread-safe; the HTTP layer puts a micro-batcher in front of
`score_windows`. Windowing comes from the bundle (groomguard.windowing), so serving renders
exactly what training saw.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from groomguard.batching import run_batches
from groomguard.bundle import Bundle, Variant
from groomguard.schema import Conversation
from groomguard.scores import Level, Thresholds, level_for, risk_from_logits
from groomguard.serving.backends.base import Backend
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.variant_choice import CPU, choose_variant, first_provider
from groomguard.window_plan import WindowPlan
from groomguard.windowing import Windower, pad_batch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConversationScore:
    conversation_id: str
    risk: float  # max over the conversation
    level: Level
    risk_by_message: list[float]
    model: str
    variant: str  # the bundle variant that scored it (engine.variant `auto` resolved): fp32, bf16, int8, ...

    def record(self) -> dict[str, Any]:
        """The output record: `groomguard score` lines (local and Ray) and the MLflow model's rows."""
        return asdict(self)

    def to_json(self) -> str:
        """One output line of `groomguard score` (local and Ray engines write exactly this)."""
        return json.dumps(self.record())


class ScoringEngine:
    def __init__(
        self,
        bundle: Bundle,
        backend: Backend,
        max_batch_size: int = 32,
        thresholds: Thresholds | None = None,
        streams: int = 1,
        infer_timeout_s: float | None = None,
    ) -> None:
        self.bundle = bundle
        self.backend = backend
        self.max_batch_size = max_batch_size
        self.streams = streams  # batches in flight at once (engine.streams)
        self.infer_timeout_s = infer_timeout_s  # a batch not back by then is an error (engine.infer_timeout_s)
        self.windower: Windower = bundle.windower()
        self.thresholds = thresholds or bundle.manifest.thresholds
        self.temperature = bundle.manifest.calibration.temperature
        self.bias = bundle.manifest.calibration.bias
        self.positive_index = bundle.manifest.onnx.positive_index
        self.model_ref = bundle.manifest.model_ref
        # The lexical head (if the bundle has one) is combined here, before calibration, so every path
        # through the engine (score, appends, the Triton gateway, Ray, evaluation) serves the same risk.
        self.hybrid = bundle.hybrid()

    def infer_batch(self, windows: Sequence[Sequence[int]]) -> np.ndarray:
        """One backend call on one padded batch; returns calibrated risks."""
        batch = pad_batch(windows, self.windower.pad_id)
        return self._outputs(batch.input_ids, batch.attention_mask)[:, 0]

    def _outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """[batch, 3]: the served risk, then its parts in log-odds: the transformer's margin (scaled by
        its own temperature) and the lexical head's margin (NaN when the bundle has no head). The parts
        cost nothing extra: they are the two terms the served risk is computed from."""
        logits = np.asarray(self.backend.infer(input_ids, attention_mask), dtype=np.float64)
        out = np.full((len(logits), 3), np.nan)
        if self.hybrid is not None:
            lexical = self.hybrid.head.margins(input_ids, attention_mask)
            out[:, 1], out[:, 2] = self.hybrid.transformer_part(logits), lexical
            logits = self.hybrid.combine(logits, lexical)
        else:
            out[:, 1] = (logits[:, self.positive_index] - logits[:, 1 - self.positive_index]) / self.temperature
        out[:, 0] = risk_from_logits(logits, self.temperature, self.positive_index, self.bias)
        return out

    def score_windows(
        self, windows: Sequence[Sequence[int]], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Risks for many windows. Sorted by length so each batch pads to similar lengths."""
        return self.score_window_parts(windows, progress)[:, 0]

    def score_window_parts(
        self, windows: Sequence[Sequence[int]], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """[windows, 3]: risk, transformer part, lexical part (`_outputs`), in the windows' order."""
        if not windows:
            return np.zeros((0, 3))
        return run_batches(windows, self.windower.pad_id, self.max_batch_size,
                           lambda b: self._outputs(b.input_ids, b.attention_mask), progress=progress,
                           concurrency=self.streams, timeout_s=self.infer_timeout_s)

    def level(self, risk: float) -> Level:
        return level_for(risk, self.thresholds)

    def score_conversations(
        self, conversations: Sequence[Conversation], stride: int = 1, progress: Callable[[int], None] | None = None
    ) -> list[ConversationScore]:
        """Score every prefix window (stride 1 = after every message) of each conversation."""
        plan = WindowPlan.of(self.windower, conversations, stride)
        by_message = plan.by_message(self.score_windows(plan.windows, progress))
        out = []
        for conv, by_msg in zip(conversations, by_message, strict=True):
            overall = max(by_msg)
            out.append(ConversationScore(conv.conversation_id, overall, self.level(overall), by_msg, self.model_ref,
                                         self.variant))
        return out

    def health(self) -> dict[str, object]:
        h = self.backend.health()
        return {"ok": h.ok, "backend": h.backend, "detail": h.detail, "model": self.model_ref,
                "variant": self.variant}

    @property
    def variant(self) -> str:
        """The bundle variant actually served (`auto` resolved); "" for a remote backend that does not say."""
        return str(getattr(self.backend, "variant", ""))

    def close(self) -> None:
        self.backend.close()


def build_backend(bundle: Bundle, config: EngineConfig) -> Backend:
    """Construct the configured backend for a bundle (`variant: auto` resolved for the provider in use).

    The variant served is set as `backend.variant` (reports and /readyz name it, not "auto")."""
    sig = bundle.manifest.onnx
    if config.backend == "onnxruntime":
        from groomguard.serving.backends.onnxruntime import OnnxRuntimeBackend
        from groomguard.serving.backends.openvino import OpenVinoBackend, native_bf16

        def load(variant: Variant) -> OnnxRuntimeBackend | OpenVinoBackend:
            backend: OnnxRuntimeBackend | OpenVinoBackend
            if variant == "bf16":  # the same model.onnx, run by OpenVINO at bf16 precision
                backend = OpenVinoBackend(bundle.model_path(variant), "bf16", config.intra_op_threads,
                                          sig.inputs, sig.output, config.openvino_shape_cache, config.streams)
            else:
                backend = OnnxRuntimeBackend(bundle.model_path(variant), config.providers, config.intra_op_threads,
                                             sig.inputs, sig.output, config.intra_op_spinning, config.io_binding)
            backend.variant = variant
            return backend

        if config.variant != "auto":
            return load(config.variant)
        import onnxruntime as ort

        provider = first_provider(config.providers, ort.get_available_providers())
        variant = choose_variant(bundle.manifest, provider, config.auto_max_delta_prob,
                                 provider == CPU and native_bf16())
        backend = load(variant)
        # a GPU build without a usable GPU falls back to CPU silently (bf16 is only ever chosen on CPU)
        if isinstance(backend, OnnxRuntimeBackend) and backend.provider != provider:
            actual = choose_variant(bundle.manifest, backend.provider, config.auto_max_delta_prob,
                                    backend.provider == CPU and native_bf16())
            if actual != variant:
                variant, backend = actual, load(actual)
        log.info("engine.variant auto -> %s on %s", variant, backend.provider)
        return backend
    if config.backend == "triton":
        from groomguard.serving.backends.triton import TritonBackend  # provided by the Triton integration

        return TritonBackend.from_config(bundle, config)
    raise ValueError(f"unknown backend {config.backend!r}")


def build_engine(bundle_dir: str, config: EngineConfig, thresholds: Thresholds | None = None) -> ScoringEngine:
    bundle = Bundle.load(bundle_dir)
    return ScoringEngine(bundle, build_backend(bundle, config), config.max_batch_size, thresholds, config.streams,
                         config.infer_timeout_s)
