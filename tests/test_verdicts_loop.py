"""The loop closes (issue 11): a false alert dismissed on the review queue, exported with
`groomguard data verdicts` and trained on with `data.extra_train`, scores lower than before.

Tiny BERT (configs/train-test.yaml), two trainings with the same seed and steps that differ only in
the extra verdicts file; the case is opened by streaming the conversation through the review service
scored by the baseline bundle, as serving would.
"""

from __future__ import annotations

from pathlib import Path

from groomguard.jsonl import iter_jsonl
from groomguard.schema import Conversation, Message
from groomguard.scores import Thresholds
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.review import ReviewService
from groomguard.serving.store import RetentionConfig, StateConfig, StoreConfig, open_store
from tests.support.train import make_splits, overrides
from tests.test_train_pipeline import CONFIG, run_cli

# SYNTHETIC, benign: a sibling planning a surprise party borrows the words of secrecy and age questions.
FALSE_ALERT = [
    ("sis", "how old are you turning on saturday"),
    ("bro", "twelve, why"),
    ("sis", "this is our little secret ok, mum is planning a surprise"),
    ("bro", "no way, a party?"),
    ("sis", "dont tell your parents we know ok"),
    ("bro", "promise, i will act surprised"),
]


def _train(root: Path, paths: dict[str, Path], name: str, extra: list[str]) -> Path:
    out = root / name
    args = ["train", "--config", str(CONFIG)]
    steps = ["training.max_steps=240", "training.epochs=10", "training.eval_steps=40",
             "training.early_stopping_patience=10"]  # long enough that the baseline really learns the phrases
    for s in [*overrides(paths, out, root / f"work-{name}"), *steps, *extra]:
        args += ["--set", s]
    assert run_cli(args) == 0
    return out


def _max_risk(bundle: Path, conv: Conversation) -> float:
    engine = build_engine(str(bundle), EngineConfig(providers=["CPUExecutionProvider"], intra_op_threads=1))
    try:
        return max(engine.score_conversations([conv])[0].risk_by_message)
    finally:
        engine.close()


def test_dismissed_false_alert_scores_lower_after_retraining(tmp_path: Path) -> None:
    paths = make_splits(tmp_path / "data")
    before_bundle = _train(tmp_path, paths, "before", [])
    conv = Conversation(conversation_id="party-1", messages=[
        Message(author=a, text=t, message_id=f"m-{i}") for i, (a, t) in enumerate(FALSE_ALERT)])

    url = f"sqlite:///{tmp_path / 'queue.db'}"
    store = open_store(StoreConfig(url=url))
    engine = build_engine(str(before_bundle), EngineConfig(providers=["CPUExecutionProvider"], intra_op_threads=1))
    try:
        svc = ReviewService.build(store, lambda w: [float(x) for x in engine.infer_batch(w)], engine.windower,
                                  Thresholds(review=0.0, high=1.0), engine.model_ref, StateConfig(tail_messages=64),
                                  RetentionConfig())
        for m in conv.messages:  # streamed like a chat platform would (review threshold 0: it opens a case)
            outcome = svc.append_messages(conv.conversation_id, [m])
        assert outcome.case_id is not None
        svc.decide(outcome.case_id, "dismissed", "surprise party between siblings", actor="mo")
    finally:
        engine.close()
        store.close()

    verdicts = tmp_path / "verdicts.jsonl"
    assert run_cli(["data", "verdicts", "--db-url", url, "-o", str(verdicts)]) == 0
    after_bundle = _train(tmp_path, paths, "after", [f"data.extra_train=[{verdicts}]", "data.extra_train_weight=20"])

    before, after = _max_risk(before_bundle, conv), _max_risk(after_bundle, conv)
    assert after < before - 0.05, f"dismissed false alert: {before:.3f} before, {after:.3f} after retraining"
    # control: the retrained model did not just go quiet: held-out grooming still outscores the dismissed alert
    grooming = [c for c in iter_jsonl(paths["test"]) if c.label == 1]
    caught = [_max_risk(after_bundle, c) for c in grooming]
    # measured: 1.000 -> 0.036 for the false alert; held-out grooming 0.960 after retraining
    assert all(r > after + 0.3 for r in caught), f"after retraining: {caught} vs {after:.3f}"
