"""The export's budget check: do the thresholds chosen on fp32 hold on each variant served?

Thresholds are chosen on fp32 ONNX Runtime risks of the validation conversations (every prefix
window, running max). A faster variant (bf16, int8, fused) moves risks by up to its recorded
max |Δ risk|, which can carry a real validation chat over `review` or a grooming one under it: the
alert budget the report promises would then not be the served one. So the export scores the
validation conversations again with the variant and applies the *same* thresholds:

- alerts per 1,000 real benign validation chats within `thresholds.review_alerts_per_1000` at
  `review` and `thresholds.high_alerts_per_1000` at `high`;
- recall at `review` and at `high` no more than `export.budget_recall_tolerance` below fp32's.

The result is recorded per variant (`bundle.json` `variants.<name>.budget_check`) and `engine.variant:
auto` serves only variants that passed (serving/variant_choice.py). Scoring every validation window
again costs a pass per variant, so by default (`export.budget_check: served`) variants are checked in
`auto`'s order on this machine until one passes — the one this machine would serve. A variant that
fails on alerts usually fails early: the real chats are scored first, riskiest (by fp32) first, in
`REAL_CHUNKS` parts, and the check stops as soon as the alerts already counted exceed a budget (more
chats can only add alerts, so the figure recorded is a lower bound and the verdict is the full pass's). A `fused-fp16`
variant (a GPU graph, made only when `export.fused_fp16` asks for it) is always checked, its risks
computed on the CPU: it is what `auto` serves on a GPU provider once it passed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.bundle import MODEL_FILES, BudgetCheck, OperatingPointInfo, VariantInfo
from groomguard.evaluation.thresholds import point_stats
from groomguard.serving.variant_choice import ranked_cpu_variants
from groomguard.training.train_config import ExportSettings, ThresholdTargets

REAL_CHUNKS = 5  # parts the real validation chats are scored in before the rest (early stop on alerts)


def alert_limit(point: str, targets: ThresholdTargets, reference: BudgetCheck) -> float:
    """Alerts per 1,000 real chats a variant may raise at `point`: the budget, or fp32's own figure
    where fp32 itself sits above a budget it cannot meet (ties at one score): never more than fp32."""
    budget = targets.review_alerts_per_1000 if point == "review" else targets.high_alerts_per_1000
    own = getattr(reference, f"{point}_alerts_per_1000_real")
    return max(budget, own) if own is not None else budget


def check(labels: np.ndarray, conv_risk: np.ndarray, real: np.ndarray, points: dict[str, OperatingPointInfo],
          targets: ThresholdTargets, reference: BudgetCheck | None, recall_tolerance: float) -> BudgetCheck:
    """The thresholds in `points` applied to one variant's conversation risks; `reference` is fp32's
    check (None: this is fp32, which only records its figures)."""
    stats = {name: point_stats(p.threshold, labels, conv_risk, real, p.rule) for name, p in points.items()}
    figures: dict[str, Any] = {
        "review_alerts_per_1000_real": stats["review"].alerts_per_1000_real,
        "high_alerts_per_1000_real": stats["high"].alerts_per_1000_real,
        "review_recall": stats["review"].recall, "high_recall": stats["high"].recall,
    }
    if reference is None:
        return BudgetCheck(passed=True, detail="fp32: the risks the thresholds were chosen on", **figures)
    problems = []
    for point in ("review", "high"):
        alerts, limit = figures[f"{point}_alerts_per_1000_real"], alert_limit(point, targets, reference)
        if alerts is not None and alerts > limit + 1e-9:
            problems.append(f"{point}: {alerts:.1f} alerts per 1,000 real chats > {limit:g}")
        recall, ref = figures[f"{point}_recall"], getattr(reference, f"{point}_recall")
        if recall is not None and ref is not None and recall < ref - recall_tolerance - 1e-9:
            problems.append(f"{point}: recall {recall:.3f} < fp32's {ref:.3f} - {recall_tolerance:g}")
    return BudgetCheck(passed=not problems, detail="; ".join(problems) or "within the budgets and fp32's recall",
                       **figures)


Scorer = Callable[[Any, np.ndarray], np.ndarray]  # (session, conversation indices) -> their risks


def check_scoring(score: Scorer, sess: Any, fp32_conv_risk: np.ndarray, labels: np.ndarray, real: np.ndarray,
                  points: dict[str, OperatingPointInfo], targets: ThresholdTargets, reference: BudgetCheck,
                  recall_tolerance: float) -> BudgetCheck:
    """`check` on a variant's risks, scored real chats first (riskiest by fp32 first, `REAL_CHUNKS`
    parts), stopping as soon as the alerts counted so far exceed a point's limit."""
    risk = np.full(len(fp32_conv_risk), -np.inf)
    idx = np.flatnonzero(real)
    order = idx[np.argsort(-fp32_conv_risk[idx], kind="stable")]
    n_real, done = len(idx), 0
    for part in np.array_split(order, min(REAL_CHUNKS, len(order))) if len(order) else []:
        risk[part] = score(sess, part)
        done += len(part)
        if done == n_real:
            break
        for point in ("review", "high"):
            # unscored chats sit at -inf: the count so far, over all real chats, is a lower bound
            alerts = point_stats(points[point].threshold, labels, risk, real, "").alerts_per_1000_real or 0.0
            limit = alert_limit(point, targets, reference)
            if alerts > limit + 1e-9:
                return BudgetCheck(passed=False, **{f"{point}_alerts_per_1000_real": alerts},
                                   detail=f"{point}: at least {alerts:.1f} alerts per 1,000 real chats > {limit:g} "
                                          f"(stopped after {done} of {n_real} real chats, riskiest first: the rest "
                                          "can only add alerts)")
    rest = np.flatnonzero(~real)
    if len(rest):
        risk[rest] = score(sess, rest)
    return check(labels, risk, real, points, targets, reference, recall_tolerance)


