"""Temperature calibration and threshold selection, fitted on validation windows.

Calibration: risk = sigmoid((l1 - l0) / T) (exactly `groomguard.scores.risk_from_logits`); T
minimises the validation NLL. The NLL is convex in 1/T, so a golden-section search is exact enough.

Thresholds (on calibrated window risks, the unit the engine scores):
- ``review`` = the HIGHEST threshold whose recall on validation windows is >= the target recall
  (catch most grooming windows while queueing as few benign ones as possible);
- ``high`` = the LOWEST threshold whose precision is >= the target precision (the most recall that
  still keeps "high" trustworthy). When no threshold reaches it, ``high`` falls back to the
  threshold with the best precision among those keeping at least `min_tp` true positives, and the
  reason is recorded. ``high`` is never below ``review``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from groomguard.scores import Thresholds

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


@dataclass(frozen=True)
class OperatingPoint:
    threshold: float
    precision: float
    recall: float
    note: str = ""


@dataclass(frozen=True)
class ThresholdChoice:
    thresholds: Thresholds
    review: OperatingPoint
    high: OperatingPoint


def _point(risks: np.ndarray, labels: np.ndarray, t: float, note: str = "") -> OperatingPoint:
    flagged = risks >= t
    tp = int(np.sum(flagged & (labels == 1)))
    n_flag = int(np.sum(flagged))
    n_pos = int(np.sum(labels == 1))
    return OperatingPoint(float(t), tp / n_flag if n_flag else 1.0, tp / n_pos if n_pos else 0.0, note)


def select_thresholds(risks: np.ndarray, labels: np.ndarray, review_recall: float, high_precision: float,
                      min_tp: int = 5) -> ThresholdChoice:
    """Pick review/high thresholds for the targets (see module docstring for the rules)."""
    risks = np.asarray(risks, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    pos = np.sort(risks[labels == 1])[::-1]
    if pos.size == 0:
        review = _point(risks, labels, 0.5, "no positive validation windows; default 0.5")
    else:
        k = max(1, math.ceil(review_recall * pos.size))
        review = _point(risks, labels, float(pos[k - 1]))

    candidates = np.unique(risks)  # ascending
    high: OperatingPoint | None = None
    for t in candidates:
        p = _point(risks, labels, float(t))
        if p.recall > 0 and p.precision >= high_precision:
            high = p
            break
    if high is None:
        need = min(min_tp, max(1, pos.size))
        best: OperatingPoint | None = None
        for t in candidates:
            p = _point(risks, labels, float(t))
            if p.recall * pos.size >= need and (best is None or p.precision > best.precision):
                best = p
        base = best or review
        high = OperatingPoint(base.threshold, base.precision, base.recall,
                              f"target precision {high_precision} unreachable on validation; best precision used")
    if high.threshold < review.threshold:
        high = _point(risks, labels, review.threshold, "raised to the review threshold")
    return ThresholdChoice(Thresholds(review=review.threshold, high=high.threshold), review, high)
