from pathlib import Path

from groomguard.bundle import Bundle
from groomguard.schema import Conversation, Message
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig


def test_tiny_bundle_scores(tiny_bundle_dir: Path) -> None:
    engine = build_engine(str(tiny_bundle_dir), EngineConfig())
    msgs = [Message(author="u1", text="hi"), Message(author="u2", text="hey")]
    conv = Conversation(conversation_id="c1", messages=msgs)
    (s,) = engine.score_conversations([conv])
    assert len(s.risk_by_message) == 2
    assert 0.0 <= s.risk <= 1.0
    assert Bundle.load(tiny_bundle_dir).manifest.files["model.onnx"]
