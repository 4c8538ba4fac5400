"""Inference backends. Each takes padded int64 token batches and returns [batch, 2] float logits."""

from groomguard.serving.backends.base import Backend, BackendHealth, BackendUnavailable

__all__ = ["Backend", "BackendHealth", "BackendUnavailable"]
