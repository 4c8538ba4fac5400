"""Yardsticks the generator did not write (evaluation/yardsticks.py): every figure worked out by hand
on small hand-made scored sets, then the whole path through `groomguard evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groomguard.evaluation.summary import EvalSettings, ScoredSet
from groomguard.evaluation.yardsticks import full_length_alerts, handwritten_metrics
from groomguard.jsonl import write_jsonl
from groomguard.schema import Conversation, Message

SETTINGS = EvalSettings(latency_p=0.0078, calibration_bins=10, bootstrap_resamples=50, bootstrap_seed=0,
                        bootstrap_level=0.95)


def conv(cid: str, n: int, label: int, tags: list[str], lang: str = "en", first: int | None = None) -> Conversation:
    return Conversation(conversation_id=cid, messages=[Message(author="ab"[i % 2], text=f"{cid} message {i}")
                                                       for i in range(n)],
                        label=label, tags=tags, lang=lang, first_risk_index=first)  # type: ignore[arg-type]


def scored(risks: list[list[float]]) -> ScoredSet:
    return ScoredSet("x", "x", risks, [list(range(len(r))) for r in risks], 0.0, {"review": 0.5}, "review")


def test_handwritten_figures_by_hand() -> None:
    convs = [
        conv("g1", 4, 1, ["kind:grooming"], first=2),   # alerts at message 3: latency +1
        conv("g2", 4, 1, ["kind:grooming"], "fr", first=2),  # alerts at message 1: latency -1 (before the risk)
        conv("g3", 4, 1, ["kind:grooming"], first=1),   # never alerts
        conv("h1", 4, 0, ["kind:hard-negative"]),       # alerts
        conv("h2", 4, 0, ["kind:hard-negative"], "fr"),  # quiet
        conv("t1", 4, 0, ["kind:teen-peer"]),           # quiet
    ]
    risks = [[0.1, 0.2, 0.4, 0.9], [0.1, 0.6, 0.7, 0.8], [0.1, 0.2, 0.3, 0.4],
             [0.2, 0.55, 0.1, 0.1], [0.1, 0.1, 0.1, 0.45], [0.3, 0.3, 0.3, 0.3]]
    m = handwritten_metrics(scored(risks), convs, 0.5)
    # flagged: g1, g2, h1 -> tp 2 of 3 positives, fp 1: precision 2/3, recall 2/3, F1 2/3
    assert (m["tp"], m["fp"]) == (2, 1)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["hard_negative_alert_rate"] == 0.5 and m["teen_peer_alert_rate"] == 0.0
    assert m["alert_latency_median"] == 0.0 and m["alert_latency_n"] == 2  # median of +1 and -1
    # ROC-AUC on maxima: positives 0.9, 0.8, 0.4; negatives 0.55, 0.45, 0.3 -> pairs won: 3+3+1 of 9
    assert m["roc_auc"] == pytest.approx(7 / 9)
    # French: g2 (0.8) vs h2 (0.45): 1.0
    assert m["roc_auc_french"] == 1.0


def test_each_part_of_a_hybrid_is_ranked_on_its_own() -> None:
    """A hybrid bundle's ScoredSet carries its parts: each gets its own ROC-AUC (and French) by hand."""
    convs = [conv("g1", 2, 1, [], first=0), conv("g2", 2, 1, [], "fr", first=0),
             conv("b1", 2, 0, []), conv("b2", 2, 0, [], "fr")]
    s = scored([[0.1, 0.9], [0.2, 0.8], [0.1, 0.3], [0.2, 0.4]])
    # transformer part: positives 0.7, 0.6 over negatives 0.2, 0.65 -> 3 of 4 pairs; French g2 0.6 vs b2 0.65: 0
    s.parts = {"transformer": [[0.7], [0.6], [0.2], [0.65]],
               "lexical": [[0.1, 0.2], [0.3, 0.1], [0.9, 0.4], [0.5, 0.0]]}  # maxima 0.2, 0.3 vs 0.9, 0.5: 0
    m = handwritten_metrics(s, convs, 0.5)
    assert m["parts_roc_auc"] == {"transformer": pytest.approx(3 / 4), "lexical": 0.0}
    assert m["parts_roc_auc_french"] == {"transformer": 0.0, "lexical": 0.0}
    assert "parts_roc_auc" not in handwritten_metrics(scored(s.risk_by_message), convs, 0.5)  # no parts: none


