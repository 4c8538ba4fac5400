"""The report's "Yardsticks the generator did not write" section (evaluation/yardsticks.py), model
and TF-IDF side by side in every table."""

from __future__ import annotations

from html import escape
from typing import Any

from groomguard.evaluation.yardsticks import LENGTH_BUCKETS

NOT_MEASURED = ('<p class="note">Not measured: pass <code>--handwritten</code>, <code>--real-full</code> and '
                "<code>--test-disjoint</code> (<code>make model</code> does). The synthetic test split shares its "
                "tactic pools with training, so on it alone a bag of words and the transformer look alike.</p>")


def _f(x: Any, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _rate(block: dict[str, Any] | None) -> str:
    if not block or block.get("value") is None:
        return "–"
    ci = ""
    if block["ci_low"] is not None:
        ci = f' <span class="ci">[{block["ci_low"]:.1f}, {block["ci_high"]:.1f}]</span>'
    return f"{block['value']:.1f}{ci} ({block['count']}/{block['n']})"


def _handwritten(hw: dict[str, Any]) -> str:
    keys = [("ROC-AUC", "roc_auc", 3), ("ROC-AUC, French", "roc_auc_french", 3),
            ("ROC-AUC, English", "roc_auc_english", 3),
            ("Recall at review", "recall", 3), ("Precision at review", "precision", 3), ("F1 at review", "f1", 3),
            ("Hard-negative alert rate", "hard_negative_alert_rate", 2),
            ("Teen-peer alert rate", "teen_peer_alert_rate", 2),
            ("All-benign alert rate", "benign_alert_rate", 2),
            ("Median alert latency (messages after the first risky one)", "alert_latency_median", 1)]
    rows = [[escape(label), _f(hw["model"].get(key), d), _f((hw.get("tfidf") or {}).get(key), d)]
            for label, key, d in keys]
    for part, auc in (hw["model"].get("parts_roc_auc") or {}).items():
        french = (hw["model"].get("parts_roc_auc_french") or {}).get(part)
        rows.append([f"ROC-AUC of the {escape(part)} part alone (French)", f"{_f(auc)} ({_f(french)})", ""])
    return (f'<h3>Hand-written DEV set</h3><p class="note">{hw["n"]} conversations written by hand outside the '
            f'generator ({hw["n_grooming"]} grooming, {hw["n_french"]} in French; {escape(hw["path"])}). '
            "<b>Dev</b>: recipe choices may look at it, thresholds never, training never. Review thresholds: model "
            f'{_f(hw["model"]["threshold"], 4)}, TF-IDF {_f((hw.get("tfidf") or {}).get("threshold"), 4)}.</p>'
            + _table(["", "Model", "TF-IDF"], rows))


def _real_full(full: dict[str, Any]) -> str:
    rows = []
    for point in ("review", "high"):
        m, t = full["model"][point], (full.get("tfidf") or {}).get(point, {})
        rows.append([f"{point} (all)", _rate(m["alerts_per_1000"]), _rate(t.get("alerts_per_1000"))])
        for bucket, _, _ in LENGTH_BUCKETS:
            rows.append([f"{point}, {bucket} messages", _rate(m["by_length"][bucket]),
                         _rate((t.get("by_length") or {}).get(bucket))])
    return (f'<h3>Full-length real chat</h3><p class="note">{full["n"]} held-out real conversations with >= 10 '
            f'messages at full length (median {full["messages_median"]:.0f}, longest {full["messages_max"]}): a '
            "running maximum only grows with length, so this is the budget a platform meets. Alerts per 1,000 "
            "conversations [95 % CI] (count/n).</p>" + _table(["Operating point", "Model", "TF-IDF"], rows))


def _disjoint(d: dict[str, Any]) -> str:
    rows = []
    for name in ("synthetic_same_pool", "synthetic_disjoint", "grafted_same_pool", "grafted_disjoint"):
        row = d.get(name)
        if not row:
            continue
        m, t = row["model"], row.get("tfidf") or {}
        parts = ", ".join(f"{escape(k)} {_f(v)}" for k, v in (m.get("parts_roc_auc") or {}).items()) or "–"
        rows.append([escape(name.replace("_", " ")), str(m["n"]), str(row.get("stride", 1)), _f(m["roc_auc"]),
                     _f(m["recall_at_review"]), parts,
                     _f(t.get("roc_auc")), _f(t.get("recall_at_review"))])
    return ('<h3>Template-disjoint</h3><p class="note">Trained on half A of every synthetic pool; the disjoint sets '
            "use half B, phrasings the model never saw. Same-pool beside disjoint: the gap is what memorised "
            "phrasing was worth. Grafted sets are grooming only (ROC-AUC undefined).</p>"
            + _table(["Set", "Conversations", "Stride", "Model ROC-AUC", "Model recall at review",
                      "Model parts alone: ROC-AUC", "TF-IDF ROC-AUC", "TF-IDF recall at review"], rows))


def render_yardsticks(block: dict[str, Any] | None) -> str:
    if not block:
        return NOT_MEASURED
    parts = ['<p class="note">TF-IDF columns: the baseline trained on the same training file, its thresholds chosen '
             "on the same validation file by the bundle's rule. Real chat and the hand-written set scored at stride 1, "
             "as served; the synthetic sets at the main set's stride (column Stride).</p>"]
    if block.get("handwritten"):
        parts.append(_handwritten(block["handwritten"]))
    if block.get("real_full"):
        parts.append(_real_full(block["real_full"]))
    if block.get("disjoint"):
        parts.append(_disjoint(block["disjoint"]))
    return "\n".join(parts)
