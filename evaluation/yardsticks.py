"""Yardsticks the generator did not write, each with TF-IDF trained on the same training file beside
the model at operating points chosen by the same rule on the same validation file (issue 23).

Why: the synthetic test split and the grafted real-register grooming reuse the training tactic
pools, which n-grams memorise, so on them a bag of words ties with the transformer and says nothing
about whether the model understands grooming. Three measures do not share that weakness:

- **template-disjoint** (`disjoint_block`): the same metrics on synthetic conversations and grafts
  drawn from the *other* half of every pool (`data synth --pool-half`, `pools:` in the mix config),
  beside the same-pool ones: the gap is what memorised phrasing was worth;
- **hand-written dev** (`handwritten_block`, data/handwritten/): conversations written one by one,
  outside the generator. Labelled "dev" everywhere: recipe choices may look at it, thresholds never;
- **full-length real chat** (`real_full_block`): every held-out real conversation with >= 10
  messages at full length, by length bucket: a running maximum only grows with length, so a budget
  checked on short chats does not hold on long ones.

Real chat and the hand-written set are scored at stride 1, as serving scores them. The two synthetic
test sets (same-pool: the main `--input` set; disjoint) share the main set's stride, so they compare
like for like (`make model` evaluates at stride 5 to stay within its time budget; `groomguard
evaluate` defaults to 1). A conversation alerts at a threshold when its running maximum reaches it
(`groomguard.scores` rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.errors import DataError
from groomguard.evaluation.bootstrap import bootstrap_ci
from groomguard.evaluation.early import NO_ALERT, alert_indices
from groomguard.evaluation.metrics import MetricError, roc_auc
from groomguard.evaluation.summary import EvalSettings, ScoredSet
from groomguard.jsonl import iter_jsonl
from groomguard.schema import Conversation

LENGTH_BUCKETS: tuple[tuple[str, int, int], ...] = (("10-30", 10, 30), ("31-60", 31, 60), ("61-150", 61, 150),
                                                    (">150", 151, 10**9))
# A scorer: conversations -> a ScoredSet (the bundle through the serving engine, or TF-IDF).
Scorer = Callable[[Sequence[Conversation], str], ScoredSet]


@dataclass(frozen=True)
class YardstickPaths:
    """Files of the yardsticks (`groomguard evaluate --handwritten ... --real-full ...`; `make model`
    passes the mix's files). Any may be None: that yardstick is not measured and the report says so."""

    handwritten: Path | None = None  # data/handwritten (a directory of JSONL) or one file
    real_full: Path | None = None  # real-test-full.jsonl
    test_disjoint: Path | None = None  # synthetic conversations from the other pool half
    grafted_disjoint: Path | None = None  # real-test grafts from the other pool half
    grafted_same: Path | None = None  # real-test grafts from the training half

    def any(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))


