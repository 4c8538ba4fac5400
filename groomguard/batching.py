"""The one sort-by-length / pad / run loop (training export, fp16 parity, serving engine, benchmarks).

Why one: the three copies differed in small ways (output dtype, when progress was reported), and
throughput numbers are only comparable when every path batches the same way. Windows are sorted by
length (unless the caller needs its own order, e.g. the export parity check mixes lengths on
purpose) so each right-padded batch pads to similar lengths; results come back in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np

from groomguard.windowing import Batch, pad_batch

BatchFn = Callable[[Batch], np.ndarray]


def run_batches(windows: Sequence[Sequence[int]], pad_id: int, batch_size: int, infer: BatchFn, *,
                sort: bool = True, progress: Callable[[int], None] | None = None, concurrency: int = 1) -> np.ndarray:
    """Apply `infer` to right-padded batches of `windows`; row i of the result belongs to window i.

    `infer` returns one row (or scalar) per window of the batch; the result is float64 with the
    per-window shape of the first batch's answer. An empty `windows` gives an empty float64 array.
    `concurrency` > 1 keeps that many batches in flight (threads), for backends that run several
    calls in parallel (OpenVINO streams, `engine.streams`); the result does not depend on it.
    """
    if batch_size < 1 or concurrency < 1:
        raise ValueError("batch_size and concurrency must be at least 1")
    order = sorted(range(len(windows)), key=lambda i: len(windows[i])) if sort else list(range(len(windows)))
    chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

    def one(idx: list[int]) -> np.ndarray:
        got = np.asarray(infer(pad_batch([windows[i] for i in idx], pad_id)), dtype=np.float64)
        if got.shape[:1] != (len(idx),):
            raise ValueError(f"batch function returned {got.shape[:1]} rows for a batch of {len(idx)}")
        return got

    out: np.ndarray | None = None
    # Sequential: the built-in lazy map keeps one batch in memory at a time.
    with ThreadPoolExecutor(concurrency) if concurrency > 1 else nullcontext() as pool:
        for idx, got in zip(chunks, (pool.map if pool else map)(one, chunks), strict=True):
            if out is None:
                out = np.zeros((len(windows), *got.shape[1:]), dtype=np.float64)
            out[idx] = got
            if progress is not None:
                progress(len(idx))
    return out if out is not None else np.zeros(0, dtype=np.float64)
