"""`groomguard evaluate` end to end on the tiny bundle (random weights: scores are real, not meaningful)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from groomguard.bundle import Bundle
from groomguard.errors import ConfigError, DataError
from groomguard.evaluation.baselines import KeywordScorer, load_keywords, sample_ends
from groomguard.evaluation.config import EvalConfig
from groomguard.evaluation.runner import evaluate_bundle
from groomguard.evaluation.slices import length_bucket
from groomguard.evaluation.windows_text import conversation_windows
from groomguard.jsonl import iter_jsonl
from groomguard.schema import Conversation, Message
from groomguard.scores import Thresholds
from tests.support.eval_data import make_conversations, write_labelled

HEADLINE_KEYS = {"roc_auc", "pr_auc", "f1", "f0_5", "median_messages_to_detection", "f_latency",
                 "throughput_windows_per_s"}


def fast_config(**kw: Any) -> EvalConfig:
    cfg = EvalConfig(**kw)
    cfg.bootstrap.resamples = 50
    cfg.engine.providers = ["CPUExecutionProvider"]
    cfg.engine.intra_op_threads = 1
    return cfg


@pytest.fixture(scope="module")
def splits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("evaldata")
    return write_labelled(root / "test.jsonl", 40, seed=1), write_labelled(root / "train.jsonl", 120, seed=2)


@pytest.fixture(scope="module")
def evaluated(tiny_bundle_dir: Path, splits: tuple[Path, Path],
              tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("report") / "tiny"
    metrics = evaluate_bundle(tiny_bundle_dir, splits[0], out, splits[1], config=fast_config(),
                              target_precision=0.5, target_recall=0.9, extra_thresholds=[0.3])
    return out, metrics


def test_writes_three_outputs_with_all_keys(evaluated: tuple[Path, dict[str, Any]]) -> None:
    out, metrics = evaluated
    assert {p.name for p in out.iterdir()} == {"metrics.json", "report.html", "scores.jsonl"}
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["summary"] == metrics["summary"]
    assert set(on_disk["models"]) == {"model", "tfidf_logreg", "keywords"}
    for block in on_disk["models"].values():
        assert set(block["headline"]) >= HEADLINE_KEYS
        for key in ("roc_auc", "pr_auc", "thresholds", "confusion", "early_detection", "author_level",
                    "calibration", "confidence_intervals"):
            assert key in block
        assert block["n_conversations"] == 40
    model = on_disk["models"]["model"]
    assert set(model["thresholds"]) == {"review", "high", "at_0.3"}
    for point in model["thresholds"].values():
        assert {"precision", "recall", "f1", "f0_5", "alerts_per_1000", "tp", "fp", "tn", "fn"} <= set(point)
    assert {"ece", "observed_rate"} <= set(model["calibration"])
    assert {"f_latency", "speed", "messages_to_detection", "messages_after_first_risk", "detection_curve"} <= set(
        model["early_detection"]["review"])
    assert set(model["confidence_intervals"]) == {"roc_auc", "pr_auc", "f1", "f0_5", "f_latency"}
    assert on_disk["threshold_helper"]["target_precision"]["target"] == 0.5
    assert on_disk["threshold_helper"]["target_recall"]["achievable"] is True
    dims = {row["dimension"] for row in on_disk["slices"]}
    assert dims == {"lang", "source", "length", "tag"}
    assert on_disk["meta"]["synthetic"] is True
    # the variant and runtime actually served, not the setting (eval.yaml says auto; the tiny bundle records
    # no speeds, so auto resolves to fp32 on ONNX Runtime's CPU provider)
    assert on_disk["meta"]["engine"] == {"backend": "onnxruntime", "variant": "fp32", "variant_setting": "auto",
                                         "runtime": "CPUExecutionProvider"}


def test_model_scores_are_the_serving_engines(evaluated: tuple[Path, dict[str, Any]], tiny_bundle_dir: Path,
                                              splits: tuple[Path, Path]) -> None:
    from groomguard.serving.engine import build_engine
    from groomguard.serving.engine_config import EngineConfig

    out, _ = evaluated
    convs = list(iter_jsonl(splits[0]))
    engine = build_engine(str(tiny_bundle_dir), EngineConfig(providers=["CPUExecutionProvider"]))
    served = engine.score_conversations(convs)
    engine.close()
    rows = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert [r["conversation_id"] for r in rows] == [c.conversation_id for c in convs]
    for row, s in zip(rows, served, strict=True):
        assert row["model"]["risk_by_message"] == pytest.approx(s.risk_by_message, abs=1e-6)
        assert len(row["tfidf_logreg"]["risk_by_message"]) == len(s.risk_by_message)


def test_counts_are_consistent_with_scores(evaluated: tuple[Path, dict[str, Any]]) -> None:
    out, metrics = evaluated
    rows = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    for name, block in metrics["models"].items():
        for point in block["thresholds"].values():
            flagged = [r[name]["risk"] >= point["threshold"] for r in rows]
            assert point["tp"] == sum(f and r["label"] == 1 for f, r in zip(flagged, rows, strict=True))
            assert point["fp"] == sum(f and r["label"] == 0 for f, r in zip(flagged, rows, strict=True))
            assert point["alerts_per_1000"] == pytest.approx(1000 * sum(flagged) / len(rows))


def test_report_is_self_contained_and_flags_sensitive_text(evaluated: tuple[Path, dict[str, Any]]) -> None:
    out, metrics = evaluated
    html = (out / "report.html").read_text()
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "Sensitive" in html and "SYNTHETIC DATA" in html
    assert "serving engine, onnxruntime/fp32 (CPUExecutionProvider), stride 1" in html
    assert html.count("data:image/png;base64,") >= 4
    assert metrics["summary"].split(",")[0] in html
    assert "user0a" not in html  # handles never shown; roles instead


def test_threshold_override_no_training_split_and_mlflow(tiny_bundle_dir: Path, splits: tuple[Path, Path],
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # a local file store keeps the test fast
    uri = (tmp_path / "mlruns").as_uri()
    metrics = evaluate_bundle(tiny_bundle_dir, splits[0], tmp_path / "r", config=fast_config(),
                              thresholds_override=Thresholds(review=0.0, high=1.0), tracking_uri=uri)
    model = metrics["models"]["model"]
    assert model["thresholds"]["review"]["alerts_per_1000"] == pytest.approx(1000.0)  # risk >= 0 always
    assert "skipped" in metrics["models"]["tfidf_logreg"]
    assert "--train" in metrics["models"]["tfidf_logreg"]["skipped"]
    assert "skipped" in (tmp_path / "r" / "report.html").read_text()

    run_id = metrics["meta"]["mlflow_run_id"]
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    logged = client.get_run(run_id).data.metrics
    assert logged["eval.model.headline.f1"] == pytest.approx(model["headline"]["f1"])
    assert logged["eval.model.thresholds.review.alerts_per_1000"] == pytest.approx(1000.0)
    assert "eval.keywords.thresholds.default.alerts_per_1000" in logged
    names = {a.path for a in client.list_artifacts(run_id, "evaluation")}
    assert names == {"evaluation/metrics.json", "evaluation/report.html"}


def test_single_class_data_degrades_gracefully(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    from groomguard.jsonl import write_jsonl

    negatives = [c for c in make_conversations(30, seed=6) if c.label == 0]
    data = tmp_path / "neg.jsonl"
    write_jsonl(data, negatives)
    cfg = fast_config()
    cfg.baselines.tfidf.enabled = False
    metrics = evaluate_bundle(tiny_bundle_dir, data, tmp_path / "o", config=cfg, target_precision=0.9)
    model = metrics["models"]["model"]
    assert model["roc_auc"] is None and model["pr_auc"] is None
    assert model["confidence_intervals"]["roc_auc"]["n_resamples"] == 0
    assert model["thresholds"]["review"]["recall"] == 0.0
    assert metrics["threshold_helper"]["target_precision"]["achievable"] is False
    html = (tmp_path / "o" / "report.html").read_text()
    assert "not drawn (needs both classes" in html


def test_rejects_unlabelled_and_empty_data(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    unlabelled = tmp_path / "u.jsonl"
    unlabelled.write_text(json.dumps({"conversation_id": "c", "messages": [{"author": "a", "text": "hi"}]}) + "\n")
    with pytest.raises(DataError, match="1 of 1 conversations have no label"):
        evaluate_bundle(tiny_bundle_dir, unlabelled, tmp_path / "o", config=fast_config())
    empty = tmp_path / "e.jsonl"
    empty.write_text("\n")
    with pytest.raises(DataError, match="no conversations"):
        evaluate_bundle(tiny_bundle_dir, empty, tmp_path / "o", config=fast_config())


def test_cli_evaluate_and_one_line_errors(tiny_bundle_dir: Path, splits: tuple[Path, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from groomguard.cli import main

    out = tmp_path / "cli"
    args = ["evaluate", "--bundle", str(tiny_bundle_dir), "-i", str(splits[0]), "-o", str(out),
            "--train", str(splits[1]), "--set", "bootstrap.resamples=20", "--set", "stride=2",
            "--target-precision", "0.6", "--threshold", "0.4"]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0
    printed = capsys.readouterr().out
    assert "TF-IDF + logistic regression: ROC-AUC" in printed and "wrote" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["meta"]["stride"] == 2 and "at_0.4" in metrics["models"]["model"]["thresholds"]

    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--bundle", str(tmp_path), "-i", str(splits[0]), "-o", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not a model bundle" in err and "Traceback" not in err

    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--bundle", str(tiny_bundle_dir), "-i", str(splits[0]), "-o", str(out),
              "--review-threshold", "0.9", "--high-threshold", "0.5"])
    assert exc.value.code == 2
    assert "high threshold must be >= review" in capsys.readouterr().err


# -- windows as text -------------------------------------------------------------------------


def test_window_start_matches_the_windower(tiny_bundle_dir: Path) -> None:
    windower = Bundle.load(tiny_bundle_dir).windower()  # max_length 64: long chats get truncated
    conv = Conversation(conversation_id="w", messages=[
        Message(author="a" if i % 2 else "b", text=" ".join(["word"] * (i % 7 + 1))) for i in range(30)])
    ids = windower.encode_messages(conv.messages)
    lengths = [len(x) for x in ids]
    truncated = 0
    for end in range(len(ids)):
        start = windower.window_start(lengths, end)
        expected = list(windower.prefix)
        for i in range(start, end + 1):
            expected += ids[i] + (list(windower.sep) if i < end else [])
        expected += list(windower.suffix)
        assert windower.window_ids(ids, end) == expected
        truncated += start > 0
    assert truncated > 10
    texts = conversation_windows(windower, conv, [0, 29])
    assert texts[0] == "A: word" and texts[1].endswith("\nB: word word")


def test_keyword_scorer_matches_whole_phrases() -> None:
    scorer = KeywordScorer(load_keywords())
    assert "asl" not in scorer.matches("A: that was a hassle")
    assert set(scorer.matches("A: how old are you\nA: Don\u2019t tell your mum")) == {"how old are you", "don't tell"}
    assert scorer.score(["B: nice weather", "A: add me on snapchat"]).tolist() == [0.0, 0.75]  # 2 distinct phrases


def test_keyword_file_errors(tmp_path: Path) -> None:
    (tmp_path / "k.txt").write_text("# only comments\n\n")
    with pytest.raises(ConfigError, match="empty"):
        load_keywords(tmp_path / "k.txt")
    with pytest.raises(ConfigError, match="not found"):
        load_keywords(tmp_path / "missing.txt")


def test_sample_ends_and_length_buckets() -> None:
    assert sample_ends(list(range(10)), 4) == [0, 3, 6, 9]
    assert sample_ends([0, 1], 4) == [0, 1]
    assert sample_ends(list(range(10)), 1) == [9]
    assert [length_bucket(n, [10, 25]) for n in (1, 10, 11, 25, 26)] == ["1-10", "1-10", "11-25", "11-25", "26+"]


def test_tiny_data_generator_is_labelled_consistently() -> None:
    convs = make_conversations(50, seed=4)
    labels = np.array([c.label for c in convs])
    assert 0 < labels.sum() < 50
    assert all(c.first_risk_index is not None and c.predator_ids for c in convs if c.label == 1)
