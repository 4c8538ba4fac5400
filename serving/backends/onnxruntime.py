"""Embedded ONNX Runtime backend (CPU, CUDA or TensorRT providers).

I/O binding (`engine.io_binding`, issue 27): on a GPU provider a plain `session.run` takes numpy
feeds, and ONNX Runtime copies each to the device and the output back inside the call. With I/O
binding the inputs are placed on the session's device first (`OrtValue.ortvalue_from_numpy`), the
output is bound to that device and copied back once (`copy_outputs_to_cpu`): the same copies, made
explicit, and nothing allocated for feeds ORT would otherwise stage. `auto` turns it on where the
session really runs on CUDA or TensorRT; on the CPU it changes nothing but is exercised by the tests
(ONNX Runtime binds CPU OrtValues the same way). Whether it pays on a card is a GPU measurement
(`python -m benchmarks.gpu run`, rows "I/O binding on/off").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from groomguard.errors import BundleError
from groomguard.serving.backends.base import BackendHealth, BackendUnavailable

log = logging.getLogger(__name__)
GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")  # device memory: "cuda"


def preload_gpu_libraries(providers: Sequence[str]) -> None:
    """Load the CUDA/cuDNN libraries onnxruntime-gpu needs before a session asks for the CUDA provider
    (only when `providers` asks for a GPU provider this ONNX Runtime build has: nothing on a CPU build).

    The CUDA provider is dlopen'ed when the first session starts, and without its libraries on the
    loader path ONNX Runtime logs an error and silently runs on the CPU. PyTorch's CUDA build ships
    them (as NVIDIA's pip packages): importing torch first and then `onnxruntime.preload_dlls()`
    (ONNX Runtime >= 1.21) makes them resolvable, as the H100 run did (docs/performance.md). Best
    effort: whatever is missing leaves the fallback, which the provider actually used reports.
    """
    if not set(providers) & set(GPU_PROVIDERS) & set(ort.get_available_providers()):
        return
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        try:
            preload()
        except Exception as exc:  # a machine without the libraries: the session falls back and says so
            log.warning("onnxruntime.preload_dlls failed (%s): the CUDA provider may fall back to the CPU", exc)


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
        io_binding: str = "auto",
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
        if io_binding not in ("auto", "on", "off"):
            raise ValueError(f"io_binding must be auto, on or off, not {io_binding!r}")
        # decided on the provider the session got, like the variant: a GPU build without a GPU runs on the CPU
        self.io_binding = io_binding == "on" or (io_binding == "auto" and self.provider in GPU_PROVIDERS)
        self.device, self.device_id = self._device()
        log.info("onnxruntime session ready: model=%s provider=%s io_binding=%s", model_path.name, self.provider,
                 self.io_binding)

    def _device(self) -> tuple[str, int]:
        """Where the session's inputs live: ("cuda", its device_id) on CUDA/TensorRT, else ("cpu", 0)."""
        if self.provider not in GPU_PROVIDERS:
            return "cpu", 0
        options = self.session.get_provider_options().get(self.provider, {})
        return "cuda", int(options.get("device_id", 0) or 0)

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        try:
            if self.io_binding:
                logits = self._run_bound(input_ids, attention_mask)
            else:
                feeds = dict(zip(self.input_names, (input_ids, attention_mask), strict=True))
                (logits,) = self.session.run([self.output_name], feeds)
        except Exception as exc:  # ORT raises its own exception types; surface them uniformly
            raise BackendUnavailable(f"onnxruntime inference failed: {exc.__class__.__name__}") from exc
        return np.asarray(logits, dtype=np.float32)

    def _run_bound(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """One run through a fresh binding (bindings are not shared: calls come from several threads)."""
        binding = self.session.io_binding()
        # kept referenced until the run returns: on the CPU an OrtValue wraps the numpy buffer, no copy
        values = [ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(a), self.device, self.device_id)
                  for a in (input_ids, attention_mask)]
        for name, value in zip(self.input_names, values, strict=True):
            binding.bind_ortvalue_input(name, value)
        binding.bind_output(self.output_name, self.device, self.device_id)
        self.session.run_with_iobinding(binding)
        return np.asarray(binding.copy_outputs_to_cpu()[0])

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
