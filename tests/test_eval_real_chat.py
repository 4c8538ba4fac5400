"""`groomguard evaluate --real-benign/--real-grooming`: the real-chat block, checked against maxima
computed independently (ONNX Runtime run directly on the contract's windows, softmax by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from groomguard.bundle import Bundle
from groomguard.errors import DataError
from groomguard.evaluation.runner import evaluate_bundle
from groomguard.jsonl import write_jsonl
from groomguard.schema import Conversation, Message
from groomguard.scores import Thresholds
from groomguard.training.loaders.chitchat import iter_chitchat
from groomguard.training.synth.config import load_synth_settings
from groomguard.training.synth.generator import packs
from groomguard.training.synth.graft import GraftSettings, graft
from tests.conftest import FIXTURES
from tests.support.eval_data import make_conversations, write_labelled
from tests.test_eval_pipeline import fast_config


def _independent_max(bundle_dir: Path, convs: list[Conversation]) -> np.ndarray:
    import onnxruntime as ort

    bundle = Bundle.load(bundle_dir)
    w = bundle.windower()
    sess = ort.InferenceSession(str(bundle_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    t = bundle.manifest.calibration.temperature
    out = []
    for conv in convs:
        ids = w.encode_messages(conv.messages)
        best = 0.0
        for end in range(len(ids)):  # every message, one window at a time (no padding)
            x = np.array([w.window_ids(ids, end)], dtype=np.int64)
            logits = sess.run(None, {"input_ids": x, "attention_mask": np.ones_like(x)})[0][0] / t
            p = np.exp(logits - logits.max())
            best = max(best, float(p[1] / p.sum()))
        out.append(best)
    return np.array(out)


@pytest.fixture(scope="module")
def real_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Conversation], list[Conversation]]:
    root = tmp_path_factory.mktemp("real")
    benign = list(iter_chitchat(FIXTURES / "chitchat" / "dataset.json"))
    synth = load_synth_settings().generator
    grooming = [g for c in benign if (g := graft(c, 0, 11, packs()["en"], synth, GraftSettings())) is not None]
    write_jsonl(root / "benign.jsonl", [c.model_copy(update={"label": None}) for c in benign])  # unlabelled is fine
    write_jsonl(root / "grooming.jsonl", grooming)
    return root / "benign.jsonl", root / "grooming.jsonl", benign, grooming


def test_real_chat_block_counts_alerts_and_recall(tiny_bundle_dir: Path, real_files: Any, tmp_path: Path) -> None:
    benign_path, grooming_path, benign, grooming = real_files
    b_max = _independent_max(tiny_bundle_dir, benign)
    g_max = _independent_max(tiny_bundle_dir, grooming)
    # A review threshold in the middle of the benign maxima so the count is neither 0 nor all.
    review = float(np.sort(b_max)[len(b_max) // 2])
    test = write_labelled(tmp_path / "test.jsonl", 20, seed=3)
    cfg = fast_config()
    cfg.baselines.tfidf.enabled = False
    metrics = evaluate_bundle(tiny_bundle_dir, test, tmp_path / "out", config=cfg,
                              thresholds_override=Thresholds(review=review, high=max(review, 0.999)),
                              real_benign=benign_path, real_grooming=grooming_path)
    block = json.loads((tmp_path / "out" / "metrics.json").read_text())["real_chat"]
    assert block == metrics["real_chat"]
    assert (block["n_benign"], block["n_grooming"], block["stride"]) == (len(benign), len(grooming), 1)
    point = block["points"]["review"]
    want_alerts = 1000.0 * np.mean(b_max >= review - 1e-9)
    assert point["alerts_per_1000"]["value"] == pytest.approx(want_alerts)
    assert point["alerts_per_1000"]["count"] == int(np.sum(b_max >= review - 1e-9))
    assert point["recall"]["value"] == pytest.approx(np.mean(g_max >= review - 1e-9))
    lo, hi = point["alerts_per_1000"]["ci_low"], point["alerts_per_1000"]["ci_high"]
    assert lo <= want_alerts <= hi
    assert block["benign_risk_median"] == pytest.approx(float(np.median(b_max)), abs=1e-6)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Real chat: false alerts and real-register recall" in html
    assert "real conversations it raises" in metrics["summary"]


def test_real_benign_file_with_grooming_labels_is_refused(tiny_bundle_dir: Path, real_files: Any,
                                                          tmp_path: Path) -> None:
    _, grooming_path, _, _ = real_files
    test = write_labelled(tmp_path / "test.jsonl", 10, seed=4)
    with pytest.raises(DataError, match=r"grooming.jsonl: \d+ of \d+ conversations are not benign"):
        evaluate_bundle(tiny_bundle_dir, test, tmp_path / "out", config=fast_config(), real_benign=grooming_path)
    with pytest.raises(DataError, match="--real-grooming needs --real-benign"):
        evaluate_bundle(tiny_bundle_dir, test, tmp_path / "out", config=fast_config(), real_grooming=grooming_path)


def test_report_says_when_real_chat_was_not_measured(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    test = write_labelled(tmp_path / "test.jsonl", 10, seed=5)
    cfg = fast_config()
    cfg.baselines.tfidf.enabled = False
    metrics = evaluate_bundle(tiny_bundle_dir, test, tmp_path / "out", config=cfg)
    assert "real_chat" not in metrics
    assert "Not measured: run with <code>--real-benign</code>" in (tmp_path / "out" / "report.html").read_text()


def test_real_benign_that_overlaps_training_is_refused_by_id_and_by_content(
        tiny_bundle_dir: Path, tmp_path: Path) -> None:
    """The same conversation under a new id (a re-conversion, a pasted export) is not held out: the
    check compares content, not only ids. Before, only the id was (and only in training)."""
    topics = ["the hiking trip last weekend", "a recipe for lentil soup", "which bus goes to the museum",
              "the new library opening hours"]
    benign = [Conversation(conversation_id=f"real-{i}", messages=[
        Message(author="ana", text=f"have you heard about {topic}?"),
        Message(author="ben", text=f"only a little, tell me more about {topic}"),
        Message(author="ana", text=f"well, {topic} was the talk of the office all week"),
        Message(author="ben", text="ha, fair enough")]) for i, topic in enumerate(topics)]
    benign_path = tmp_path / "benign.jsonl"
    write_jsonl(benign_path, benign)
    test = write_labelled(tmp_path / "test.jsonl", 10, seed=6)
    renamed = [c.model_copy(update={"conversation_id": f"copy-of-{i}", "label": 0}) for i, c in enumerate(benign[:2])]
    train = tmp_path / "train.jsonl"
    write_jsonl(train, [*renamed, *make_conversations(6, seed=9)])
    cfg = fast_config()
    cfg.baselines.tfidf.enabled = False
    with pytest.raises(DataError, match=r"benign.jsonl: 2 of 4 real benign conversations also occur .* "
                                        r"\(0 by id, 2 by content"):
        evaluate_bundle(tiny_bundle_dir, test, tmp_path / "out", train, config=cfg, real_benign=benign_path)
    write_jsonl(train, [benign[0].model_copy(update={"label": 0}), *make_conversations(6, seed=9)])  # same id
    with pytest.raises(DataError, match=r"1 of 4 .* \(1 by id, 0 by content"):
        evaluate_bundle(tiny_bundle_dir, test, tmp_path / "out", train, config=cfg, real_benign=benign_path)
    write_jsonl(train, make_conversations(6, seed=9))  # disjoint: accepted
    assert evaluate_bundle(tiny_bundle_dir, test, tmp_path / "out", train, config=cfg,
                           real_benign=benign_path)["real_chat"]["n_benign"] == 4
