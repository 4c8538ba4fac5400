"""Per-model evaluation: everything metrics.json holds for the model and for each baseline.

Every scorer (the bundle through the serving engine, TF-IDF, keywords) produces a `ScoredSet` of
per-message risks over the same windows, and this module turns it into one metrics block, so the
three rows of the report are computed by identical code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from groomguard.evaluation.authors import AuthorView, author_metrics
from groomguard.evaluation.bootstrap import bootstrap_ci
from groomguard.evaluation.calibration import reliability
from groomguard.evaluation.early import NO_ALERT, alert_indices, early_detection, latency_f1
from groomguard.evaluation.metrics import MetricError, average_precision, metrics_at, roc_auc
from groomguard.schema import Conversation
from groomguard.windowing import window_label


@dataclass
class ScoredSet:
    """One scorer's output on the labelled set: risk after each message, from windows ending at `window_ends`."""

    name: str
    label: str  # human-readable row name
    risk_by_message: list[list[float]]
    window_ends: list[list[int]]
    seconds: float  # scoring wall time (not training)
    thresholds: dict[str, float]  # named operating points, e.g. {"review": 0.5, "high": 0.8}
    primary: str  # the operating point used for headline F1 / latency
    notes: list[str] = field(default_factory=list)
    variant: str = ""  # the model variant the serving engine ran (engine.variant auto resolved)
    runtime: str = ""  # what ran it: the ONNX Runtime provider, or OpenVINO for bf16
    # the served model's parts, each as a probability after each message (`transformer`, `lexical`):
    # filled only for a bundle with a lexical head, so the report can show what each part ranks alone
    parts: dict[str, list[list[float]]] = field(default_factory=dict)

    def part_risk(self, name: str) -> np.ndarray:
        return np.array([max(r) for r in self.parts[name]], dtype=np.float64)

    @property
    def n_windows(self) -> int:
        return sum(len(e) for e in self.window_ends)

    @property
    def conversation_risk(self) -> np.ndarray:
        return np.array([max(r) for r in self.risk_by_message], dtype=np.float64)


@dataclass(frozen=True)
class EvalSettings:
    """The knobs `summarise` needs (values come from configs/eval.yaml via EvalConfig)."""

    latency_p: float
    calibration_bins: int
    bootstrap_resamples: int
    bootstrap_seed: int
    bootstrap_level: float


def _maybe(fn: object, *args: object) -> float | None:
    try:
        return float(fn(*args))  # type: ignore[operator]
    except MetricError:
        return None


def summarise(scored: ScoredSet, convs: Sequence[Conversation], settings: EvalSettings) -> dict[str, object]:
    """The metrics block for one scorer (see docs/evaluation.md for every key)."""
    if not convs:
        raise MetricError("summarise: no conversations")
    labels = np.array([c.label for c in convs], dtype=np.int64)
    risk = scored.conversation_risk
    first_risk = [c.first_risk_index for c in convs]
    views = [AuthorView([m.author for m in c.messages], ends, r, c.predator_ids)
             for c, ends, r in zip(convs, scored.window_ends, scored.risk_by_message, strict=True)]

    points: dict[str, object] = {}
    early: dict[str, object] = {}
    authors: dict[str, object] = {}
    alerts_by_name: dict[str, np.ndarray] = {}
    for name, t in scored.thresholds.items():
        points[name] = metrics_at(labels, risk, t).as_dict()
        alerts = alert_indices(scored.risk_by_message, t)
        alerts_by_name[name] = alerts
        early[name] = {"threshold": t, **early_detection(labels, alerts, first_risk, settings.latency_p)}
        authors[name] = {"threshold": t, **author_metrics(views, alerts != NO_ALERT)}

    win_y: list[int] = []
    win_p: list[float] = []
    for c, ends, r in zip(convs, scored.window_ends, scored.risk_by_message, strict=True):
        for e in ends:
            win_y.append(int(window_label(c, e) or 0))
            win_p.append(r[e])
    calib = reliability(win_y, win_p, settings.calibration_bins).as_dict()

    primary_t = scored.thresholds[scored.primary]
    primary_alerts = alerts_by_name[scored.primary]

    def f_at(beta_key: str) -> object:
        def stat(idx: np.ndarray) -> float:
            return float(metrics_at(labels[idx], risk[idx], primary_t).as_dict()[beta_key])
        return stat

    def flat(idx: np.ndarray) -> float:
        return latency_f1(labels[idx], primary_alerts[idx], settings.latency_p)["f_latency"]

    ci = bootstrap_ci(
        len(convs),
        {"roc_auc": lambda i: roc_auc(labels[i], risk[i]),
         "pr_auc": lambda i: average_precision(labels[i], risk[i]),
         "f1": f_at("f1"), "f0_5": f_at("f0_5"), "f_latency": flat},  # type: ignore[dict-item]
        settings.bootstrap_resamples, settings.bootstrap_seed, settings.bootstrap_level,
    )
    primary_early = early[scored.primary]
    assert isinstance(primary_early, dict)
    primary_point = points[scored.primary]
    assert isinstance(primary_point, dict)
    throughput = scored.n_windows / scored.seconds if scored.seconds > 0 else None
    headline = {
        "operating_point": scored.primary, "threshold": primary_t,
        "roc_auc": _maybe(roc_auc, labels, risk), "pr_auc": _maybe(average_precision, labels, risk),
        "f1": primary_point["f1"], "f0_5": primary_point["f0_5"],
        "median_messages_to_detection": primary_early["messages_to_detection"]["median"],
        "f_latency": primary_early["f_latency"], "throughput_windows_per_s": throughput,
    }
    return {
        "name": scored.name, "label": scored.label, "notes": scored.notes,
        "n_conversations": len(convs), "n_positive": int(labels.sum()), "n_windows": scored.n_windows,
        "scoring_seconds": scored.seconds, "throughput_windows_per_s": throughput,
        "roc_auc": headline["roc_auc"], "pr_auc": headline["pr_auc"],
        "headline": headline, "thresholds": points, "early_detection": early, "author_level": authors,
        "calibration": calib, "confidence_intervals": ci,
        "confusion": {n: {k: p[k] for k in ("tp", "fp", "tn", "fn")} for n, p in points.items()  # type: ignore[index]
                      },
    }

