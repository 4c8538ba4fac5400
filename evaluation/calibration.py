"""Calibration: reliability curve and expected calibration error (ECE).

Risk is calibrated per *window* (temperature scaling on window labels), so calibration is measured
on windows against `window_label`, not on the conversation maximum (which is biased upwards by design).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groomguard.evaluation.metrics import Labels, MetricError, Scores


@dataclass(frozen=True)
class Reliability:
    """Per equal-width bin: mean predicted risk, observed positive rate, count (empty bins dropped)."""

    bin_edges: list[float]
    mean_predicted: list[float]
    observed_rate: list[float]
    counts: list[int]
    ece: float

    def as_dict(self) -> dict[str, object]:
        return {"ece": self.ece, "bin_edges": self.bin_edges, "mean_predicted": self.mean_predicted,
                "observed_rate": self.observed_rate, "counts": self.counts}


def reliability(labels: Labels, probs: Scores, n_bins: int = 10) -> Reliability:
    """Equal-width bins on [0, 1]; a probability of exactly 1.0 falls in the last bin.

    ECE = sum over bins of (n_bin / n) * |observed rate - mean predicted|.
    """
    y = np.asarray(labels, dtype=np.float64).ravel()
    p = np.asarray(probs, dtype=np.float64).ravel()
    if y.size == 0:
        raise MetricError("reliability: empty input")
    if y.shape != p.shape:
        raise MetricError(f"reliability: labels and probabilities differ in length ({y.size} vs {p.size})")
    if n_bins < 1:
        raise MetricError("reliability: n_bins must be >= 1")
    if (p < 0).any() or (p > 1).any() or np.isnan(p).any():
        raise MetricError("reliability: probabilities must lie in [0, 1]")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    mean_pred: list[float] = []
    observed: list[float] = []
    counts: list[int] = []
    ece = 0.0
    for b in range(n_bins):
        mask = idx == b
        n = int(mask.sum())
        if n == 0:
            continue
        mp, ob = float(p[mask].mean()), float(y[mask].mean())
        mean_pred.append(mp)
        observed.append(ob)
        counts.append(n)
        ece += n / y.size * abs(ob - mp)
    return Reliability([float(e) for e in edges], mean_pred, observed, counts, float(ece))
