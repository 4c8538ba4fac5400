"""Seeded bootstrap confidence intervals over conversations (the unit a platform samples)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from groomguard.evaluation.metrics import MetricError

Statistic = Callable[[np.ndarray], float]


def bootstrap_ci(n: int, statistics: Mapping[str, Statistic], n_resamples: int = 1000, seed: int = 0,
                 level: float = 0.95) -> dict[str, dict[str, float | int | None]]:
    """Percentile intervals: each statistic gets the same resampled index arrays (paired bootstrap).

    A statistic may raise MetricError on a degenerate resample (e.g. one class for ROC-AUC); that
    resample is skipped for that statistic and the number kept is reported as `n_resamples`.
    """
    if n <= 0:
        raise MetricError("bootstrap_ci: empty input")
    if n_resamples < 1:
        raise MetricError("bootstrap_ci: n_resamples must be >= 1")
    if not 0.0 < level < 1.0:
        raise MetricError("bootstrap_ci: level must be in (0, 1)")
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {name: [] for name in statistics}
    for _ in range(n_resamples):
        idx = rng.integers(0, n, size=n)
        for name, fn in statistics.items():
            try:
                values[name].append(float(fn(idx)))
            except MetricError:
                continue
    tail = (1.0 - level) / 2.0 * 100.0
    out: dict[str, dict[str, float | int | None]] = {}
    for name, vals in values.items():
        if vals:
            lo, hi = np.percentile(vals, [tail, 100.0 - tail])
            out[name] = {"low": float(lo), "high": float(hi), "n_resamples": len(vals), "level": level}
        else:
            out[name] = {"low": None, "high": None, "n_resamples": 0, "level": level}
    return out