def test_full_length_alerts_by_bucket() -> None:
    lengths = [12, 25, 40, 70, 200]
    convs = [conv(f"r{i}", n, 0, []) for i, n in enumerate(lengths)]
    maxima = [0.6, 0.1, 0.95, 0.2, 0.7]
    risks = [[0.0] * (n - 1) + [r] for n, r in zip(lengths, maxima, strict=True)]
    out = full_length_alerts(scored(risks), convs, {"review": 0.5, "high": 0.9}, SETTINGS)
    review = out["review"]
    assert review["alerts_per_1000"]["value"] == pytest.approx(600.0) and review["alerts_per_1000"]["count"] == 3
    assert review["by_length"]["10-30"]["count"] == 1 and review["by_length"]["10-30"]["n"] == 2
    assert review["by_length"]["31-60"]["value"] == 1000.0 and review["by_length"]["61-150"]["value"] == 0.0
    assert review["by_length"][">150"]["count"] == 1
    assert out["high"]["alerts_per_1000"]["count"] == 1


def test_evaluate_reports_every_yardstick_beside_tfidf(tiny_bundle_dir: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from groomguard.bundle import Bundle, write_manifest
    from tests.support.eval_data import make_conversations, write_labelled
    from tests.support.store import run_cli

    bundle = tmp_path / "b"
    import shutil

    shutil.copytree(tiny_bundle_dir, bundle)
    train, val = tmp_path / "train.jsonl", tmp_path / "val.jsonl"
    write_labelled(train, 40, seed=1)
    write_labelled(val, 20, seed=2)
    m = Bundle.load(bundle).manifest
    write_manifest(bundle, m.model_copy(update={"training_data": m.training_data.model_copy(
        update={"train_path": str(train), "val_path": str(val)})}))
    test = write_labelled(tmp_path / "test.jsonl", 12, seed=3)
    hw = tmp_path / "hw"
    hw.mkdir()
    # held-out sets must share no run of messages with train/val (evaluation/held_out.py): unique text
    dev = [c.model_copy(update={"conversation_id": f"hw-{i}", "tags": ["kind:teen-peer"] if not c.label else [],
                                "lang": "fr" if i % 3 == 0 else "en",
                                "messages": [m.model_copy(update={"text": f"{m.text} (dev {i}.{j})"})
                                             for j, m in enumerate(c.messages)]})
           for i, c in enumerate(make_conversations(15, seed=4))]
    write_jsonl(hw / "dev.jsonl", dev)
    full = tmp_path / "full.jsonl"
    write_jsonl(full, [conv(f"real-{i}", 12 + 10 * i, 0, []) for i in range(10)])
    disjoint = write_labelled(tmp_path / "disjoint.jsonl", 10, seed=6)
    code, _, err = run_cli(capsys, "evaluate", "--bundle", str(bundle), "-i", str(test), "-o", str(tmp_path / "out"),
                           "--handwritten", str(hw), "--real-full", str(full), "--test-disjoint", str(disjoint),
                           "--set", "bootstrap.resamples=20", "--set", "stride=3")
    assert code == 0, err
    y = json.loads((tmp_path / "out" / "metrics.json").read_text())["yardsticks"]
    # the two synthetic sets at the main set's stride (3), like for like; grafts and real chat at 1.
    # Expected figures from the engine's own conversation scores at stride 3 and scikit-learn's AUC.
    from sklearn.metrics import roc_auc_score

    from groomguard.jsonl import iter_jsonl
    from groomguard.serving.engine import build_engine
    from groomguard.serving.engine_config import EngineConfig

    assert y["disjoint"]["synthetic_same_pool"]["stride"] == y["disjoint"]["synthetic_disjoint"]["stride"] == 3
    engine = build_engine(str(bundle), EngineConfig(providers=["CPUExecutionProvider"]))
    try:
        for name, path in (("synthetic_disjoint", disjoint), ("synthetic_same_pool", test)):
            convs = list(iter_jsonl(path))
            risk = [s.risk for s in engine.score_conversations(convs, stride=3)]
            labels = [int(c.label or 0) for c in convs]
            got = y["disjoint"][name]["model"]
            assert got["roc_auc"] == pytest.approx(roc_auc_score(labels, risk), abs=1e-9)
            hits = [r >= engine.thresholds.review for r, lab in zip(risk, labels, strict=True) if lab]
            assert got["recall_at_review"] == pytest.approx(sum(hits) / len(hits), abs=1e-9)
    finally:
        engine.close()
    assert y["handwritten"]["n"] == 15 and {"model", "tfidf"} <= set(y["handwritten"])
    assert "DEV" in y["handwritten"]["label"]
    assert y["real_full"]["n"] == 10 and {"model", "tfidf"} <= set(y["real_full"])
    assert {"synthetic_same_pool", "synthetic_disjoint"} <= set(y["disjoint"])
    assert set(y["tfidf_thresholds"]) == {"review", "high"}
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Yardsticks the generator did not write" in html and "Hand-written DEV set" in html
    assert "Full-length real chat" in html and "Template-disjoint" in html
