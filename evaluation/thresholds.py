"""Threshold helper: the operating point that meets a target precision or recall on this data.

This is the number a platform needs to set its own operating point: which threshold, and what it
costs in alerts per 1,000 conversations.
"""

from __future__ import annotations

import numpy as np

from evaluation.metrics import Labels, MetricError, OperatingPoint, Scores, metrics_at, threshold_counts


def threshold_for_precision(labels: Labels, scores: Scores, target: float) -> OperatingPoint | None:
    """Highest-recall threshold whose precision is >= target (ties: the higher threshold). None if unreachable."""
    if not 0.0 < target <= 1.0:
        raise MetricError(f"target precision must be in (0, 1], got {target}")
    c = threshold_counts(labels, scores, need_both=False)
    if c.n_pos == 0:
        raise MetricError("threshold_for_precision: needs at least one positive")
    precision = c.tp / (c.tp + c.fp)
    ok = np.nonzero(precision >= target - 1e-12)[0]
    if ok.size == 0:
        return None
    best_tp = c.tp[ok].max()
    idx = ok[c.tp[ok] == best_tp][0]  # thresholds are descending: first = highest
    return metrics_at(labels, scores, float(c.thresholds[idx]))


def threshold_for_recall(labels: Labels, scores: Scores, target: float) -> OperatingPoint | None:
    """Highest threshold whose recall is >= target (fewest alerts). None if unreachable."""
    if not 0.0 < target <= 1.0:
        raise MetricError(f"target recall must be in (0, 1], got {target}")
    c = threshold_counts(labels, scores, need_both=False)
    if c.n_pos == 0:
        raise MetricError("threshold_for_recall: needs at least one positive")
    ok = np.nonzero(c.tp / c.n_pos >= target - 1e-12)[0]
    if ok.size == 0:
        return None
    return metrics_at(labels, scores, float(c.thresholds[ok[0]]))
