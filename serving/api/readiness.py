"""Readiness: is this replica able to do its job right now (`GET /readyz`)?

Ready means all three hold: the backend reports healthy, the model answers a one-window inference
(run at start-up, so a bundle whose ONNX loads but cannot score never reports ready), and the store
takes a committed write (`Store.probe_write`: a reachable but read-only, full or vanished database
is not ready). The model and store probes cost real work, so their result is cached for
`readiness.check_interval_s`; orchestrators probing every second do not turn into a write load.
Failures are not cached (see `Readiness.check`). A stuck model call (issue 22) makes the replica not
ready: the micro-batcher reports it (`backend_ok` false), and the probe inference itself is given
`engine.infer_timeout_s`, so /readyz answers instead of hanging with the model.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import numpy as np

from groomguard.errors import GroomguardError
from groomguard.schema import Message
from groomguard.serving.engine import ScoringEngine
from groomguard.serving.store import Store

log = logging.getLogger(__name__)

# A fixed, harmless probe message: one window of a few tokens.
_PROBE = [Message(author="probe", text="readiness probe")]


class ModelProbeFailed(GroomguardError):
    """The model did not produce one valid risk for one window."""


@dataclass(frozen=True)
class ProbeResult:
    store_ok: bool
    model_ok: bool
    checked_at: float  # time.monotonic()


def start_probe(engine: ScoringEngine) -> Future[np.ndarray]:
    """Start the one-window test inference; its risks (or error) arrive in the returned future.

    With `engine.infer_timeout_s` set it runs on a daemon thread, so the caller can stop waiting
    for a stuck backend (a thread stuck in native code cannot be interrupted, only left behind)."""
    done: Future[np.ndarray] = Future()

    def run() -> None:
        try:
            window = engine.windower.newest_window(_PROBE).input_ids
            done.set_result(engine.infer_batch([window]))
        except BaseException as exc:  # reported by check_probe
            done.set_exception(exc)

    if engine.infer_timeout_s is None:
        run()
    else:
        threading.Thread(target=run, name="groomguard-model-probe", daemon=True).start()
    return done


def check_probe(probe: Future[np.ndarray], timeout_s: float | None) -> None:
    """Raise ModelProbeFailed unless the probe gives one risk in [0, 1] within `timeout_s`."""
    try:
        risks = probe.result(timeout=timeout_s)
    except FutureTimeout:
        raise ModelProbeFailed(f"one-window test inference did not return within {timeout_s:g} s "
                               "(engine.infer_timeout_s)") from None
    except Exception as exc:  # any failure of the model path is "not ready"; the class name says which
        raise ModelProbeFailed(f"one-window test inference failed: {exc.__class__.__name__}") from None
    if len(risks) != 1 or not math.isfinite(float(risks[0])) or not 0.0 <= float(risks[0]) <= 1.0:
        raise ModelProbeFailed("one-window test inference returned no valid risk")


def probe_model(engine: ScoringEngine) -> None:
    """Score one window through the engine; raise ModelProbeFailed unless one risk in [0, 1] comes back
    within `engine.infer_timeout_s`.

    Catches what a hash check cannot: an ONNX graph that loads but fails at run time, a wrong output
    name, a tokenizer that produces ids outside the embedding table, a backend that never answers.
    """
    check_probe(start_probe(engine), engine.infer_timeout_s)


class Readiness:
    """Cached store-write and model probes; thread-safe (readyz runs in the thread pool)."""

    def __init__(self, engine: ScoringEngine, store: Store, interval_s: float) -> None:
        self.engine = engine
        self.store = store
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._last: ProbeResult | None = None
        self._probe: Future[np.ndarray] | None = None  # the last probe inference, maybe still running

    def check(self, backend_ok: bool = True) -> ProbeResult:
        """A fresh result, or the last one when it was all-good and younger than `interval_s`.

        Only successes are cached, so a replica comes back as soon as the fault clears; a backend
        that already reports unhealthy is not sent a probe inference (it would only time out).
        """
        with self._lock:
            now = time.monotonic()
            last = self._last
            if backend_ok and last is not None and now - last.checked_at < self.interval_s:
                return last
            result = ProbeResult(self._store_ok(), backend_ok and self._model_ok(), now)
            self._last = result if result.store_ok and result.model_ok else None
            return result

    def _store_ok(self) -> bool:
        try:
            self.store.probe_write()
            return True
        except GroomguardError as exc:
            log.warning("readiness: %s", exc)
            return False

    def _model_ok(self) -> bool:
        # A probe still stuck in the backend is not joined by another: each would be one more thread
        # left waiting in a model that does not answer, one per /readyz call.
        if self._probe is not None and not self._probe.done():
            log.warning("readiness: the last one-window test inference has still not returned")
            return False
        try:
            self._probe = start_probe(self.engine)
            check_probe(self._probe, self.engine.infer_timeout_s)
            return True
        except ModelProbeFailed as exc:
            log.warning("readiness: %s", exc)
            return False
