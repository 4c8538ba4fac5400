"""Classification metrics. Pure numpy so they run in any install and are easy to check by hand.

Conventions used throughout: a score `>= threshold` is an alert (the same rule as `level_for`);
ties in scores are grouped, never broken by input order; empty input, mismatched lengths and
(where a metric needs both) a single class raise `MetricError` with a message saying which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from groomguard.errors import GroomguardError

Labels = Sequence[int] | np.ndarray
Scores = Sequence[float] | np.ndarray


class MetricError(GroomguardError, ValueError):
    """A metric asked of data that cannot define it (empty, one class, ragged)."""


def _arrays(name: str, labels: Labels, scores: Scores,
            need_both: bool = True) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=np.int64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.size == 0:
        raise MetricError(f"{name}: empty input")
    if y.shape != s.shape:
        raise MetricError(f"{name}: labels and scores differ in length ({y.size} vs {s.size})")
    if not np.isin(y, (0, 1)).all():
        raise MetricError(f"{name}: labels must be 0 or 1")
    if np.isnan(s).any():
        raise MetricError(f"{name}: scores contain NaN")
    if need_both and (y.min() == y.max()):
        raise MetricError(f"{name}: needs both classes (all labels are {int(y[0])})")
    return y, s


def roc_auc(labels: Labels, scores: Scores) -> float:
    """Area under the ROC curve via the Mann-Whitney statistic (ties count one half)."""
    y, s = _arrays("roc_auc", labels, scores)
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    # average 1-based rank of each distinct value: ranks before it + (count + 1) / 2
    starts = np.cumsum(counts) - counts
    ranks = (starts + (counts + 1) / 2.0)[inverse]
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


@dataclass(frozen=True)
class Curve:
    """Cumulative counts at each distinct threshold, highest threshold first."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    n_pos: int
    n_neg: int


def threshold_counts(labels: Labels, scores: Scores,
                     need_both: bool = True) -> Curve:
    """TP/FP when alerting at `score >= t` for every distinct score t (tied scores move together)."""
    y, s = _arrays("threshold_counts", labels, scores, need_both=need_both)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_group = np.r_[np.nonzero(np.diff(s_sorted))[0], s_sorted.size - 1]
    tp = np.cumsum(y_sorted)[last_of_group]
    fp = (last_of_group + 1) - tp
    n_pos = int(y.sum())
    return Curve(s_sorted[last_of_group], tp.astype(np.int64), fp.astype(np.int64), n_pos, y.size - n_pos)


def roc_curve(labels: Labels, scores: Scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) starting at (0, 0) with threshold +inf."""
    c = threshold_counts(labels, scores)
    fpr = np.r_[0.0, c.fp / c.n_neg]
    tpr = np.r_[0.0, c.tp / c.n_pos]
    return fpr, tpr, np.r_[np.inf, c.thresholds]


def pr_curve(labels: Labels, scores: Scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds), highest threshold first; needs at least one positive."""
    c = threshold_counts(labels, scores, need_both=False)
    if c.n_pos == 0:
        raise MetricError("pr_curve: needs at least one positive")
    precision = c.tp / (c.tp + c.fp)
    recall = c.tp / c.n_pos
    return precision, recall, c.thresholds


def average_precision(labels: Labels, scores: Scores) -> float:
    """PR-AUC as average precision: sum over thresholds of (R_n - R_{n-1}) * P_n (no interpolation)."""
    precision, recall, _ = pr_curve(labels, scores)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


@dataclass(frozen=True)
class Confusion:
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn


def confusion_at(labels: Labels, scores: Scores,
                 threshold: float) -> Confusion:
    """Confusion matrix when alerting at `score >= threshold`. One class is allowed here."""
    y, s = _arrays("confusion_at", labels, scores, need_both=False)
    flagged = s >= threshold
    return confusion_from_flags(y, flagged)


def confusion_from_flags(labels: np.ndarray, flagged: np.ndarray) -> Confusion:
    y = np.asarray(labels).astype(bool)
    f = np.asarray(flagged).astype(bool)
    return Confusion(int((f & y).sum()), int((f & ~y).sum()), int((~f & ~y).sum()), int((~f & y).sum()))


def safe_div(num: float, den: float) -> float:
    """0/0 -> 0.0: precision with no alerts and recall with no positives are reported as 0."""
    return float(num) / float(den) if den else 0.0


def f_beta(precision: float, recall: float, beta: float) -> float:
    b2 = beta * beta
    return safe_div((1 + b2) * precision * recall, b2 * precision + recall)


@dataclass(frozen=True)
class OperatingPoint:
    """Everything a moderator team needs to know about one threshold."""

    threshold: float
    precision: float
    recall: float
    f1: float
    f0_5: float
    alerts_per_1000: float
    tp: int
    fp: int
    tn: int
    fn: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def operating_point(c: Confusion, threshold: float) -> OperatingPoint:
    p = safe_div(c.tp, c.tp + c.fp)
    r = safe_div(c.tp, c.tp + c.fn)
    if c.n == 0:
        raise MetricError("operating_point: empty input")
    return OperatingPoint(float(threshold), p, r, f_beta(p, r, 1.0), f_beta(p, r, 0.5),
                          1000.0 * (c.tp + c.fp) / c.n, c.tp, c.fp, c.tn, c.fn)


def metrics_at(labels: Labels, scores: Scores,
               threshold: float) -> OperatingPoint:
    """Precision, recall, F1, F0.5, alerts per 1,000 and the confusion matrix at one threshold."""
    return operating_point(confusion_at(labels, scores, threshold), threshold)
