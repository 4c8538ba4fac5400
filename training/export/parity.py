"""The export's parity gate: an exported graph must reproduce the PyTorch model it came from.

Reference: PyTorch, each window alone (no padding). Candidate: ONNX Runtime on right-padded batches
of mixed lengths, the way serving batches. The windows are held-out windows spread over the length
range (`held_out_parity_windows`); the fp16 GPU variant checks against the fp32 graph instead, on
generated windows (training/export/fp16.py `generated_parity_windows`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.batching import run_batches
from groomguard.errors import GroomguardError
from groomguard.scores import risk_from_logits
from groomguard.serving.backends.onnxruntime import open_session


class ExportError(GroomguardError):
    """The exported graph does not reproduce the PyTorch model (or export failed)."""


def held_out_parity_windows(windows: Sequence[Sequence[int]], n: int, seed: int) -> list[list[int]]:
    """n windows spread over the length range, shuffled so padded batches mix lengths."""
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
    if not order:
        raise ExportError("no held-out windows for the parity check")
    picks = sorted({order[round(j * (len(order) - 1) / max(1, n - 1))] for j in range(min(n, len(order)))})
    chosen = [list(windows[i]) for i in picks]
    random.Random(seed).shuffle(chosen)
    return chosen


def torch_probs_unpadded(model: Any, windows: Sequence[Sequence[int]]) -> np.ndarray:
    """Positive-class probability per window, each run alone (the padding-free reference)."""
    import torch

    out = []
    with torch.no_grad():
        for w in windows:
            ids = torch.tensor([list(w)], dtype=torch.long)
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.double().numpy()
            out.append(risk_from_logits(logits)[0])
    return np.asarray(out)


def ort_logits(session: Any, windows: Sequence[Sequence[int]], pad_id: int, batch_size: int = 32,
               sort: bool = True, progress: Any = None) -> np.ndarray:
    """Logits for windows in right-padded batches (sorted by length unless `sort` is False)."""
    if not windows:
        return np.zeros((0, 2), dtype=np.float64)
    return run_batches(windows, pad_id, batch_size, lambda b: session.run(
        None, {"input_ids": b.input_ids, "attention_mask": b.attention_mask})[0], sort=sort, progress=progress)


def check_parity(model: Any, onnx_path: Path, windows: Sequence[Sequence[int]], pad_id: int, tolerance: float,
                 batch_size: int = 8) -> float:
    """Max |Δ probability| between PyTorch (unpadded) and ONNX Runtime (mixed-length padded batches).

    Raises ExportError above `tolerance`.
    """
    model.eval()
    ref = torch_probs_unpadded(model, windows)
    got = risk_from_logits(ort_logits(open_session(onnx_path), windows, pad_id, batch_size, sort=False))
    delta = float(np.max(np.abs(ref - got)))
    if not np.isfinite(delta) or delta > tolerance:
        raise ExportError(
            f"{onnx_path}: ONNX parity check failed: max |Δ probability| {delta:.3g} > {tolerance:g} over "
            f"{len(windows)} held-out windows of mixed lengths; the bundle was not written"
        )
    return delta
