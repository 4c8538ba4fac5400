"""Matplotlib figures for the report, returned as base64 PNG so the HTML needs no network or files."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from groomguard.evaluation.early import alert_indices, detection_curve
from groomguard.evaluation.metrics import MetricError, metrics_at, pr_curve, roc_curve

COLOURS = ["#1f4e9c", "#d1731a", "#3a8f3a", "#8e3b9c"]
MARKERS = {"review": "o", "high": "s", "default": "D"}


def _figure(width: float = 6.0, height: float = 4.0) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def to_base64(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def pr_roc(sets: Sequence[Any], labels: np.ndarray) -> str | None:
    """PR and ROC curves of every scorer, operating points marked. None with a single class."""
    if labels.min() == labels.max():
        return None
    fig = _figure(11, 4.4)
    ax_pr, ax_roc = fig.subplots(1, 2)
    for colour, s in zip(COLOURS, sets, strict=False):
        risk = s.conversation_risk
        precision, recall, _ = pr_curve(labels, risk)
        ax_pr.step(np.r_[0.0, recall], np.r_[precision[0], precision], where="post", color=colour, label=s.label)
        fpr, tpr, _ = roc_curve(labels, risk)
        ax_roc.plot(fpr, tpr, color=colour, label=s.label)
        for name, t in s.thresholds.items():
            p = metrics_at(labels, risk, t)
            fp_rate = p.fp / max(p.fp + p.tn, 1)
            marker = MARKERS.get(name, "^")
            ax_pr.plot(p.recall, p.precision, marker, color=colour, markersize=8, markeredgecolor="black")
            ax_roc.plot(fp_rate, p.recall, marker, color=colour, markersize=8, markeredgecolor="black")
            ax_pr.annotate(f"{name} {t:.2f}", (p.recall, p.precision), textcoords="offset points", xytext=(5, 5),
                           fontsize=7, color=colour)
    ax_roc.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax_pr.axhline(labels.mean(), linestyle=":", color="grey")
    ax_pr.set(xlabel="recall (share of grooming conversations caught)", ylabel="precision (share of alerts correct)",
              title="Precision-recall", xlim=(0, 1.02), ylim=(0, 1.02))
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC", xlim=(0, 1), ylim=(0, 1.02))
    ax_pr.legend(fontsize=8, loc="lower left")
    return to_base64(fig)


def score_distributions(sets: Sequence[Any], labels: np.ndarray) -> str:
    """Histogram of conversation risk (max over the conversation) by class, per scorer."""
    fig = _figure(4.0 * len(sets), 3.4)
    axes = np.atleast_1d(fig.subplots(1, len(sets)))
    bins = np.linspace(0, 1, 26)
    for ax, s in zip(axes, sets, strict=True):
        risk = s.conversation_risk
        ax.hist(risk[labels == 0], bins=bins, alpha=0.6, color="#3a8f3a", label="not grooming")
        ax.hist(risk[labels == 1], bins=bins, alpha=0.6, color="#c0392b", label="grooming")
        for name, t in s.thresholds.items():
            ax.axvline(t, color="black", linestyle="--" if name != "high" else ":", linewidth=1)
        ax.set(title=s.label, xlabel="conversation risk", ylabel="conversations")
        ax.title.set_fontsize(9)
    axes[0].legend(fontsize=8)
    return to_base64(fig)


def latency_curve(sets: Sequence[Any], labels: np.ndarray) -> str | None:
    """Share of grooming conversations detected within k messages, at each scorer's primary threshold."""
    if labels.sum() == 0:
        return None
    fig = _figure(7, 4)
    ax = fig.subplots()
    longest = 1
    for colour, s in zip(COLOURS, sets, strict=False):
        alerts = alert_indices(s.risk_by_message, s.thresholds[s.primary])
        curve = detection_curve(labels, alerts, max_k=max(len(r) for r in s.risk_by_message))
        longest = max(longest, len(curve["k"]))
        ax.step(curve["k"], curve["detected_share"], where="post", color=colour,
                label=f"{s.label} (at {s.primary} {s.thresholds[s.primary]:.2f})")
    ax.set(xlabel="messages read", ylabel="share of grooming conversations detected", ylim=(0, 1.02),
           xlim=(1, longest), title="Detection latency")
    ax.legend(fontsize=8, loc="lower right")
    return to_base64(fig)


def calibration_curve(rel: dict[str, Any], title: str) -> str:
    """Reliability diagram (window level) with the share of windows in each bin."""
    fig = _figure(5, 4.4)
    ax, ax_n = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfect calibration")
    ax.plot(rel["mean_predicted"], rel["observed_rate"], "o-", color=COLOURS[0], label="model")
    ax.set(ylabel="observed grooming rate", title=f"{title} (ECE {rel['ece']:.3f})", ylim=(0, 1.02))
    ax.legend(fontsize=8)
    ax_n.bar(rel["mean_predicted"], rel["counts"], width=0.05, color=COLOURS[0])
    ax_n.set(xlabel="predicted risk (window)", ylabel="windows", xlim=(0, 1))
    return to_base64(fig)


def safe(fn: Any, *args: Any) -> str | None:
    """A plot that cannot be drawn (degenerate data) is left out, not fatal."""
    try:
        return fn(*args)  # type: ignore[no-any-return]
    except MetricError:
        return None
