"""Calibration, threshold selection and window sampling on hand-made numbers."""

from __future__ import annotations

import numpy as np
import pytest

from groomguard.evaluation.metrics import MetricError
from groomguard.evaluation.thresholds import lowest_threshold_within_budget, select_operating_points, tail_threshold
from groomguard.schema import Conversation, Message
from groomguard.training.export.temperature import fit_platt, fit_temperature, nll
from groomguard.training.windows_dataset import class_weights, sample_ends


def test_fit_temperature_recovers_known_temperature() -> None:
    rng = np.random.default_rng(0)
    margin = rng.normal(0, 6, 20000)
    labels = (rng.random(margin.size) < 1 / (1 + np.exp(-margin / 2.5))).astype(int)
    logits = np.stack([np.zeros_like(margin), margin], axis=1)
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(2.5, rel=0.08)
    assert nll(logits, labels, t) < nll(logits, labels, 1.0)


def test_fit_platt_recovers_known_temperature_and_bias() -> None:
    rng = np.random.default_rng(1)
    margin = rng.normal(0, 6, 40000)
    true_t, true_b = 2.0, -1.5  # a model too sure of the positive class by a constant
    labels = (rng.random(margin.size) < 1 / (1 + np.exp(-(margin / true_t + true_b)))).astype(int)
    logits = np.stack([np.zeros_like(margin), margin], axis=1)
    t, b = fit_platt(logits, labels)
    assert t == pytest.approx(true_t, rel=0.08) and b == pytest.approx(true_b, abs=0.1)
    assert nll(logits, labels, t, b) < nll(logits, labels, fit_temperature(logits, labels)) - 0.01
    assert fit_platt(logits[:10], np.ones(10, dtype=int)) == (1.0, 0.0)  # one class: identity


def test_fit_temperature_single_class_is_identity() -> None:
    assert fit_temperature(np.array([[0.0, 1.0], [0.0, 2.0]]), np.array([1, 1])) == 1.0


# Conversation risks (running maxima) of 10 validation conversations; real = real benign chat.
RISKS = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99])
LABELS = np.array([0, 0, 1, 0, 0, 1, 1, 1, 1, 1])
REAL = np.array([1, 1, 0, 1, 1, 0, 0, 0, 0, 0], dtype=bool)  # the four negatives are real chat


def test_budget_threshold_by_hand() -> None:
    # 4 real benign scores 0.1 0.2 0.4 0.6. 250 per 1,000 allows floor(1.0) = 1 alert: the lowest
    # threshold leaving only 0.6 flagged is just above 0.4.
    t = lowest_threshold_within_budget([0.1, 0.2, 0.4, 0.6], 250)
    assert 0.4 < t <= 0.4 + 1e-12
    assert lowest_threshold_within_budget([0.1, 0.2, 0.4, 0.6], 0) > 0.6  # no alert allowed
    assert lowest_threshold_within_budget([0.1, 0.2, 0.4, 0.6], 1000) == 0.0  # everything allowed
    assert lowest_threshold_within_budget([0.5, 0.5, 0.5, 0.1], 500) > 0.5  # ties move together: 3 > 2


def test_tail_threshold_by_hand() -> None:
    # Log-odds -2, 0, 2: mean 0, sample sd 2. 50 per 1,000 is the normal's 95th percentile, z = 1.6449
    # (tables): the threshold's log-odds are 3.2897, a risk of 1 / (1 + e^-3.2897) = 0.96407.
    risks = [1 / (1 + np.exp(2.0)), 0.5, 1 / (1 + np.exp(-2.0))]
    assert tail_threshold(risks, 50) == pytest.approx(0.96407, abs=1e-5)
    # a finer budget reaches further out: 2 per 1,000 is z = 2.8782, log-odds 5.7563, risk 0.99685
    assert tail_threshold(risks, 2) == pytest.approx(0.99685, abs=1e-5)
    # the tail sits above every benign chat here, where the counted budget sits just above the top one
    assert tail_threshold(risks, 2) > lowest_threshold_within_budget(risks, 2)
    with pytest.raises(MetricError, match="two benign"):
        tail_threshold([0.3], 2)
    with pytest.raises(MetricError, match="tail budget"):
        tail_threshold(risks, 0)


def _brute_force_budget(scores: np.ndarray, per_1000: float) -> float:
    """Second implementation: try every candidate, keep the lowest within budget."""
    allowed = int(np.floor(per_1000 * len(scores) / 1000 + 1e-9))
    candidates = sorted({0.0, *(np.nextafter(x, np.inf) for x in scores)})
    return min(float(c) for c in candidates if (scores >= c).sum() <= allowed)


@pytest.mark.parametrize("seed", range(5))
def test_budget_threshold_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random(200), 2)  # rounding makes ties, and some scores are exactly 1.0
    scores[:3] = 1.0
    for budget in (0, 5, 20, 137, 999):
        t = lowest_threshold_within_budget(scores, budget)
        assert t == _brute_force_budget(scores, budget)  # exact: approx would equate 1.0 and the float above it
        assert (scores >= t).sum() <= int(np.floor(budget * len(scores) / 1000 + 1e-9))


def test_a_budget_edge_at_exactly_one_keeps_those_scores_out() -> None:
    """Scores of exactly 1.0 beyond the budget: the threshold must flag none of them (it used to be
    capped at 1.0, which flagged all three)."""
    t = lowest_threshold_within_budget([1.0, 1.0, 1.0, 0.2], 0)
    assert t > 1.0 and sum(x >= t for x in [1.0, 1.0, 1.0, 0.2]) == 0


