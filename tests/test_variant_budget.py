"""The export's budget check (training/export/variant_budget.py): the fp32 thresholds applied to a
variant's own validation risks, with every figure worked out by hand here."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from groomguard.bundle import OperatingPointInfo, VariantInfo
from groomguard.serving.variant_choice import choose_variant
from groomguard.training.export.variant_budget import check, check_scoring, check_variants
from groomguard.training.train_config import ExportSettings, ThresholdTargets

# 3 grooming validation conversations, 4 real benign chats (running-max risks)
LABELS = np.array([1, 1, 1, 0, 0, 0, 0])
REAL = LABELS == 0
POINTS = {"review": OperatingPointInfo(threshold=0.5, rule="r"), "high": OperatingPointInfo(threshold=0.8, rule="h")}
FP32 = np.array([0.9, 0.85, 0.6, 0.1, 0.2, 0.3, 0.45])
TARGETS = ThresholdTargets(review_alerts_per_1000=0, high_precision=0.9, high_alerts_per_1000=0)


def test_fp32_records_its_own_figures() -> None:
    ref = check(LABELS, FP32, REAL, POINTS, TARGETS, None, 0.02)
    # review 0.5 flags 0.9, 0.85, 0.6: recall 3/3, no real chat; high 0.8 flags 0.9, 0.85: recall 2/3
    assert ref.passed and (ref.review_recall, ref.high_recall) == (1.0, pytest.approx(2 / 3))
    assert (ref.review_alerts_per_1000_real, ref.high_alerts_per_1000_real) == (0.0, 0.0)


def test_a_real_chat_carried_over_review_fails_the_budget() -> None:
    ref = check(LABELS, FP32, REAL, POINTS, TARGETS, None, 0.02)
    moved = FP32 + np.array([0, 0, 0, 0, 0, 0, 0.06])  # 0.45 -> 0.51: one of 4 real chats alerts
    got = check(LABELS, moved, REAL, POINTS, TARGETS, ref, 0.02)
    assert not got.passed and got.review_alerts_per_1000_real == 250.0 and "review: 250.0 alerts" in got.detail


def test_recall_lost_beyond_the_tolerance_fails() -> None:
    ref = check(LABELS, FP32, REAL, POINTS, TARGETS, None, 0.02)
    lower = FP32 - np.array([0, 0.06, 0.11, 0, 0, 0, 0])  # 0.85 -> 0.79 (under high), 0.6 -> 0.49 (under review)
    got = check(LABELS, lower, REAL, POINTS, TARGETS, ref, 0.02)
    assert not got.passed and got.review_recall == pytest.approx(2 / 3) and got.high_recall == pytest.approx(1 / 3)
    assert "review: recall 0.667 < fp32's 1.000" in got.detail and "high: recall 0.333" in got.detail
    assert check(LABELS, lower, REAL, POINTS, TARGETS, ref, 0.5).passed  # a looser tolerance lets it through
    assert check(LABELS, FP32 + 0.01, REAL, POINTS, TARGETS, ref, 0.02).passed  # small shifts are fine


def test_served_mode_checks_in_autos_order_until_one_passes(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    for name in ("model.onnx", "model.fused.onnx", "model.int8.onnx"):
        shutil.copy(tiny_bundle_dir / "model.onnx", tmp_path / name)
    speeds = {"fp32": 20.0, "fused": 30.0, "int8": 60.0}  # auto's order: int8, then fused
    variants = {n: VariantInfo(file=f"model.{n}.onnx".replace("model.fp32", "model"), max_abs_delta_prob=0.01,
                               windows_per_s={"1": v, "32": v}) for n, v in speeds.items()}
    answers = {"model.int8.onnx": FP32 + np.array([0, 0, 0, 0, 0, 0, 0.06]),  # int8 fails, fused passes
               "model.fused.onnx": FP32 + 0.01}
    calls: list[str] = []

    def score(sess: object, which: np.ndarray) -> np.ndarray:
        name = Path(sess._model_path).name  # type: ignore[attr-defined]
        if not calls or calls[-1] != name:
            calls.append(name)
        return answers[name][which]

    check_variants(variants, tmp_path, score, FP32, LABELS, REAL, POINTS, TARGETS,
                   ExportSettings(budget_check="served"), 1, lambda _m: None)
    assert calls == ["model.int8.onnx", "model.fused.onnx"]
    assert variants["fp32"].budget_check.passed  # type: ignore[union-attr]
    assert not variants["int8"].budget_check.passed  # type: ignore[union-attr]
    assert variants["fused"].budget_check.passed  # type: ignore[union-attr]
    from groomguard.bundle import Bundle

    m = Bundle.load(tiny_bundle_dir).manifest
    files = {**m.files, "model.fused.onnx": "0", "model.int8.onnx": "0"}
    m = m.model_copy(update={"variants": variants, "files": files})
    assert choose_variant(m, "CPUExecutionProvider", 0.02) == "fused"  # the fastest variant that passed


class _Scorer:
    """A variant's risks, and every conversation index it was asked for, in order."""

    def __init__(self, risks: np.ndarray) -> None:
        self.risks, self.asked = risks, list[list[int]]()

    def __call__(self, sess: object, which: np.ndarray) -> np.ndarray:
        self.asked.append([int(i) for i in which])
        return self.risks[which]


def test_a_variant_over_the_alert_budget_stops_after_the_riskiest_real_chats() -> None:
    ref = check(LABELS, FP32, REAL, POINTS, TARGETS, None, 0.02)
    # the riskiest real chat by fp32 (index 6, 0.45) crosses review 0.5: with a budget of 0 the check
    # fails after scoring it alone (4 real chats in 4 parts, riskiest first: 6, 5, 4, 3)
    scorer = _Scorer(FP32 + np.array([0, 0, 0, 0, 0, 0, 0.06]))
    got = check_scoring(scorer, None, FP32, LABELS, REAL, POINTS, TARGETS, ref, 0.02)
    assert scorer.asked == [[6]]
    assert not got.passed and got.review_alerts_per_1000_real == 250.0 and got.review_recall is None
    assert "at least 250.0 alerts" in got.detail and "stopped after 1 of 4 real chats" in got.detail
    # the full pass says the same: failed on review alerts
    assert not check(LABELS, scorer.risks, REAL, POINTS, TARGETS, ref, 0.02).passed


def test_a_passing_variant_is_scored_whole_and_checked_like_the_full_pass() -> None:
    ref = check(LABELS, FP32, REAL, POINTS, TARGETS, None, 0.02)
    for moved in (FP32 + 0.01, FP32 - np.array([0, 0.06, 0.11, 0, 0, 0, 0])):  # passes; fails on recall
        scorer = _Scorer(moved)
        got = check_scoring(scorer, None, FP32, LABELS, REAL, POINTS, TARGETS, ref, 0.02)
        assert sorted(i for part in scorer.asked for i in part) == list(range(7))  # each conversation once
        assert scorer.asked[:4] == [[6], [5], [4], [3]] and scorer.asked[4] == [0, 1, 2]  # real chats first
        assert got == check(LABELS, moved, REAL, POINTS, TARGETS, ref, 0.02)
