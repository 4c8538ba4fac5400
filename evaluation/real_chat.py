"""Real chat in both directions: how quiet a model stays on ordinary conversations between real
people, and how much grooming written in real people's register it still catches.

`groomguard evaluate --real-benign FILE [--real-grooming FILE]` adds this block to metrics.json and
report.html (and `groomguard train` runs it on the held-out `real-test` files of the mix). Every
conversation is scored at stride 1, exactly as streaming serving scores it, whatever `--stride`
says for the main set. At each operating point it reports alerts per 1,000 real benign
conversations and recall on the real-register grooming set, each with a seeded bootstrap interval,
and the window-level calibration error over both sets. The TF-IDF baseline, trained on the same
training split, is put beside the model at operating points chosen by the same rule on the same
validation split, so the comparison is like for like.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.errors import DataError
from groomguard.evaluation.bootstrap import bootstrap_ci
from groomguard.evaluation.calibration import reliability
from groomguard.evaluation.summary import EvalSettings, ScoredSet
from groomguard.evaluation.thresholds import select_operating_points
from groomguard.jsonl import iter_jsonl
from groomguard.schema import Conversation
from groomguard.windowing import window_label

REAL_STRIDE = 1


def is_real_benign(conv: Conversation) -> bool:
    """Presumed-benign chat between real people: the population false-alert budgets are set on.

    Label 0 and no synthetic content (benign grafts, being partly synthetic, do not count).
    """
    return conv.label == 0 and "synth" not in (conv.source or "")


def load_real(path: Path, label: int) -> list[Conversation]:
    """A real-chat file: every conversation must be unlabelled or carry `label`; unlabelled ones get it."""
    convs = list(iter_jsonl(path))
    if not convs:
        raise DataError(f"{path}: no conversations")
    wrong = sum(1 for c in convs if c.label is not None and c.label != label)
    if wrong:
        kind = "benign (label 0)" if label == 0 else "grooming (label 1)"
        raise DataError(f"{path}: {wrong} of {len(convs)} conversations are not {kind}")
    return [c if c.label == label else c.model_copy(update={"label": label}) for c in convs]


def _rate_block(flags: np.ndarray, scale: float, settings: EvalSettings) -> dict[str, Any]:
    ci = bootstrap_ci(len(flags), {"v": lambda i: scale * float(flags[i].mean())}, settings.bootstrap_resamples,
                      settings.bootstrap_seed, settings.bootstrap_level)["v"]
    return {"value": scale * float(flags.mean()), "ci_low": ci["low"], "ci_high": ci["high"],
            "count": int(flags.sum()), "n": len(flags)}


def _points(benign_max: np.ndarray, grooming_max: np.ndarray | None, thresholds: dict[str, float],
            settings: EvalSettings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, t in thresholds.items():
        row: dict[str, Any] = {"threshold": t, "alerts_per_1000": _rate_block(benign_max >= t, 1000.0, settings)}
        if grooming_max is not None:
            row["recall"] = _rate_block(grooming_max >= t, 1.0, settings)
        out[name] = row
    return out


def _window_ece(scored: ScoredSet, convs: Sequence[Conversation], bins: int) -> float:
    y = [int(window_label(c, e) or 0) for c, ends in zip(convs, scored.window_ends, strict=True) for e in ends]
    p = [r[e] for r, ends in zip(scored.risk_by_message, scored.window_ends, strict=True) for e in ends]
    return reliability(y, p, bins).ece


def real_chat_block(model_benign: ScoredSet, model_grooming: ScoredSet | None, benign: Sequence[Conversation],
                    grooming: Sequence[Conversation] | None, thresholds: dict[str, float],
                    settings: EvalSettings, paths: dict[str, str], train_authors: set[str] | None = None,
                    baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """The metrics.json `real_chat` block for the model (and the TF-IDF comparison, when given)."""
    b_max = model_benign.conversation_risk
    g_max = model_grooming.conversation_risk if model_grooming is not None else None
    block: dict[str, Any] = {
        "paths": paths, "stride": REAL_STRIDE,
        "n_benign": len(benign), "n_grooming": len(grooming) if grooming is not None else 0,
        "benign_risk_median": float(np.median(b_max)), "benign_risk_p95": float(np.percentile(b_max, 95)),
        "points": _points(b_max, g_max, thresholds, settings),
    }
    both = [*benign, *(grooming or [])]
    sets = [model_benign, *([model_grooming] if model_grooming is not None else [])]
    merged = ScoredSet("model", "", [r for s in sets for r in s.risk_by_message],
                       [e for s in sets for e in s.window_ends], 0.0, {}, "")
    block["window_ece"] = _window_ece(merged, both, settings.calibration_bins)
    if train_authors is not None:
        unseen = np.array([not (set(c.authors) & train_authors) for c in benign])
        block["benign_with_no_training_author"] = {
            "n": int(unseen.sum()),
            "points": _points(b_max[unseen], None, thresholds, settings) if unseen.any() else {},
        }
    if baseline is not None:
        block["tfidf"] = baseline
    return block


def val_operating_points(val: Sequence[Conversation], val_scored: ScoredSet, review_budget: float,
                         high_precision: float, high_budget: float) -> dict[str, float]:
    """A baseline's `review`/`high`, chosen on the validation split by the bundle's own rule."""
    labels = np.array([int(c.label or 0) for c in val])
    real = np.array([is_real_benign(c) for c in val])
    chosen = select_operating_points(labels, val_scored.conversation_risk, real, review_budget, high_precision,
                                     high_budget)
    return {name: p.threshold for name, p in chosen.items()}


def baseline_block(thresholds: dict[str, float], benign_scored: ScoredSet, grooming_scored: ScoredSet | None,
                   settings: EvalSettings) -> dict[str, Any]:
    """TF-IDF at operating points chosen on validation by the model's own rule (`val_operating_points`)."""
    g_max = grooming_scored.conversation_risk if grooming_scored is not None else None
    return {"label": benign_scored.label, "thresholds_from": "validation split, same rule as the bundle",
            "points": _points(benign_scored.conversation_risk, g_max, thresholds, settings)}


def real_chat_lines(metrics: dict[str, Any]) -> list[str]:
    """One line per operating point: alerts on real chat beside recall on real-register grooming."""
    block = metrics.get("real_chat")
    if not block:
        return []
    out = []
    for name, p in block["points"].items():
        a = p["alerts_per_1000"]
        line = (f"real chat @ {name} ({p['threshold']:.3f}): {a['value']:.1f} alerts per 1,000 real conversations "
                f"[{_f(a['ci_low'])}, {_f(a['ci_high'])}] ({a['count']} of {a['n']})")
        if "recall" in p:
            r = p["recall"]
            line += (f"; recall on real-register grooming {r['value']:.3f} [{_f(r['ci_low'], 3)}, "
                     f"{_f(r['ci_high'], 3)}] ({r['count']} of {r['n']})")
        out.append(line)
    return out


def _f(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"
