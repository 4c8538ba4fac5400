"""Early detection: how many messages until the first alert, and latency-weighted F1.

Definitions (early sexual predator detection, Vogt, Leser and Akbik 2021, after Sadeque et al. 2018):

- A conversation is *flagged* at threshold t when its risk after some message reaches t; the *alert
  index* is the first such 0-based message index (the running maximum crosses t there).
- *Messages to detection* k = alert index + 1: the number of messages the system had read.
- penalty(k) = -1 + 2 / (1 + exp(-p (k - 1))): 0 for an alert on the first message, -> 1 as k grows.
- speed = 1 - median penalty over true positives (0 when there are none).
- F_latency = F1 * speed.

`p` sets how fast lateness is punished: penalty(k) = 0.5 at k = 1 + ln(3) / p. It is a documented
parameter (configs/eval.yaml `latency.p`); Sadeque et al. used p = 0.0078.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from groomguard.evaluation.metrics import Labels, MetricError, confusion_from_flags, f_beta, safe_div

NO_ALERT = -1


def penalty(k: int | np.ndarray, p: float) -> np.ndarray:
    """Latency penalty for detecting after k messages (k >= 1)."""
    k_arr = np.asarray(k, dtype=np.float64)
    if (k_arr < 1).any():
        raise MetricError("penalty: k counts messages read and must be >= 1")
    if p <= 0:
        raise MetricError("penalty: p must be > 0")
    return -1.0 + 2.0 / (1.0 + np.exp(-p * (k_arr - 1.0)))


def p_for_half_penalty_at(k: float) -> float:
    """The p for which penalty(k) = 0.5 (a way to choose p from a typical detection length)."""
    if k <= 1:
        raise MetricError("p_for_half_penalty_at: k must be > 1")
    return math.log(3.0) / (k - 1.0)


def alert_index(risk_by_message: Sequence[float], threshold: float) -> int:
    """First message index whose risk reaches `threshold`, or NO_ALERT."""
    r = np.asarray(risk_by_message, dtype=np.float64)
    if r.size == 0:
        raise MetricError("alert_index: conversation has no messages")
    hits = np.nonzero(r >= threshold)[0]
    return int(hits[0]) if hits.size else NO_ALERT


def alert_indices(risks: Sequence[Sequence[float]], threshold: float) -> np.ndarray:
    return np.array([alert_index(r, threshold) for r in risks], dtype=np.int64)


def speed(ks: Labels, p: float) -> float:
    """1 - median penalty over the true positives' messages-to-detection; 0 when there are none."""
    k = np.asarray(ks, dtype=np.float64)
    if k.size == 0:
        return 0.0
    return float(1.0 - np.median(penalty(k, p)))


def latency_f1(labels: Labels, alerts: Labels, p: float) -> dict[str, float]:
    """Precision, recall, F1, speed and F_latency from labels and alert indices (NO_ALERT = not flagged)."""
    y = np.asarray(labels, dtype=np.int64)
    a = np.asarray(alerts, dtype=np.int64)
    if y.size == 0:
        raise MetricError("latency_f1: empty input")
    if y.shape != a.shape:
        raise MetricError("latency_f1: labels and alerts differ in length")
    flagged = a != NO_ALERT
    c = confusion_from_flags(y, flagged)
    precision = safe_div(c.tp, c.tp + c.fp)
    recall = safe_div(c.tp, c.tp + c.fn)
    f1 = f_beta(precision, recall, 1.0)
    tp_k = a[flagged & (y == 1)] + 1
    spd = speed(tp_k, p)
    return {"precision": precision, "recall": recall, "f1": f1, "speed": spd, "f_latency": f1 * spd, "p": p}


def distribution(values: Sequence[float] | np.ndarray) -> dict[str, float | int | None]:
    """n, mean, median and quartiles/p90 of a latency sample (None when empty)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {"n": 0, "mean": None, "median": None, "p25": None, "p75": None, "p90": None, "max": None}
    return {"n": int(v.size), "mean": float(v.mean()), "median": float(np.median(v)),
            "p25": float(np.percentile(v, 25)), "p75": float(np.percentile(v, 75)),
            "p90": float(np.percentile(v, 90)), "max": float(v.max())}


def detection_curve(labels: Labels, alerts: Labels,
                    max_k: int | None = None) -> dict[str, list[float]]:
    """Share of grooming conversations detected within k messages, for k = 1..max_k."""
    y = np.asarray(labels, dtype=np.int64)
    a = np.asarray(alerts, dtype=np.int64)
    pos = a[y == 1]
    if pos.size == 0:
        return {"k": [], "detected_share": []}
    k_detect = pos[pos != NO_ALERT] + 1
    top = int(max_k or (k_detect.max() if k_detect.size else 1))
    ks = np.arange(1, top + 1)
    share = [float((k_detect <= k).sum() / pos.size) for k in ks]
    return {"k": [int(k) for k in ks], "detected_share": share}


def early_detection(labels: Labels, alerts: Labels, first_risk: Sequence[int | None],
                    p: float) -> dict[str, object]:
    """Everything early-detection for one threshold: latency from the start and from first_risk_index."""
    y = np.asarray(labels, dtype=np.int64)
    a = np.asarray(alerts, dtype=np.int64)
    tp = (y == 1) & (a != NO_ALERT)
    from_start = a[tp] + 1
    delays = [int(a[i]) - int(fr) for i, fr in enumerate(first_risk) if tp[i] and fr is not None]
    return {
        **latency_f1(y, a, p),
        "messages_to_detection": distribution(from_start),
        "messages_after_first_risk": distribution(delays),
        "alerted_before_first_risk": int(sum(d < 0 for d in delays)),
        "detection_curve": detection_curve(y, a),
    }
