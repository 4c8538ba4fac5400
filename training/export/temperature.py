"""Calibration, fitted on validation windows (real chat included when the mix has it).

risk = sigmoid((l1 - l0) / T + b) (exactly `groomguard.scores.risk_from_logits`).
- temperature scaling: b = 0, T minimises the validation NLL (convex in 1/T: golden-section search);
- Platt scaling: (1/T, b) minimise the NLL of a one-feature logistic regression on the margin
  (convex: Newton's method with backtracking, started from the temperature solution). A bias lets
  the calibrator correct a model that is systematically too sure on one class — e.g. real benign
  chat scored higher than its base rate — which a temperature alone cannot.
Thresholds are chosen afterwards at conversation level by `groomguard.evaluation.thresholds.select_operating_points`;
a monotone calibrator changes risk values, not which conversations a chosen operating point flags.
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


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float, bias: float = 0.0) -> float:
    """Mean negative log-likelihood of binary labels under calibrated logits (stable)."""
    m = _margins(logits) / temperature + bias
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


def fit_platt(logits: np.ndarray, labels: np.ndarray, iters: int = 100,
              start_temperature: float | None = None) -> tuple[float, float]:
    """(T, bias) minimising validation NLL of sigmoid(margin / T + bias); T kept in [T_MIN, T_MAX].

    Starts from the temperature-only fit (`start_temperature` when the caller already has it)."""
    y = np.asarray(labels, dtype=np.float64)
    if y.size == 0 or len(set(y.tolist())) < 2:
        return 1.0, 0.0
    m = _margins(logits)
    a, b = 1.0 / (start_temperature or fit_temperature(logits, labels)), 0.0

    def loss(a_: float, b_: float) -> float:
        z = a_ * m + b_
        return float(np.mean(np.logaddexp(0.0, z) - y * z))

    current = loss(a, b)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(a * m + b)))
        w = p * (1.0 - p)
        grad = np.array([np.mean((p - y) * m), np.mean(p - y)])
        hess = np.array([[np.mean(w * m * m), np.mean(w * m)], [np.mean(w * m), np.mean(w)]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-6:  # backtracking: Newton steps may overshoot on separable data
            na, nb = a - scale * step[0], b - scale * step[1]
            if 1.0 / T_MAX <= na <= 1.0 / T_MIN and loss(na, nb) <= current:
                break
            scale /= 2
        else:
            break
        a, b = na, nb
        new = loss(a, b)
        if current - new < 1e-12:
            current = new
            break
        current = new
    return float(1.0 / a), float(b)


def calibrate(logits: np.ndarray, labels: np.ndarray, method: str) -> tuple[float, float, float]:
    """(T, bias, T of the temperature-only fit) for `export.calibration` ("platt" or "temperature"):
    the export's calibration, in one place for the export and the hybrid ablation."""
    t_only = fit_temperature(logits, labels)
    if method == "platt":
        temperature, bias = fit_platt(logits, labels, start_temperature=t_only)
        return temperature, bias, t_only
    return t_only, 0.0, t_only
