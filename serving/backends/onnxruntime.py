"""Embedded ONNX Runtime backend (CPU, CUDA or TensorRT providers)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from groomguard.errors import BundleError
from groomguard.serving.backends.base import BackendHealth, BackendUnavailable

log = logging.getLogger(__name__)


def open_session(model_path: Path, providers: Sequence[str] = ("CPUExecutionProvider",), *, threads: int = 0,
                 spinning: bool | None = None) -> ort.InferenceSession:
    """The one way this project opens an ONNX Runtime session (serving, export, parity checks, Triton).

    Providers the installed ONNX Runtime lacks are dropped and the CPU provider is always last, so a
    GPU config runs (on CPU) where no GPU is; `threads` 0 lets ORT choose; `spinning` None keeps ORT's
    default (busy-wait on, good for a one-off batch job), False turns it off for a server sharing cores.
    """
    available = set(ort.get_available_providers())
    wanted = [p for p in providers if p in available] or ["CPUExecutionProvider"]
    if "CPUExecutionProvider" not in wanted:
        wanted.append("CPUExecutionProvider")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # ORT's own warnings (e.g. unused initialisers) are noise here
    if threads:
        opts.intra_op_num_threads = threads
    if spinning is not None:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return ort.InferenceSession(str(model_path), sess_options=opts, providers=wanted)


class OnnxRuntimeBackend:
    """One InferenceSession; ORT sessions are thread-safe for concurrent `run` calls."""

    name = "onnxruntime"
    variant = "fp32"  # the bundle variant whose file this session runs (set by build_backend)

    def __init__(
        self,
        model_path: Path,
        providers: Sequence[str] = ("CPUExecutionProvider",),
        intra_op_threads: int = 0,
        input_names: Sequence[str] = ("input_ids", "attention_mask"),
        output_name: str = "logits",
        spinning: bool = False,
    ) -> None:
        try:
            self.session = open_session(model_path, providers, threads=intra_op_threads, spinning=spinning)
        except Exception as exc:  # ORT's own exception types (InvalidProtobuf, Fail, ...)
            raise BundleError(f"{model_path}: ONNX Runtime cannot load it ({exc.__class__.__name__}); "
                              "re-export the bundle") from None
        _check_names(model_path, [i.name for i in self.session.get_inputs()], list(input_names), "input", "onnx.inputs")
        _check_names(model_path, [o.name for o in self.session.get_outputs()], [output_name], "output", "onnx.output")
        # onnxruntime-gpu lists CUDA/TensorRT as available even without a GPU and silently falls
        # back to CPU: the provider in use is what the session reports, not what we asked for.
        self.provider = self.session.get_providers()[0]
        self.model_path = model_path  # which variant's file this session runs (engine.variant auto)
        self.input_names = list(input_names)
        self.output_name = output_name
        log.info("onnxruntime session ready: model=%s provider=%s", model_path.name, self.provider)

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = dict(zip(self.input_names, (input_ids, attention_mask), strict=True))
        try:
            (logits,) = self.session.run([self.output_name], feeds)
        except Exception as exc:  # ORT raises its own exception types; surface them uniformly
            raise BackendUnavailable(f"onnxruntime inference failed: {exc.__class__.__name__}") from exc
        return np.asarray(logits, dtype=np.float32)

    def health(self) -> BackendHealth:
        return BackendHealth(ok=True, backend=self.name, detail=self.provider)

    def close(self) -> None:
        return None


def _check_names(model_path: Path, present: list[str], wanted: list[str], kind: str, field: str) -> None:
    """The manifest's tensor names must exist in the graph: caught at load, not at the first score."""
    missing = [n for n in wanted if n not in present]
    if missing:
        raise BundleError(f"{model_path}: the model has no {kind} named {', '.join(map(repr, missing))} "
                          f"(it has {', '.join(map(repr, present))}); bundle.json {field} disagrees")
