"""Which conversation-level rule? Compare the running maximum with rules that need sustained evidence.

A running maximum of window risks is a multiple test: every message is another chance for one
window to cross the threshold, so false alerts grow with conversation length (issue 23: 0.8 % of
10-30-message real chats at `review`, 22 % of those over 150 messages). The rules compared here all
turn the window risks r_1..r_i into an alert score s_i; a conversation alerts when max_i s_i reaches
the threshold, and each rule's thresholds are chosen on the validation conversations by the bundle's
own rule (evaluation/thresholds.py select_operating_points), then measured on yardsticks nobody tuned
on: full-length held-out real chat by length bucket, the hand-written dev set, template-disjoint
grafts. Rules (groomguard/scores.py `alert_scores` serves the chosen one):

- `max`: s_i = r_i (today);
- `k_of_n`: s_i = the k-th highest of the last n window risks (k windows of n must agree);
- `mean_n`: s_i = mean of the last n window risks.

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.conversation_rules --bundle models/bundles/demo \
        --mix data/demo --handwritten data/handwritten -o reports/conversation-rules.json

Scores every set once with the served engine (stride 1), then evaluates every rule on the cached
window risks.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.evaluation.real_chat import is_real_benign
from groomguard.evaluation.thresholds import select_operating_points
from groomguard.evaluation.yardsticks import LENGTH_BUCKETS
from groomguard.jsonl import iter_jsonl
from groomguard.schema import Conversation
from groomguard.scores import alert_scores

RULES: list[dict[str, Any]] = [{"rule": "max"}, *({"rule": "k_of_n", "k": k, "n": n} for k, n in
                                                  ((2, 3), (2, 5), (3, 5), (3, 8), (4, 8))),
                               *({"rule": "mean_n", "n": n} for n in (3, 5))]


def conv_scores(risks: Sequence[Sequence[float]], rule: dict[str, Any]) -> np.ndarray:
    return np.array([max(alert_scores(r, rule["rule"], rule.get("k", 1), rule.get("n", 1))) for r in risks])


def evaluate_rules(sets: dict[str, tuple[list[Conversation], list[list[float]]]], review_budget: float,
                   high_precision: float, high_budget: float) -> list[dict[str, Any]]:
    val_convs, val_risks = sets["val"]
    labels = np.array([int(c.label or 0) for c in val_convs])
    real = np.array([is_real_benign(c) for c in val_convs])
    rows = []
    for rule in RULES:
        val = conv_scores(val_risks, rule)
        points = select_operating_points(labels, val, real, review_budget, high_precision, high_budget)
        t = {name: p.threshold for name, p in points.items()}
        row: dict[str, Any] = {**rule, "review": t["review"], "high": t["high"],
                               "val_review_recall": points["review"].recall}
        for name, (convs, risks) in sets.items():
            if name == "val":
                continue
            s = conv_scores(risks, rule)
            y = np.array([int(c.label or 0) for c in convs])
            if name == "real_full":
                lengths = np.array([len(c.messages) for c in convs])
                for point in ("review", "high"):
                    row[f"real_full_{point}_per_1000"] = 1000.0 * float((s >= t[point]).mean())
                for bucket, lo, hi in LENGTH_BUCKETS:
                    mask = (lengths >= lo) & (lengths <= hi)
                    row[f"real_full_review_{bucket}"] = 1000.0 * float((s[mask] >= t["review"]).mean())
            elif y.min() == 1:  # grooming only: recall
                row[f"{name}_recall"] = float((s >= t["review"]).mean())
            else:
                from groomguard.evaluation.metrics import roc_auc

                flagged = s >= t["review"]
                tp, fp = int((flagged & (y == 1)).sum()), int((flagged & (y == 0)).sum())
                row[f"{name}_roc_auc"] = float(roc_auc(y.tolist(), s.tolist()))
                row[f"{name}_recall"] = tp / max(1, int(y.sum()))
                row[f"{name}_precision"] = tp / max(1, tp + fp)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--mix", type=Path, default=Path("data/demo"), help="the mix directory (val, real-test-full, ...)")
    ap.add_argument("--handwritten", type=Path, default=Path("data/handwritten"))
    ap.add_argument("--review-budget", type=float, default=20.0)
    ap.add_argument("--high-precision", type=float, default=0.9)
    ap.add_argument("--high-budget", type=float, default=2.0)
    ap.add_argument("-o", "--output", type=Path, default=Path("reports/conversation-rules.json"))
    args = ap.parse_args(argv)

    from groomguard.evaluation.yardsticks import load_handwritten
    from groomguard.serving.engine import build_engine
    from groomguard.serving.engine_config import EngineConfig

    files = {"val": args.mix / "val.jsonl", "real_full": args.mix / "real-test-full.jsonl",
             "grafted_disjoint": args.mix / "real-test-grafted.jsonl",
             "test_disjoint": args.mix / "test-disjoint.jsonl"}
    convs = {name: list(iter_jsonl(p)) for name, p in files.items() if p.is_file()}
    if args.handwritten.exists():
        convs["handwritten"] = load_handwritten(args.handwritten)
    engine = build_engine(str(args.bundle), EngineConfig(providers=["CPUExecutionProvider"]))
    sets: dict[str, tuple[list[Conversation], list[list[float]]]] = {}
    t0 = time.perf_counter()
    for name, cs in convs.items():
        sets[name] = (cs, [s.risk_by_message for s in engine.score_conversations(cs)])
        print(f"scored {name}: {len(cs)} conversations ({time.perf_counter() - t0:.0f} s)", flush=True)
    engine.close()
    rows = evaluate_rules(sets, args.review_budget, args.high_precision, args.high_budget)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"bundle": str(args.bundle), "rows": rows}, indent=2) + "\n")
    keys = ["real_full_review_per_1000", "real_full_high_per_1000", "real_full_review_>150", "handwritten_roc_auc",
            "handwritten_recall", "handwritten_precision", "grafted_disjoint_recall", "test_disjoint_recall"]
    print("rule | " + " | ".join(keys))
    for r in rows:
        name = r["rule"] + "".join(f" {k}={r[k]}" for k in ("k", "n") if k in r)
        print(f"{name} | " + " | ".join(f"{r.get(k, float('nan')):.3f}" for k in keys))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
