"""Metric functions against small hand-worked examples (ties, one class, empty input)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from groomguard.evaluation.authors import AuthorView, attributed_author, author_metrics
from groomguard.evaluation.bootstrap import bootstrap_ci
from groomguard.evaluation.calibration import reliability
from groomguard.evaluation.early import (
    NO_ALERT,
    alert_index,
    detection_curve,
    early_detection,
    latency_f1,
    p_for_half_penalty_at,
    penalty,
    speed,
)
from groomguard.evaluation.metrics import (
    MetricError,
    average_precision,
    confusion_at,
    metrics_at,
    pr_curve,
    roc_auc,
    roc_curve,
)
from groomguard.evaluation.thresholds import threshold_for_precision, threshold_for_recall

# -- ROC-AUC ---------------------------------------------------------------------------------


def test_roc_auc_hand_worked() -> None:
    # positive 0.35 beats 0.1 but not 0.4; positive 0.8 beats both -> 3 of 4 pairs
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)


def test_roc_auc_ties_count_half() -> None:
    # pos 0.5 vs neg 0.5 -> 0.5, vs 0.2 -> 1; pos 0.9 -> 2; 3.5 / 4
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == pytest.approx(0.875)
    assert roc_auc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]) == pytest.approx(0.5)


def test_roc_auc_matches_sklearn_on_random_ties() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    s = rng.integers(0, 10, 200) / 10  # many ties
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))


@pytest.mark.parametrize("labels,scores,msg", [
    ([], [], "empty input"),
    ([1, 1], [0.2, 0.3], "needs both classes"),
    ([0, 1], [0.2], "differ in length"),
    ([0, 2], [0.1, 0.2], "0 or 1"),
])
def test_roc_auc_clear_errors(labels: list[int], scores: list[float], msg: str) -> None:
    with pytest.raises(MetricError, match=msg):
        roc_auc(labels, scores)


def test_roc_curve_points() -> None:
    fpr, tpr, thr = roc_curve([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9])
    # thresholds inf, 0.9, 0.5 (tie moves together), 0.2
    assert thr[0] == math.inf
    assert list(thr[1:]) == [0.9, 0.5, 0.2]
    assert list(fpr) == [0.0, 0.0, 0.5, 1.0]
    assert list(tpr) == [0.0, 0.5, 1.0, 1.0]


# -- PR-AUC ----------------------------------------------------------------------------------


def test_average_precision_hand_worked() -> None:
    # thresholds 0.9 (P 1, R .5), 0.8 (P .5, R .5), 0.7 (P 2/3, R 1), 0.1 (P .5, R 1)
    # AP = .5 * 1 + 0 + .5 * 2/3 + 0
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.5 + 1 / 3)


def test_average_precision_with_ties() -> None:
    # tie at 0.5 (one pos, one neg): P .5, R .5; then 0.2: P 2/3, R 1 -> .25 + 1/3
    assert average_precision([1, 0, 1], [0.5, 0.5, 0.2]) == pytest.approx(0.25 + 1 / 3)
    _, recall, thr = pr_curve([1, 0, 1], [0.5, 0.5, 0.2])
    assert list(thr) == [0.5, 0.2]
    assert list(recall) == [0.5, 1.0]


def test_average_precision_matches_sklearn() -> None:
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) * 0.5 + y * 0.3, 1)
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s))


def test_average_precision_single_class() -> None:
    assert average_precision([1, 1], [0.1, 0.9]) == pytest.approx(1.0)
    with pytest.raises(MetricError, match="at least one positive"):
        average_precision([0, 0], [0.1, 0.9])
    with pytest.raises(MetricError, match="empty"):
        average_precision([], [])


# -- operating points ------------------------------------------------------------------------

Y = [1, 1, 0, 0, 0]
S = [0.9, 0.4, 0.6, 0.2, 0.5]


def test_metrics_at_hand_worked() -> None:
    p = metrics_at(Y, S, 0.5)  # flagged: 0.9 (pos), 0.6, 0.5 (neg; >= is an alert)
    assert (p.tp, p.fp, p.tn, p.fn) == (1, 2, 1, 1)
    assert p.precision == pytest.approx(1 / 3)
    assert p.recall == pytest.approx(0.5)
    assert p.f1 == pytest.approx(0.4)
    assert p.f0_5 == pytest.approx(1.25 * (1 / 6) / (0.25 / 3 + 0.5))
    assert p.alerts_per_1000 == pytest.approx(600.0)


def test_metrics_at_no_alerts_and_one_class() -> None:
    p = metrics_at([0, 0, 0], [0.1, 0.2, 0.3], 0.9)
    assert (p.precision, p.recall, p.f1, p.alerts_per_1000) == (0.0, 0.0, 0.0, 0.0)
    assert confusion_at([0, 0, 0], [0.1, 0.2, 0.3], 0.2).fp == 2
    with pytest.raises(MetricError, match="empty"):
        metrics_at([], [], 0.5)


def test_threshold_for_precision() -> None:
    # precisions by threshold: .9 -> 1, .6 -> .5, .5 -> 1/3, .4 -> .5, .2 -> .4
    p = threshold_for_precision(Y, S, 0.5)
    assert p is not None and p.threshold == 0.4 and p.recall == 1.0 and p.alerts_per_1000 == pytest.approx(800)
    p = threshold_for_precision(Y, S, 0.9)
    assert p is not None and p.threshold == 0.9 and p.recall == 0.5
    assert threshold_for_precision([0, 1], [0.9, 0.1], 1.0) is None
    with pytest.raises(MetricError, match="target precision"):
        threshold_for_precision(Y, S, 1.5)


def test_threshold_for_recall() -> None:
    p = threshold_for_recall(Y, S, 1.0)
    assert p is not None and p.threshold == 0.4 and p.precision == 0.5
    p = threshold_for_recall(Y, S, 0.5)
    assert p is not None and p.threshold == 0.9
    with pytest.raises(MetricError, match="at least one positive"):
        threshold_for_recall([0, 0], [0.1, 0.2], 0.5)


# -- calibration -----------------------------------------------------------------------------


def test_reliability_and_ece_hand_worked() -> None:
    rel = reliability([0, 1, 1, 0], [0.1, 0.15, 0.8, 0.9], n_bins=2)
    # bin 0: mean .125, observed .5; bin 1: mean .85, observed .5 -> .5 * .375 + .5 * .35
    assert rel.mean_predicted == pytest.approx([0.125, 0.85])
    assert rel.observed_rate == pytest.approx([0.5, 0.5])
    assert rel.counts == [2, 2]
    assert rel.ece == pytest.approx(0.3625)


def test_reliability_edges() -> None:
    rel = reliability([1, 1], [1.0, 1.0], n_bins=10)  # 1.0 falls in the last bin; perfectly calibrated
    assert rel.counts == [2] and rel.ece == pytest.approx(0.0)
    assert reliability([0], [0.3]).ece == pytest.approx(0.3)  # single class is fine here
    with pytest.raises(MetricError, match="empty"):
        reliability([], [])
    with pytest.raises(MetricError, match=r"\[0, 1\]"):
        reliability([1], [1.2])


# -- early detection -------------------------------------------------------------------------

P10 = math.log(3) / 9  # penalty(10) = 0.5


def test_penalty_values() -> None:
    assert penalty(1, 0.1) == pytest.approx(0.0)
    assert penalty(10, P10) == pytest.approx(0.5)
    assert p_for_half_penalty_at(10) == pytest.approx(P10)
    assert float(penalty(10_000, 0.1)) == pytest.approx(1.0)
    with pytest.raises(MetricError, match=">= 1"):
        penalty(0, 0.1)


def test_speed_median_penalty() -> None:
    assert speed([1, 10, 10], P10) == pytest.approx(0.5)
    assert speed([], P10) == 0.0


def test_alert_index() -> None:
    assert alert_index([0.1, 0.5, 0.3, 0.9], 0.5) == 1
    assert alert_index([0.1, 0.2], 0.95) == NO_ALERT
    with pytest.raises(MetricError, match="no messages"):
        alert_index([], 0.5)


def test_latency_f1_hand_worked() -> None:
    # TPs detected after 1 and 10 messages, one FP, one FN
    out = latency_f1([1, 1, 0, 1], [0, 9, 2, NO_ALERT], P10)
    assert out["precision"] == pytest.approx(2 / 3) and out["recall"] == pytest.approx(2 / 3)
    assert out["f1"] == pytest.approx(2 / 3)
    assert out["speed"] == pytest.approx(0.75)  # median penalty of (0, .5)
    assert out["f_latency"] == pytest.approx(0.5)
    with pytest.raises(MetricError, match="empty"):
        latency_f1([], [], P10)


def test_detection_curve_and_first_risk_latency() -> None:
    curve = detection_curve([1, 1, 1, 0], [0, 2, NO_ALERT, 0])
    assert curve["k"] == [1, 2, 3]
    assert curve["detected_share"] == pytest.approx([1 / 3, 1 / 3, 2 / 3])
    out = early_detection([1, 1, 1, 0], [0, 2, NO_ALERT, 0], [0, 3, None, None], P10)
    assert out["messages_to_detection"]["median"] == pytest.approx(2.0)  # k = 1 and 3
    assert out["messages_after_first_risk"]["n"] == 2
    assert out["alerted_before_first_risk"] == 1  # alerted at 2, moderator would escalate at 3
    assert detection_curve([0, 0], [0, 1]) == {"k": [], "detected_share": []}


# -- author level ----------------------------------------------------------------------------


def test_attribution_takes_author_of_highest_window_first_on_ties() -> None:
    view = AuthorView(["a", "b", "a", "b"], [0, 1, 2, 3], [0.1, 0.6, 0.6, 0.2], [])
    assert attributed_author(view) == "b"
    # stride 2: only window ends count (message 2 carries the value of window 1 forward)
    view = AuthorView(["a", "b", "a", "b"], [1, 3], [0.0, 0.7, 0.7, 0.9], [])
    assert attributed_author(view) == "b"


def test_author_metrics_hand_worked() -> None:
    views = [
        AuthorView(["p1", "k1", "p1"], [0, 1, 2], [0.2, 0.3, 0.9], ["p1"]),  # flagged -> p1 (TP)
        AuthorView(["p2", "k2"], [0, 1], [0.1, 0.8], ["p2"]),  # flagged -> k2 (FP), p2 missed (FN)
        AuthorView(["x", "y"], [0, 1], [0.1, 0.2], []),  # not flagged
        AuthorView(["p3", "z"], [0, 1], [0.3, 0.1], ["p3", "absent"]),  # not flagged -> FN; "absent" ignored
    ]
    out = author_metrics(views, [True, True, False, False])
    assert (out["tp"], out["fp"], out["fn"]) == (1, 1, 2)
    assert out["precision"] == pytest.approx(0.5)
    assert out["recall"] == pytest.approx(1 / 3)
    assert out["f0_5"] == pytest.approx(1.25 * 0.5 / 3 / (0.25 * 0.5 + 1 / 3))
    assert out["n_authors"] == 8 and out["n_predators"] == 3
    with pytest.raises(MetricError, match="empty"):
        author_metrics([], [])


# -- bootstrap -------------------------------------------------------------------------------


def test_bootstrap_is_seeded_and_brackets_the_statistic() -> None:
    y = np.array([0, 1] * 20)
    s = np.linspace(0, 1, 40) + y * 0.2

    def auc(i: np.ndarray) -> float:
        return roc_auc(y[i], s[i])

    a = bootstrap_ci(40, {"auc": auc, "const": lambda i: 0.25}, n_resamples=200, seed=1)
    b = bootstrap_ci(40, {"auc": auc}, n_resamples=200, seed=1)
    assert a["auc"] == b["auc"]
    assert a["auc"]["low"] <= roc_auc(y, s) <= a["auc"]["high"]  # type: ignore[operator]
    assert a["const"]["low"] == a["const"]["high"] == 0.25
    assert a["auc"]["n_resamples"] == 200


def test_bootstrap_skips_degenerate_resamples_and_rejects_empty() -> None:
    y = np.array([0, 0, 0, 0, 1])  # many resamples have no positive
    out = bootstrap_ci(5, {"auc": lambda i: roc_auc(y[i], y[i] * 1.0)}, n_resamples=100, seed=0)
    assert 0 < out["auc"]["n_resamples"] < 100  # type: ignore[operator]
    with pytest.raises(MetricError, match="empty"):
        bootstrap_ci(0, {"x": lambda i: 0.0})
