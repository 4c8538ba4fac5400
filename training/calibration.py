"""Temperature calibration, fitted on validation windows (real chat included when the mix has it).

risk = sigmoid((l1 - l0) / T) (exactly `groomguard.scores.risk_from_logits`); T minimises the
validation NLL. The NLL is convex in 1/T, so a golden-section search is exact enough. Thresholds
are chosen afterwards at conversation level by `evaluation.thresholds.select_operating_points`.
"""

from __future__ import annotations

import math

import numpy as np

T_MIN, T_MAX = 0.02, 50.0


def _margins(logits: np.ndarray, positive_index: int = 1) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[1] != 2:
        raise ValueError(f"expected logits of shape [n, 2], got {list(logits.shape)}")
    return logits[:, positive_index] - logits[:, 1 - positive_index]


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of binary labels under temperature-scaled logits (stable)."""
    m = _margins(logits) / temperature
    signed = np.where(np.asarray(labels) == 1, m, -m)
    return float(np.mean(np.logaddexp(0.0, -signed)))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, iters: int = 80) -> float:
    """T minimising validation NLL, searched over 1/T in [1/T_MAX, 1/T_MIN]."""
    labels = np.asarray(labels)
    if labels.size == 0 or len(set(labels.tolist())) < 2:
        return 1.0  # nothing to calibrate against; identity keeps raw probabilities
    lo, hi = 1.0 / T_MAX, 1.0 / T_MIN
    phi = (math.sqrt(5) - 1) / 2
    a, b = lo + (1 - phi) * (hi - lo), lo + phi * (hi - lo)
    fa, fb = nll(logits, labels, 1 / a), nll(logits, labels, 1 / b)
    for _ in range(iters):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = lo + (1 - phi) * (hi - lo)
            fa = nll(logits, labels, 1 / a)
        else:
            lo, a, fa = a, b, fb
            b = lo + phi * (hi - lo)
            fb = nll(logits, labels, 1 / b)
    return float(1.0 / ((lo + hi) / 2))
