"""report.html: one self-contained page (inline CSS, base64 figures, no scripts, no network).

It contains message text from the evaluated data (worst errors) and says so at the top: it is an
analyst's document, not something to publish. Handles are replaced by roles (A, B, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np

from groomguard.evaluation import plots
from groomguard.evaluation.config import EvalConfig
from groomguard.evaluation.report_accounts import render_accounts
from groomguard.evaluation.report_yardsticks import render_yardsticks
from groomguard.evaluation.summary import ScoredSet
from groomguard.schema import Conversation
from groomguard.windowing import assign_roles

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0 auto;max-width:1200px;
padding:1rem 2rem;color:#1d1d1f;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #1f4e9c;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccd;padding:.25rem .5rem;text-align:right}th{background:#eef2f8}
td.l,th.l{text-align:left}.warn{background:#fff4e0;border-left:5px solid #d1731a;padding:.6rem 1rem}
.synthetic{background:#e8f0ff;border-left:5px solid #1f4e9c;padding:.4rem 1rem}
.summary{font-size:1.15rem;background:#f4f7f4;border-left:5px solid #3a8f3a;padding:.8rem 1rem}
.ci{color:#666;font-size:.8em}.note{color:#555;font-size:.85rem}img{max-width:100%;height:auto}
.msg{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;white-space:pre-wrap}
.peak{background:#ffe3e0}.risk{color:#888}details{margin:.5rem 0 1rem}
"""