def load_handwritten(path: Path) -> list[Conversation]:
    """Every *.jsonl under `path` (a directory) or `path` itself; every conversation labelled."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    convs = [c for f in files for c in iter_jsonl(f)]
    if not convs:
        raise DataError(f"{path}: no conversations")
    unlabelled = [c.conversation_id for c in convs if c.label is None]
    if unlabelled:
        raise DataError(f"{path}: {len(unlabelled)} conversations have no label (first: {unlabelled[0]})")
    return convs


def _auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    try:
        return float(roc_auc(labels.tolist(), scores.tolist())) if len(set(labels.tolist())) == 2 else None
    except MetricError:
        return None


def _rate(flags: np.ndarray) -> float | None:
    return float(flags.mean()) if flags.size else None


def handwritten_metrics(scored: ScoredSet, convs: Sequence[Conversation], review: float) -> dict[str, Any]:
    """The dev-set figures for one scorer at its `review` threshold."""
    y = np.array([int(c.label or 0) for c in convs])
    risk = scored.conversation_risk
    flagged = risk >= review
    tp, fp = int((flagged & (y == 1)).sum()), int((flagged & (y == 0)).sum())
    pos = int(y.sum())
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / pos if pos else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else 0.0
    tags = [set(c.tags) for c in convs]
    hard = np.array(["kind:hard-negative" in t for t in tags])
    teen = np.array(["kind:teen-peer" in t for t in tags])
    french = np.array([c.lang == "fr" for c in convs])
    alerts = alert_indices(scored.risk_by_message, review)
    latency = [int(a) - int(c.first_risk_index) for a, c in zip(alerts, convs, strict=True)
               if c.label == 1 and a != NO_ALERT and c.first_risk_index is not None]
    return {
        "threshold": review, "roc_auc": _auc(y, risk), "roc_auc_french": _auc(y[french], risk[french]),
        "roc_auc_english": _auc(y[~french], risk[~french]),
        "recall": recall, "precision": precision, "f1": f1, "tp": tp, "fp": fp, "n_positive": pos,
        "hard_negative_alert_rate": _rate(flagged[hard & (y == 0)]), "n_hard_negative": int((hard & (y == 0)).sum()),
        "teen_peer_alert_rate": _rate(flagged[teen & (y == 0)]), "n_teen_peer": int((teen & (y == 0)).sum()),
        "benign_alert_rate": _rate(flagged[y == 0]),
        # messages from the first risky message to the first alert (negative: alerted before anything risky)
        "alert_latency_median": float(np.median(latency)) if latency else None,
        "alert_latency_n": len(latency),
        **_parts(scored, y, french),
    }


def _parts(scored: ScoredSet, y: np.ndarray, french: np.ndarray | None = None) -> dict[str, Any]:
    """ROC-AUC of each part of a hybrid model on its own (transformer, lexical head): the report shows
    what each part ranks, beside what the combination serves. Empty for a transformer-only bundle."""
    if not scored.parts:
        return {}
    out: dict[str, Any] = {"parts_roc_auc": {name: _auc(y, scored.part_risk(name)) for name in scored.parts}}
    if french is not None:
        out["parts_roc_auc_french"] = {name: _auc(y[french], scored.part_risk(name)[french]) for name in scored.parts}
    return out


def handwritten_block(model: ScoredSet, tfidf: ScoredSet | None, convs: Sequence[Conversation],
                      thresholds: dict[str, float], tfidf_thresholds: dict[str, float] | None,
                      path: Path) -> dict[str, Any]:
    y = [int(c.label or 0) for c in convs]
    block: dict[str, Any] = {
        "label": "hand-written DEV set (recipe choices may look at it; never trained on or used for thresholds)",
        "path": str(path), "n": len(convs), "n_grooming": sum(y), "n_french": sum(c.lang == "fr" for c in convs),
        "model": handwritten_metrics(model, convs, thresholds["review"]),
    }
    if tfidf is not None and tfidf_thresholds is not None:
        block["tfidf"] = handwritten_metrics(tfidf, convs, tfidf_thresholds["review"])
    return block


def _alerts(flags: np.ndarray, settings: EvalSettings) -> dict[str, Any]:
    if not flags.size:
        return {"value": None, "ci_low": None, "ci_high": None, "count": 0, "n": 0}
    ci = bootstrap_ci(len(flags), {"v": lambda i: 1000.0 * float(flags[i].mean())}, settings.bootstrap_resamples,
                      settings.bootstrap_seed, settings.bootstrap_level)["v"]
    return {"value": 1000.0 * float(flags.mean()), "ci_low": ci["low"], "ci_high": ci["high"],
            "count": int(flags.sum()), "n": len(flags)}


def full_length_alerts(scored: ScoredSet, convs: Sequence[Conversation], thresholds: dict[str, float],
                       settings: EvalSettings) -> dict[str, Any]:
    """Alerts per 1,000 at each threshold, overall and by length bucket."""
    risk = scored.conversation_risk
    lengths = np.array([len(c.messages) for c in convs])
    out: dict[str, Any] = {}
    for name in ("review", "high"):
        t = thresholds[name]
        row: dict[str, Any] = {"threshold": t, "alerts_per_1000": _alerts(risk >= t, settings), "by_length": {}}
        for bucket, lo, hi in LENGTH_BUCKETS:
            mask = (lengths >= lo) & (lengths <= hi)
            row["by_length"][bucket] = _alerts((risk >= t)[mask], settings)
        out[name] = row
    return out


def real_full_block(model: ScoredSet, tfidf: ScoredSet | None, convs: Sequence[Conversation],
                    thresholds: dict[str, float], tfidf_thresholds: dict[str, float] | None,
                    settings: EvalSettings, path: Path) -> dict[str, Any]:
    block: dict[str, Any] = {
        "label": "held-out real chat (real-test rule), every conversation with >= 10 messages, full length",
        "path": str(path), "n": len(convs),
        "messages_median": float(np.median([len(c.messages) for c in convs])),
        "messages_max": max(len(c.messages) for c in convs),
        "model": full_length_alerts(model, convs, thresholds, settings),
    }
    if tfidf is not None and tfidf_thresholds is not None:
        block["tfidf"] = full_length_alerts(tfidf, convs, tfidf_thresholds, settings)
    return block


def _pair(scored: ScoredSet, convs: Sequence[Conversation], review: float) -> dict[str, Any]:
    y = np.array([int(c.label or 0) for c in convs])
    risk = scored.conversation_risk
    pos = y == 1
    return {"roc_auc": _auc(y, risk), "recall_at_review": float((risk[pos] >= review).mean()) if pos.any() else None,
            "n": len(convs), "n_grooming": int(pos.sum()), **_parts(scored, y)}


def disjoint_block(sets: dict[str, tuple[Sequence[Conversation], ScoredSet, ScoredSet | None]],
                   thresholds: dict[str, float], tfidf_thresholds: dict[str, float] | None,
                   paths: dict[str, str], strides: dict[str, int]) -> dict[str, Any]:
    """`sets`: name -> (conversations, model scores, TF-IDF scores); names like synthetic_same_pool,
    synthetic_disjoint, grafted_same_pool, grafted_disjoint. `strides`: the stride each set was scored at."""
    block: dict[str, Any] = {"label": "template-disjoint: trained on pool half A, tested on half B, beside the "
                                      "same-pool sets", "paths": paths}
    for name, (convs, model, tfidf) in sets.items():
        row: dict[str, Any] = {"stride": strides[name], "model": _pair(model, convs, thresholds["review"])}
        if tfidf is not None and tfidf_thresholds is not None:
            row["tfidf"] = _pair(tfidf, convs, tfidf_thresholds["review"])
        block[name] = row
    return block


def yardstick_lines(metrics: dict[str, Any]) -> list[str]:
    """Console summary (printed by `groomguard train` and `evaluate`)."""
    y = metrics.get("yardsticks") or {}
    out: list[str] = []

    def f(x: Any, d: int = 3) -> str:
        return "–" if x is None else f"{x:.{d}f}"

    hw = y.get("handwritten")
    if hw:
        for who in ("model", "tfidf"):
            if who in hw:
                m = hw[who]
                out.append(f"hand-written DEV ({hw['n']}) {who}: ROC-AUC {f(m['roc_auc'])} (French "
                           f"{f(m['roc_auc_french'])}), recall {f(m['recall'])}, precision {f(m['precision'])}, F1 "
                           f"{f(m['f1'])} at review; hard-negative alerts {f(m['hard_negative_alert_rate'], 2)}, "
                           f"teen-peer {f(m['teen_peer_alert_rate'], 2)}; "
                           f"alert latency {f(m['alert_latency_median'], 1)}")
        out.extend(_part_lines(f"hand-written DEV ({hw['n']})", hw.get("model", {})))
    full = y.get("real_full")
    if full:
        for who in ("model", "tfidf"):
            if who in full:
                r, h = full[who]["review"]["alerts_per_1000"], full[who]["high"]["alerts_per_1000"]
                out.append(f"full-length real chat ({full['n']}) {who}: {f(r['value'], 1)} / {f(h['value'], 1)} alerts "
                           "per 1,000 at review / high")
    dis = y.get("disjoint")
    if dis:
        for name, row in dis.items():
            if isinstance(row, dict) and "model" in row:
                parts = [f"{who} AUC {f(row[who]['roc_auc'])} recall {f(row[who]['recall_at_review'])}"
                         for who in ("model", "tfidf") if who in row]
                out.append(f"{name}: " + "; ".join(parts))
                out.extend(_part_lines(name, row["model"]))
    return out


def _part_lines(where: str, model: dict[str, Any]) -> list[str]:
    parts = model.get("parts_roc_auc")
    if not parts:
        return []
    each = ", ".join(f"{name} {'–' if v is None else f'{v:.3f}'}" for name, v in parts.items())
    return [f"{where} model parts alone: ROC-AUC {each}"]


def yardstick_headline(metrics: dict[str, Any]) -> dict[str, float]:
    """Flat numbers for bundle.json, the model card and MLflow (model and TF-IDF side by side)."""
    y = metrics.get("yardsticks") or {}
    out: dict[str, float] = {}
    hw = y.get("handwritten") or {}
    for who in ("model", "tfidf"):
        m = hw.get(who)
        for key in ("roc_auc", "roc_auc_french", "f1", "recall", "precision", "hard_negative_alert_rate",
                    "teen_peer_alert_rate", "alert_latency_median"):
            if m and m.get(key) is not None:
                out[f"dev_handwritten_{who}_{key}"] = float(m[key])
    for part, v in ((hw.get("model") or {}).get("parts_roc_auc") or {}).items():
        if v is not None:
            out[f"dev_handwritten_{part}_part_roc_auc"] = float(v)
    full = y.get("real_full") or {}
    for who in ("model", "tfidf"):
        for point in ("review", "high"):
            v = ((full.get(who) or {}).get(point) or {}).get("alerts_per_1000", {}).get("value")
            if v is not None:
                out[f"real_full_{who}_{point}_alerts_per_1000"] = float(v)
    for name, row in (y.get("disjoint") or {}).items():
        if isinstance(row, dict) and "model" in row:
            for who in ("model", "tfidf"):
                for key in ("roc_auc", "recall_at_review"):
                    v = (row.get(who) or {}).get(key)
                    if v is not None:
                        out[f"{name}_{who}_{key}"] = float(v)
            for part, v in (row["model"].get("parts_roc_auc") or {}).items():
                if v is not None:
                    out[f"{name}_{part}_part_roc_auc"] = float(v)
    return out
