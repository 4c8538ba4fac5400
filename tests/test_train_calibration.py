"""Calibration, threshold selection and window sampling on hand-made numbers."""

from __future__ import annotations

import numpy as np
import pytest

from groomguard.schema import Conversation, Message
from training.calibration import fit_temperature, nll, select_thresholds
from training.windows_dataset import class_weights, sample_ends


def test_fit_temperature_recovers_known_temperature() -> None:
    rng = np.random.default_rng(0)
    margin = rng.normal(0, 6, 20000)
    labels = (rng.random(margin.size) < 1 / (1 + np.exp(-margin / 2.5))).astype(int)
    logits = np.stack([np.zeros_like(margin), margin], axis=1)
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(2.5, rel=0.08)
    assert nll(logits, labels, t) < nll(logits, labels, 1.0)


def test_fit_temperature_single_class_is_identity() -> None:
    assert fit_temperature(np.array([[0.0, 1.0], [0.0, 2.0]]), np.array([1, 1])) == 1.0


RISKS = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99])
LABELS = np.array([0, 0, 1, 0, 0, 1, 1, 1, 1, 1])


def test_review_is_highest_threshold_reaching_recall() -> None:
    ch = select_thresholds(RISKS, LABELS, review_recall=0.8, high_precision=0.9)
    # 6 positives; recall >= 0.8 needs 5 of them: the 5th highest positive score is 0.7.
    assert ch.thresholds.review == pytest.approx(0.7)
    assert ch.review.recall == pytest.approx(5 / 6)
    assert ch.review.precision == pytest.approx(1.0)


def test_high_is_lowest_threshold_reaching_precision() -> None:
    ch = select_thresholds(RISKS, LABELS, review_recall=1.0, high_precision=0.9)
    assert ch.thresholds.review == pytest.approx(0.3)  # all 6 positives: precision 6/8
    assert ch.review.precision == pytest.approx(0.75)
    assert ch.thresholds.high == pytest.approx(0.7)  # 0.6 gives 5/6 < 0.9; 0.7 gives 5/5
    assert ch.high.note == ""


def test_high_falls_back_when_precision_unreachable() -> None:
    risks = np.array([0.9, 0.9, 0.5, 0.1])
    labels = np.array([0, 1, 1, 0])
    ch = select_thresholds(risks, labels, review_recall=1.0, high_precision=1.0)
    assert ch.thresholds.review == pytest.approx(0.5)
    assert "unreachable" in ch.high.note
    # best precision keeping min(5, n_pos) = 2 true positives: threshold 0.5 -> 2/3
    assert ch.thresholds.high == pytest.approx(0.5)
    assert ch.high.precision == pytest.approx(2 / 3)


def test_high_never_below_review() -> None:
    risks = np.array([0.2, 0.4, 0.6, 0.8])
    labels = np.array([1, 1, 1, 1 - 1])
    ch = select_thresholds(risks, labels, review_recall=0.3, high_precision=0.5)
    assert ch.thresholds.high >= ch.thresholds.review


def test_no_positive_windows_defaults_review() -> None:
    ch = select_thresholds(np.array([0.1, 0.3]), np.array([0, 0]), 0.9, 0.9)
    assert ch.thresholds.review == 0.5
    assert "no positive" in ch.review.note


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