def check_variants(variants: dict[str, VariantInfo], out_dir: Path, score: Scorer,
                   fp32_conv_risk: np.ndarray, labels: np.ndarray, real: np.ndarray,
                   points: dict[str, OperatingPointInfo], targets: ThresholdTargets, settings: ExportSettings,
                   threads: int, say: Callable[[str], None] = print) -> None:
    """Record `budget_check` on `variants` (in place). `score(session, indices)` returns a variant's
    risks (calibrated, running max) of those validation conversations, from an ONNX-Runtime-shaped
    session."""
    from groomguard.serving.backends.openvino import native_bf16
    from groomguard.training.export.variants import bf16_session, session

    fp32 = variants["fp32"]
    fp32.budget_check = check(labels, fp32_conv_risk, real, points, targets, None, 0.0)
    order: list[str] = list(ranked_cpu_variants(variants, None, float("inf"), "bf16" in variants and native_bf16(),
                                                require_budget=False))
    if settings.budget_check == "all":
        order += [v for v in variants if v not in order and v not in ("fp32", "fp16", "fused-fp16")]
    # a GPU variant the export made is checked whatever this machine would serve (the CPU computes its
    # risks, fp16 rounding included): without a passed check `auto` never serves it on a GPU
    gpu = [v for v in variants if v == "fused-fp16"]

    def checked(name: str) -> bool:
        path = out_dir / MODEL_FILES[name]
        sess = bf16_session(path, threads) if name == "bf16" else session(path, threads)
        assert fp32.budget_check is not None
        result = check_scoring(score, sess, fp32_conv_risk, labels, real, points, targets, fp32.budget_check,
                               settings.budget_recall_tolerance)
        variants[name].budget_check = result
        say(f"budget check {name}: {'passed' if result.passed else 'FAILED'} (review "
            f"{_f(result.review_alerts_per_1000_real)} / high {_f(result.high_alerts_per_1000_real)} alerts per "
            f"1,000 real val chats, recall {_f(result.review_recall, 3)} / {_f(result.high_recall, 3)}; "
            f"{result.detail})")
        return result.passed

    for name in order:
        if checked(name) and settings.budget_check == "served":
            break
    for name in gpu:
        checked(name)


def _f(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"