def _f(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return escape(str(x))


def _ci(block: dict[str, Any], key: str) -> str:
    ci = block.get("confidence_intervals", {}).get(key)
    if not ci or ci.get("low") is None:
        return ""
    return f' <span class="ci">[{ci["low"]:.3f}, {ci["high"]:.3f}]</span>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    head = "".join(f'<th class="l">{h}</th>' if i < left else f"<th>{h}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td class="l">{c}</td>' if i < left else f"<td>{c}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(b64: str | None, alt: str) -> str:
    if b64 is None:
        return f'<p class="note">{escape(alt)}: not drawn (needs both classes in the data).</p>'
    return f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{b64}"></figure>'


def _header(meta: dict[str, Any]) -> str:
    facts = [("Model", meta["model"]), ("Base model", meta["base_model"]), ("Bundle built", meta["bundle_created_at"]),
             ("groomguard version", meta["groomguard_version"] or "–"), ("Evaluation data", meta["data"]),
             ("Conversations", f'{meta["n_conversations"]} ({meta["n_positive"]} grooming)'),
             ("Sources", ", ".join(meta["sources"])), ("Synthetic data", "yes" if meta["synthetic"] else "no"),
             ("Evaluated", meta["evaluated_at"]),
             ("Scored with", f'serving engine, {meta["engine"]["backend"]}/{meta["engine"]["variant"]}'
                             + (f' ({meta["engine"]["runtime"]})' if meta["engine"].get("runtime") else "")
                             + f', stride {meta["stride"]}')]
    synth = ('<p class="synthetic"><b>SYNTHETIC DATA.</b> These numbers come from a synthetic corpus; they say the '
             "pipeline works, not how the model does on real chats.</p>") if meta["synthetic"] else ""
    return (f"<h1>groomguard evaluation — {escape(meta['model'])}</h1>"
            '<p class="warn"><b>Sensitive:</b> this report quotes message text from the evaluated conversations '
            "(worst errors section). Treat it as moderation material: restricted access, do not publish.</p>"
            f"{synth}{_table(['Model card', ''], [(escape(k), escape(str(v))) for k, v in facts], left=2)}")


def _main_table(models: dict[str, Any]) -> str:
    rows = []
    for block in models.values():
        if "headline" not in block:
            rows.append([escape(block["label"]), f'skipped: {escape(block["skipped"])}', "", "", "", "", "", ""])
            continue
        h = block["headline"]
        tput = h["throughput_windows_per_s"]
        rows.append([
            f'{escape(block["label"])}<br><span class="note">at {escape(h["operating_point"])} = '
            f'{h["threshold"]:.2f}</span>',
            _f(h["roc_auc"]) + _ci(block, "roc_auc"), _f(h["pr_auc"]) + _ci(block, "pr_auc"),
            _f(h["f1"]) + _ci(block, "f1"), _f(h["f0_5"]) + _ci(block, "f0_5"),
            _f(h["median_messages_to_detection"], 1), _f(h["f_latency"]) + _ci(block, "f_latency"),
            "–" if tput is None else f"{tput:,.0f} windows/s",
        ])
    return _table(["Model", "ROC-AUC", "PR-AUC", "F1", "F0.5", "Median messages to detection", "F<sub>latency</sub>",
                   "Throughput"], rows)


def _operating_points(models: dict[str, Any]) -> str:
    rows = []
    for block in models.values():
        if "headline" not in block:
            continue
        for name, p in block["thresholds"].items():
            a = block["author_level"][name]
            e = block["early_detection"][name]
            rows.append([escape(block["label"]), escape(name), _f(p["threshold"], 2), _f(p["precision"]),
                         _f(p["recall"]), _f(p["f1"]), _f(p["f0_5"]), _f(p["alerts_per_1000"], 1),
                         f'{p["tp"]} / {p["fp"]} / {p["tn"]} / {p["fn"]}',
                         _f(e["messages_to_detection"]["median"], 1), _f(e["f_latency"]),
                         f'{_f(a["precision"])} / {_f(a["recall"])} / {_f(a["f0_5"])}'])
    return _table(["Model", "Operating point", "Threshold", "Precision", "Recall", "F1", "F0.5", "Alerts / 1,000",
                   "TP / FP / TN / FN", "Median msgs to detection", "F<sub>latency</sub>",
                   "Authors P / R / F0.5"], rows, left=2)


def _rate(block: dict[str, Any] | None, digits: int) -> str:
    if not block:
        return "–"
    lo, hi = block["ci_low"], block["ci_high"]
    ci = "" if lo is None else f' <span class="ci">[{lo:.{digits}f}, {hi:.{digits}f}]</span>'
    return f"{block['value']:.{digits}f}{ci} ({block['count']}/{block['n']})"


def _real_chat(block: dict[str, Any] | None) -> str:
    """Real chat: false alerts on real benign conversations beside recall on real-register grooming."""
    if not block:
        return ('<p class="note">Not measured: run with <code>--real-benign</code> (and <code>--real-grooming</code>) '
                "to see how quiet the model stays on real chat. Numbers on synthetic data alone prove little.</p>")
    tf = block.get("tfidf") or {}
    rows = []
    for name, p in block["points"].items():
        b = tf.get("points", {}).get(name, {})
        rows.append([escape(name), _f(p["threshold"], 4), _rate(p["alerts_per_1000"], 1), _rate(p.get("recall"), 3),
                     _rate(b.get("alerts_per_1000"), 1), _rate(b.get("recall"), 3)])
    table = _table(["Operating point", "Threshold", "Alerts / 1,000 real chats", "Recall, real-register grooming",
                    "TF-IDF alerts / 1,000", "TF-IDF recall"], rows)
    unseen = block.get("benign_with_no_training_author")
    extra = ""
    if unseen is not None:
        review = unseen["points"].get("review", {}).get("alerts_per_1000")
        extra = (f" {unseen['n']} of the {block['n_benign']} benign conversations share no author with the training "
                 f"split; at review they get {_rate(review, 1)} alerts per 1,000.")
    return (f'<p class="note">{block["n_benign"]} real benign conversations ({escape(block["paths"]["benign"])}) and '
            f'{block["n_grooming"]} grooming conversations in real people\'s register '
            f'({escape(block["paths"]["grooming"] or "not given")}), scored at stride 1 as serving does. Median '
            f'conversation risk on real chat {block["benign_risk_median"]:.3f}, 95th percentile '
            f'{block["benign_risk_p95"]:.3f}; window calibration error (ECE) over both sets {block["window_ece"]:.3f}.'
            f"{extra} TF-IDF columns: the baseline trained on the same split, thresholds chosen on the same validation "
            "split by the same rule.</p>" + table)


def _threshold_helper(helper: dict[str, Any]) -> str:
    if not helper:
        return ('<p class="note">Pass <code>--target-precision</code> or <code>--target-recall</code> to get the '
                "threshold that reaches a target on this data and what it costs in alerts.</p>")
    rows = []
    for key, h in helper.items():
        what = key.replace("target_", "")
        if h["achievable"]:
            rows.append([f"{what} ≥ {h['target']:.2f}", _f(h["threshold"], 4), _f(h["precision"]), _f(h["recall"]),
                         _f(h["alerts_per_1000"], 1)])
        else:
            rows.append([f"{what} ≥ {h['target']:.2f}", f"not reachable: {escape(h['reason'])}", "", "", ""])
    return _table(["Target", "Threshold", "Precision", "Recall", "Alerts / 1,000"], rows)


def _early(block: dict[str, Any]) -> str:
    rows = []
    for name, e in block["early_detection"].items():
        d, r = e["messages_to_detection"], e["messages_after_first_risk"]
        rows.append([escape(name), _f(e["threshold"], 2), str(d["n"]), _f(d["median"], 1), _f(d["p25"], 1),
                     _f(d["p75"], 1), _f(d["p90"], 1), str(r["n"]), _f(r["median"], 1),
                     str(e["alerted_before_first_risk"]), _f(e["speed"]), _f(e["f_latency"])])
    return _table(["Operating point", "Threshold", "Detected", "Median msgs", "p25", "p75", "p90",
                   "With first_risk_index", "Median msgs after first risk", "Alerted before first risk",
                   "Speed", "F<sub>latency</sub>"], rows)


def _slices(rows: list[dict[str, Any]]) -> str:
    body = [[escape(r["dimension"]), escape(r["value"]), str(r["n"]), str(r["n_positive"]), _f(r["roc_auc"]),
             _f(r["pr_auc"]), _f(r["precision"]), _f(r["recall"]), _f(r["f1"]), _f(r["alerts_per_1000"], 1),
             str(r["fp"]), str(r["fn"]), _f(r["median_messages_to_detection"], 1)] for r in rows]
    return _table(["Slice", "Value", "n", "Grooming", "ROC-AUC", "PR-AUC", "Precision", "Recall", "F1",
                   "Alerts / 1,000", "FP", "FN", "Median msgs to detection"], body, left=2)


def _conversation(conv: Conversation, risks: list[float], peak: int, context: int) -> str:
    roles = assign_roles(conv.messages)
    lo = max(0, peak - context // 2)
    hi = min(len(conv.messages), lo + context)
    lines = []
    if lo:
        lines.append(f'<div class="note">… {lo} earlier messages</div>')
    for i in range(lo, hi):
        m = conv.messages[i]
        cls = "msg peak" if i == peak else "msg"
        frm = " ← first_risk_index" if conv.first_risk_index == i else ""
        lines.append(f'<div class="{cls}"><span class="risk">[{i}] {risks[i]:.2f}</span> '
                     f"<b>{roles[m.author]}</b>: {escape(m.text)}{frm}</div>")
    if hi < len(conv.messages):
        lines.append(f'<div class="note">… {len(conv.messages) - hi} later messages</div>')
    return "".join(lines)


def _worst(worst: dict[str, Any], model: ScoredSet, convs: Sequence[Conversation], context: int) -> str:
    out = []
    for key, title in (("false_positives", "Worst false positives (flagged, not grooming)"),
                       ("false_negatives", "Worst false negatives (grooming, missed)")):
        out.append(f"<h3>{title}</h3>")
        if not worst[key]:
            out.append('<p class="note">None at the review threshold.</p>')
        for e in worst[key]:
            i = e["index"]
            tags = ", ".join(e["tags"]) or "–"
            out.append(f"<details><summary><b>{escape(e['conversation_id'])}</b> — risk {e['risk']:.3f}, "
                       f"{e['n_messages']} messages, source {escape(str(e['source']))}, tags {escape(tags)}</summary>"
                       f"{_conversation(convs[i], model.risk_by_message[i], e['peak_message'], context)}</details>")
    return "".join(out)


DEFINITIONS = """<ul class="note">
<li>A conversation is <b>flagged</b> at a threshold when its risk after any message reaches it (the running maximum).
Risk after message i is the model's calibrated probability for the window ending at message i.</li>
<li><b>Alerts per 1,000</b>: flagged conversations per 1,000 evaluated — the moderator workload at that threshold.</li>
<li><b>Messages to detection</b>: messages read when the first alert fires (1 = on the first message).</li>
<li><b>F<sub>latency</sub></b> = F1 × speed, speed = 1 − median penalty over true positives,
penalty(k) = −1 + 2/(1 + e<sup>−p(k−1)</sup>) (Vogt, Leser and Akbik 2021; Sadeque et al. 2018); p = {p}.</li>
<li><b>Author level</b> (PAN12 problem 1): in a flagged conversation the risk is attributed to the author whose own
messages end the highest-risk window; attributed authors are compared with <code>predator_ids</code>.</li>
<li>Intervals are seeded bootstrap {level:.0%} percentile intervals over conversations ({n} resamples).</li>
<li>Calibration is measured per window against window labels (positive from <code>first_risk_index</code>).</li>
<li>Baselines score the same windows as the model (same truncation, same max-over-prefixes rule).</li></ul>"""


def render_report(metrics: dict[str, Any], sets: Sequence[ScoredSet], convs: Sequence[Conversation],
                  cfg: EvalConfig) -> str:
    labels = np.array([c.label for c in convs], dtype=np.int64)
    models = metrics["models"]
    model_set = next(s for s in sets if s.name == "model")
    model = models["model"]
    figs = [
        "<h2>Curves</h2>", _img(plots.safe(plots.pr_roc, sets, labels), "Precision-recall and ROC curves"),
        '<p class="note">Markers: ● review, ■ high, ◆ baseline default threshold.</p>',
        "<h2>Score distributions</h2>", _img(plots.score_distributions(sets, labels), "Score distributions by class"),
        "<h2>Detection latency</h2>", _img(plots.safe(plots.latency_curve, sets, labels), "Detection latency curve"),
        _early(model),
        "<h2>Calibration</h2>", _img(plots.calibration_curve(model["calibration"], "Reliability (windows)"),
                                     "Calibration curve"),
    ]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>groomguard evaluation — {escape(metrics['meta']['model'])}</title><style>{CSS}</style></head><body>",
        _header(metrics["meta"]),
        f'<p class="summary">{escape(metrics["summary"])}</p>',
        "<h2>Model and baselines</h2>", _main_table(models),
        '<p class="note">Bracketed: bootstrap confidence intervals. Throughput: windows scored per second in this run.'
        "</p>",
        "<h2>Real chat: false alerts and real-register recall</h2>", _real_chat(metrics.get("real_chat")),
        "<h2>Yardsticks the generator did not write</h2>", render_yardsticks(metrics.get("yardsticks")),
        "<h2>Accounts: several conversations per author</h2>", render_accounts(metrics.get("accounts")),
        "<h2>Operating points</h2>", _operating_points(models),
        "<h2>Choosing your own threshold</h2>", _threshold_helper(metrics["threshold_helper"]),
        *figs,
        "<h2>Slices</h2>", _slices(metrics["slices"]),
        "<h2>Where it fails</h2>",
        '<p class="warn">Message text below. Handles are replaced by roles; [i] is the message index and the number '
        "after it the risk after that message; the highlighted line is the highest-risk message.</p>",
        _worst(metrics["worst_errors"], model_set, convs, cfg.report.context_messages),
        "<h2>Definitions</h2>",
        DEFINITIONS.format(p=cfg.latency.p, level=cfg.bootstrap.level, n=cfg.bootstrap.resamples),
        "<h2>Notes</h2><ul class='note'>",
        *(f"<li>{escape(b['label'])}: {escape(n)}</li>" for b in models.values() for n in b.get("notes", [])),
        *(f"<li>{escape(b['label'])}: {escape(b['skipped'])}</li>" for b in models.values() if "skipped" in b),
        "</ul></body></html>",
    ]
    return "\n".join(parts)