def test_risks_stay_below_one_so_a_threshold_of_one_means_never() -> None:
    from groomguard.scores import RISK_MAX, Thresholds, level_for, risk_from_logits

    r = risk_from_logits(np.array([[-50.0, 50.0], [0.0, 0.0]]))
    assert r[0] == RISK_MAX < 1.0 and r[1] == 0.5
    assert level_for(float(r[0]), Thresholds(review=1.0, high=1.0)) == "low"


def test_operating_points_by_hand() -> None:
    pts = select_operating_points(LABELS, RISKS, REAL, review_alerts_per_1000=250, high_precision=1.0,
                                  high_alerts_per_1000=0)
    # review: 1 of 4 real benign may alert -> just above 0.4; flags 0.6..0.99 = 6 conversations, 5 positive.
    review = pts["review"]
    assert 0.4 < review.threshold < 0.41
    assert review.recall == pytest.approx(5 / 6)
    assert review.precision == pytest.approx(5 / 6)
    assert review.alerts_per_1000_real == pytest.approx(250.0)
    # high: no real alert allowed -> just above 0.6, which flags 0.7..0.99: all positive, precision 1.0.
    high = pts["high"]
    assert 0.6 < high.threshold < 0.61
    assert high.precision == pytest.approx(1.0)
    assert high.recall == pytest.approx(5 / 6)
    assert high.alerts_per_1000_real == pytest.approx(0.0)


def test_high_budget_can_raise_high_above_the_precision_point() -> None:
    labels = np.array([1, 1, 1, 0, 0, 0])
    risks = np.array([0.9, 0.8, 0.5, 0.85, 0.2, 0.1])
    real = labels == 0
    pts = select_operating_points(labels, risks, real, 1000, high_precision=0.5, high_alerts_per_1000=0)
    # precision >= 0.5 already at 0.1 (3/6) but no real alert allowed: above 0.85.
    assert pts["high"].threshold > 0.85
    assert pts["high"].recall == pytest.approx(1 / 3)
    assert pts["review"].threshold == 0.0


def test_without_real_chat_negatives_carry_the_budget() -> None:
    pts = select_operating_points(LABELS, RISKS, np.zeros(10, dtype=bool), 250, 0.9, 0)
    assert "validation negatives" in pts["review"].rule
    assert 0.4 < pts["review"].threshold < 0.41  # the same 4 negatives as above


def test_high_climbs_until_precision_is_reached() -> None:
    labels = np.array([1, 0, 1, 1, 0, 0])
    risks = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2])
    pts = select_operating_points(labels, risks, labels == 0, 1000, high_precision=0.75, high_alerts_per_1000=1000)
    # Floor 0.0 flags all (3/6); 0.2 -> 3/6, 0.3 -> 3/5, 0.6 -> 3/4 = 0.75 reaches the target first.
    assert pts["high"].threshold == pytest.approx(0.6)
    pts = select_operating_points(labels, risks, labels == 0, 1000, high_precision=0.99, high_alerts_per_1000=1000)
    assert pts["high"].threshold == pytest.approx(0.9)  # only the top conversation is precise enough
    pts = select_operating_points(np.zeros(6, dtype=int), risks, np.ones(6, dtype=bool), 1000, 0.9, 1000)
    assert "unreachable" in pts["high"].rule and pts["high"].threshold == 0.0


def test_high_never_below_review() -> None:
    pts = select_operating_points(np.array([1, 1, 1, 0]), np.array([0.2, 0.4, 0.6, 0.8]),
                                  np.array([0, 0, 0, 1], dtype=bool), 0, 0.5, 1000)
    assert pts["high"].threshold >= pts["review"].threshold > 0.8


def test_class_weights_inverse_frequency() -> None:
    assert class_weights([0, 0, 0, 1]) == pytest.approx([4 / 6, 2.0])
    assert class_weights([0, 0]) == pytest.approx([1.0, 1.0])


def _conv(cid: str, n: int, label: int, first: int | None) -> Conversation:
    return Conversation(conversation_id=cid, messages=[Message(author=f"u{i % 2}", text="hi") for i in range(n)],
                        label=label, first_risk_index=first)


def test_sample_ends_seeded_and_favours_risky_part() -> None:
    conv = _conv("c1", 30, 1, 25)
    ends = list(range(30))
    a = sample_ends(conv, ends, 4, seed=1)
    assert a == sample_ends(conv, ends, 4, seed=1)
    assert len(a) == 4 and len(set(a)) == 4
    assert sum(e >= 25 for e in a) == 2  # half the draws come from at/after first_risk_index
    assert any(sample_ends(conv, ends, 4, seed=s) != a for s in range(2, 6))
    assert sample_ends(conv, ends, 0, seed=1) == ends
    assert sample_ends(_conv("c2", 3, 0, None), [0, 1, 2], 5, seed=1) == [0, 1, 2]


def test_windows_per_source_override(minilm_tokenizer) -> None:  # type: ignore[no-untyped-def]
    from groomguard.training.windows_dataset import build_windows
    from groomguard.windowing import WindowConfig, Windower

    w = Windower(minilm_tokenizer, WindowConfig(max_length=64))
    synth = _conv("s", 10, 0, None).model_copy(update={"source": "synthetic"})
    real = _conv("r", 10, 0, None).model_copy(update={"source": "chitchat"})
    ws = build_windows([synth, real], w, 2, seed=1, by_source={"synthetic": 5})
    assert ws.conversation_ids.count("s") == 5 and ws.conversation_ids.count("r") == 2
