"""Shared fixtures. Heavy ones are session-scoped: the tiny bundle is exported once per run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def tiny_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A verified bundle with a random-weight tiny BERT and the real MiniLM tokenizer."""
    from tests.tiny_bundle import build_tiny_bundle

    return build_tiny_bundle(tmp_path_factory.mktemp("bundle") / "tiny")


@pytest.fixture(scope="session")
def minilm_tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer

    from tests.tiny_bundle import minilm_dir

    return Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
