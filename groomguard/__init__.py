"""groomguard: grooming-risk detection for chat platforms.

This package is the shared contract (conversation schema, text normalisation, windowing, scores,
model bundle) imported by training, evaluation and serving. It never imports torch or transformers.
The layers install beneath it: `groomguard.training`, `groomguard.serving`, `groomguard.evaluation`;
the command line (`groomguard.cli`) sits on top and nothing below it imports it.

For a Python user::

    from groomguard import Conversation, load_engine
    engine = load_engine("models/bundles/demo")
    [score] = engine.score_conversations([Conversation.model_validate(record)])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from groomguard.bundle import Bundle
from groomguard.schema import Conversation, Message

__version__ = "0.1.0"

if TYPE_CHECKING:
    from groomguard.serving.engine import ScoringEngine

__all__ = ["Bundle", "Conversation", "Message", "__version__", "load_engine"]


def load_engine(bundle_dir: str, **engine_settings: Any) -> ScoringEngine:
    """A scoring engine on ONNX Runtime for a bundle directory (CPU or GPU, fastest safe variant).

    `engine_settings` are `EngineConfig` fields (e.g. `variant="fp32"`, `max_batch_size=8`); the
    defaults are those of configs/serve.yaml's `engine` section.
    """
    from groomguard.serving.engine import build_engine  # serving imports the contract, not vice versa
    from groomguard.serving.engine_config import EngineConfig

    return build_engine(bundle_dir, EngineConfig(**engine_settings))
