"""Embedded OpenVINO backend: the bundle's fp32 ONNX graph at bf16 inference precision (variant `bf16`).

Why a second CPU runtime: on CPUs with native bf16 matrix units (Intel AMX, AVX512-BF16) OpenVINO's
CPU plugin runs the matrix multiplications in bf16 while keeping fp32 accumulation, about 2-4x
ONNX Runtime's fp32 on the same cores, with risks within 0.01 of fp32 on the demo model
(docs/performance.md). ONNX Runtime's CPU provider has no bf16 kernels on x86. The graph is the
same model.onnx the fp32 variant runs, so there is no second export to drift from it.

Why one thread per stream (issue 22 item 4): the backend used to keep a pool of infer requests that
any calling thread took and ran synchronously, so a request hopped between threads, short-lived
threads (a thread pool per `run_batches` call, the readiness probe) entered OpenVINO's per-thread
stream state, and as many requests ran at once as there were callers. One `groomguard score` run
at two streams froze with both batch threads inside `InferRequest.infer` -> `update_inputs` (the
Python-side shape change, run while holding the GIL) and never recovered. Now each stream has one
infer request owned by one long-lived thread for the backend's life; callers hand their batch over
and wait for that thread's answer. At most `streams` calls run (what the model was compiled for),
a request is only ever touched by its own thread, and no thread that OpenVINO has seen comes and
goes. `AsyncInferQueue` was not chosen: its completion callbacks take the GIL on OpenVINO's own
threads, the pattern behind the deadlocks reported against it (openvinotoolkit/openvino#37073, GIL
in its destructor; ultralytics#25921 left it after CI hangs with dynamic batch shapes).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.errors import BundleError, ConfigError
from groomguard.serving.backends.base import BackendHealth, BackendUnavailable

log = logging.getLogger(__name__)

_STOP_WAIT_S = 5.0  # how long close() / exit waits for the stream threads to finish their calls (a batch: < 1 s)


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


@dataclass
class _Job:
    """One caller's batch, handed to a stream's thread; the answer (or error) comes back in `future`."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    future: Future[np.ndarray] = field(default_factory=Future)


def _serve(jobs: queue.SimpleQueue[_Job | None], request: Any, input_names: list[str], output: Any) -> None:
    """One stream's thread: runs the jobs it takes on its own infer request until told to stop (None)."""
    while (job := jobs.get()) is not None:
        if not job.future.set_running_or_notify_cancel():
            continue
        try:
            result = request.infer(dict(zip(input_names, (job.input_ids, job.attention_mask), strict=True)))
            # A copy: the request reuses its output buffer on its next call.
            job.future.set_result(np.array(result[output], dtype=np.float32))
        except RuntimeError as exc:
            job.future.set_exception(BackendUnavailable(f"openvino inference failed: {exc.__class__.__name__}"))
        except BaseException as exc:  # the caller gets it; this stream's thread stays up
            job.future.set_exception(exc)


class _Streams:
    """The stream threads and their job queue, kept apart from the backend so that neither the
    threads nor the exit hook keep the backend alive.

    Why `stop` waits, and on which thread: a stream thread that ends during interpreter shutdown
    drops its infer request there; the request's destructor releases and re-takes the GIL
    (openvinotoolkit/openvino#24722), Python ends a daemon thread that re-takes it while finalizing,
    and unwinding a C++ destructor that way aborts the process (our reading of "terminate called
    without an active exception" at 3 exits of benchmarks/openvino_stress.py while stream threads
    were left to exit late; none in the 34 runs since). So the threads are stopped and joined by
    close(), or by an `atexit` hook on the main thread, while the interpreter still runs them;
    garbage collection only signals (it may run on any thread, and must not block it). The wait is
    bounded: a thread stuck in a call never ends, and must not turn shutdown into the hang it reports."""

    def __init__(self, jobs: queue.SimpleQueue[_Job | None], threads: list[threading.Thread]) -> None:
        self.jobs = jobs
        self.threads = threads
        self._lock = threading.Lock()
        self._signalled = False

    def stop(self, wait_s: float) -> None:
        """Stop every thread once the jobs already queued are done (FIFO: they come first); wait up to
        `wait_s` in all for them to end. Idempotent."""
        with self._lock:
            if not self._signalled:
                self._signalled = True
                for _ in self.threads:
                    self.jobs.put(None)
        deadline = time.monotonic() + wait_s
        for t in self.threads:
            if t is not threading.current_thread() and t.ident is not None:
                t.join(max(0.0, deadline - time.monotonic()))


class OpenVinoBackend:
    """One compiled model; `streams` threads, each owning one infer request, serve `infer` calls made
    from any number of threads (each caller gets the logits of its own batch)."""

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
        self.streams = streams
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()  # makes "not closed, then enqueue" atomic with close()'s sentinels
        # Requests are created here, on the constructing thread, before any stream thread runs: none
        # is created while another infers. The threads hold no reference to `self`, so a backend
        # dropped without close() is still collected (and its threads then told to stop).
        stream_threads = [threading.Thread(target=_serve, name=f"groomguard-openvino-{i}", daemon=True,
                                           args=(self._jobs, self.compiled.create_infer_request(),
                                                 list(self.input_names), self.output))
                          for i in range(streams)]
        self._streams = _Streams(self._jobs, stream_threads)
        for t in stream_threads:
            t.start()
        weakref.finalize(self, self._streams.stop, 0.0)
        atexit.register(self._streams.stop, _STOP_WAIT_S)
        log.info("openvino model ready: model=%s precision=%s streams=%d", model_path.name, precision, streams)

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Logits for one padded batch, computed by whichever stream's thread is free first.

        Blocks until that thread answers. The wait has no timeout here on purpose: the callers that
        own a deadline (run_batches, the micro-batcher, the readiness probe) apply
        `engine.infer_timeout_s` and report a stuck call; the thread itself cannot be interrupted."""
        job = _Job(input_ids, attention_mask)
        with self._lock:
            if self._closed:
                raise BackendUnavailable("openvino backend is closed")
            self._jobs.put(job)
        return job.future.result()

    def health(self) -> BackendHealth:
        return BackendHealth(ok=True, backend=self.name, detail=self.provider)

    def close(self) -> None:
        """Stop the stream threads once the calls already handed over are done (waiting at most
        `_STOP_WAIT_S` for them: a thread stuck in a call must not block shutdown); later calls get
        BackendUnavailable."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._streams.stop(_STOP_WAIT_S)
        atexit.unregister(self._streams.stop)  # done: nothing left for exit to wait for
