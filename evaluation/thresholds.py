"""Thresholds: the one implementation, vectorised, shared by training and evaluation.

- the threshold helper (`threshold_for_precision` / `threshold_for_recall`): the operating point
  that meets a target on this data, and what it costs in alerts per 1,000 conversations;
- `select_operating_points`: the bundle's `review` and `high`, chosen at export on validation
  *conversations* scored exactly as serving scores them (running max over prefix windows), for a
  false-alert budget on real chat and a precision target (docs/design.md "Scores").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from groomguard.evaluation.metrics import Labels, MetricError, OperatingPoint, Scores, metrics_at, threshold_counts


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


# -- operating points at conversation level (training picks them, evaluation reports them) ------


def lowest_threshold_within_budget(benign_scores: Scores, per_1000: float) -> float:
    """The lowest threshold t with ``#(benign >= t) <= floor(per_1000 * n / 1000)``.

    `benign_scores` are conversation risks (running maxima) of presumed-benign real chat. The
    threshold sits just above the first score that would exceed the budget, so every benign score
    at or above it is within the allowed alerts (ties move together, never split by input order).
    """
    s = np.sort(np.asarray(benign_scores, dtype=np.float64).ravel())[::-1]
    # No cap at 1.0: when the budget's edge score is 1.0 the answer is the next float above it, so
    # `score >= threshold` really keeps that score out (risks from `risk_from_logits` stay below 1.0,
    # so a model's thresholds never exceed it).
    if s.size == 0:
        raise MetricError("lowest_threshold_within_budget: no benign conversations")
    if per_1000 < 0:
        raise MetricError(f"alert budget must be >= 0 per 1,000, got {per_1000}")
    allowed = int(np.floor(per_1000 * s.size / 1000.0 + 1e-9))
    if allowed >= s.size:
        return 0.0
    return float(np.nextafter(s[allowed], np.inf))


def tail_threshold(benign_scores: Scores, per_1000: float) -> float:
    """The threshold a normal tail puts `per_1000` benign conversations per 1,000 above.

    Why: a budget finer than the sample resolves (2 per 1,000 of 150 chats) makes
    `lowest_threshold_within_budget` answer "just above the highest benign chat", which a new set of
    chats exceeds about once per (n + 1) chats, not once per 500. A normal fitted to the log-odds of
    the benign conversation risks is extrapolated instead: the threshold is its
    (1 - per_1000 / 1000) quantile. An assumption about the tail, so callers use it only as a floor
    above the counted budget, and the report shows what it did on held-out chat.
    """
    from statistics import NormalDist

    s = np.clip(np.asarray(benign_scores, dtype=np.float64).ravel(), 1e-9, 1 - 1e-9)
    if s.size < 2:
        raise MetricError("tail_threshold: needs at least two benign conversations")
    if not 0 < per_1000 < 1000:
        raise MetricError(f"tail budget must be in (0, 1000) per 1,000, got {per_1000}")
    x = np.log(s / (1 - s))
    z = float(x.mean() + NormalDist().inv_cdf(1 - per_1000 / 1000.0) * x.std(ddof=1))
    return float(1.0 / (1.0 + np.exp(-z)))


@dataclass(frozen=True)
class PointStats:
    """One operating point measured on validation conversations (what bundle.json records)."""

    threshold: float
    precision: float | None
    recall: float | None
    alerts_per_1000_real: float | None
    rule: str

    def as_dict(self) -> dict[str, float | str | None]:
        return asdict(self)


def point_stats(threshold: float, labels: Labels, conv_risk: Scores, real_benign: np.ndarray, rule: str) -> PointStats:
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(conv_risk, dtype=np.float64)
    flagged = s >= threshold
    n_flag, n_pos, n_real = int(flagged.sum()), int(y.sum()), int(real_benign.sum())
    tp = int((flagged & (y == 1)).sum())
    return PointStats(
        threshold=float(threshold),
        precision=tp / n_flag if n_flag else None,
        recall=tp / n_pos if n_pos else None,
        alerts_per_1000_real=1000.0 * int((flagged & real_benign).sum()) / n_real if n_real else None,
        rule=rule,
    )


def select_operating_points(labels: Labels, conv_risk: Scores, real_benign: Sequence[bool] | np.ndarray,
                            review_alerts_per_1000: float, high_precision: float,
                            high_alerts_per_1000: float) -> dict[str, PointStats]:
    """`review` and `high` on validation conversations scored as serving scores them (running max).

    - review: the lowest threshold whose alerts on real benign chat stay within
      `review_alerts_per_1000` (the lowest such threshold is the one with the most recall);
    - high: the lowest threshold at or above both review and the `high_alerts_per_1000` budget on
      real chat whose precision on the validation conversations reaches `high_precision` (the budget
      alone when no such threshold exists; the rule records it).
    When the validation set has no real benign conversations, all its negatives stand in for them
    (the rule says so).
    """
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(conv_risk, dtype=np.float64)
    real = np.asarray(real_benign, dtype=bool)
    population = "real benign chat"
    if not real.any():
        real, population = y == 0, "validation negatives (no real benign chat in validation)"
    review_t = lowest_threshold_within_budget(s[real], review_alerts_per_1000)
    review = point_stats(review_t, y, s, real,
                         f"lowest threshold with <= {review_alerts_per_1000:g} alerts per 1,000 on {population}")
    floor = max(review_t, lowest_threshold_within_budget(s[real], high_alerts_per_1000))
    rule = (f"lowest threshold >= review with precision >= {high_precision:g} and <= {high_alerts_per_1000:g} "
            f"alerts per 1,000 on {population}")
    # Candidates: the floor itself and every validation score above it (thresholds in between flag the
    # same conversations as the next score up, so these are all the distinct choices).
    candidates = np.unique(np.r_[floor, s[s >= floor]])
    order = np.argsort(s, kind="mergesort")
    below = np.searchsorted(s[order], candidates, side="left")  # conversations scoring under each candidate
    n_flag = s.size - below
    tp = int(y.sum()) - np.r_[0, np.cumsum(y[order])][below]
    ok = (n_flag > 0) & (tp >= high_precision * np.maximum(n_flag, 1) - 1e-9)
    if ok.any():
        high_t = float(candidates[np.argmax(ok)])  # candidates ascend: the first ok is the lowest
    else:
        high_t = floor
        rule += f" (precision {high_precision:g} unreachable above the alert budget: budget alone)"
    return {"review": review, "high": point_stats(high_t, y, s, real, rule)}
