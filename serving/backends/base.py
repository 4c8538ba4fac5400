"""The backend interface the engine talks to (ONNX Runtime embedded, Triton remote, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class BackendUnavailable(RuntimeError):
    """The backend cannot serve right now (e.g. Triton is down); the API answers 503."""


@dataclass(frozen=True)
class BackendHealth:
    ok: bool
    backend: str  # "onnxruntime" | "triton" | ...
    detail: str  # e.g. the execution provider actually in use, or why it is unhealthy


class Backend(Protocol):
    """Runs the exported classifier. Inputs are right-padded int64 arrays of equal shape."""

    name: str

    def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Return float32 logits of shape [batch, 2]. Raises BackendUnavailable when it cannot."""
        ...

    def health(self) -> BackendHealth: ...

    def close(self) -> None: ...
