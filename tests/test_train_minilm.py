"""Fine-tune the real bundled MiniLM for a few steps and export it (slow: ~1-2 min on 2 cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from groomguard.bundle import Bundle
from groomguard.config import load_config
from groomguard.training.train import run_training
from groomguard.training.train_config import TrainConfig
from tests.support.train import make_splits, overrides

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "train-test.yaml"


@pytest.mark.slow
def test_minilm_few_steps_end_to_end(tmp_path: Path) -> None:
    paths = make_splits(tmp_path / "data", n_train=16, n_eval=12)
    sets = [*overrides(paths, tmp_path / "bundle", tmp_path / "work"), "base_model=minilm", "base_model_config=null",
            "windows.max_length=64", "windows.train_per_conversation=2", "windows.eval_per_conversation=2",
            "training.learning_rate=5e-5", "training.max_steps=3", "training.eval_steps=3", "training.batch_size=8",
            "training.torch_threads=2", "export.int8=false", "export.parity_windows=12"]
    cfg = load_config(TrainConfig, CONFIG, sets)
    outcome = run_training(cfg, log=lambda *_: None)
    m = Bundle.load(outcome.bundle_dir).manifest
    assert "all-MiniLM-L6-v2" in m.base_model
    assert m.metrics["train_steps"] == 3
    assert m.metrics["onnx_parity_max_abs_delta_prob"] < 1e-4
    assert (tmp_path / "work" / "tiny-test" / "best" / "model.safetensors").is_file()
