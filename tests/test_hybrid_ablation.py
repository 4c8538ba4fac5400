"""benchmarks/hybrid_ablation.py: the candidate that repeats a bundle's own recipe must reproduce that
bundle's calibration-driven thresholds from the cached transformer scores (otherwise its rows would
not describe what `make model` builds), and the window cache must return each window's own score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.hybrid_ablation import Candidate, Scored, TransformerCache, evaluate
from groomguard.bundle import Bundle
from groomguard.config import load_config
from groomguard.evaluation.summary import EvalSettings
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.training.data.prepare import prepare_data
from groomguard.training.train_config import TrainConfig
from groomguard.window_plan import WindowPlan
from tests.support.train import make_splits, overrides, run_cli

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "train-test.yaml"
RECIPE = ["lexical.enabled=true", "lexical.weight=0.4", "lexical.ngram_max=2", "lexical.windows_per_conversation=3",
          "lexical.c=2.0"]


def test_the_bundles_own_recipe_reproduces_its_thresholds(tmp_path: Path) -> None:
    paths = make_splits(tmp_path / "data", n_train=60)
    sets_ = [*overrides(paths, tmp_path / "bundle", tmp_path / "work"), "training.max_steps=8",
             "windows.max_length=48", *RECIPE, "export.int8=false", "export.fused=false", "evaluation.enabled=false",
             "thresholds.review_alerts_per_1000=250"]
    args = ["train", "--config", str(CONFIG)]
    for s in sets_:
        args += ["--set", s]
    assert run_cli(args) == 0
    cfg = load_config(TrainConfig, CONFIG, sets_)
    bundle = Bundle.load(tmp_path / "bundle")
    data = prepare_data(cfg, tmp_path / "bundle" / "tokenizer.json")
    engine = build_engine(str(tmp_path / "bundle"), EngineConfig(variant="fp32"))
    cache = TransformerCache(tmp_path / "cache.npz")
    test = data.val_conversations  # any labelled set stands in for a yardstick here
    plans = {"val": WindowPlan.of(data.windower, data.val_conversations), "handwritten": WindowPlan.of(
        data.windower, test)}
    cache.fill(engine, [w for p in plans.values() for w in p.windows])
    engine.close()
    # the cache on disk gives each window the transformer part the engine computes for it alone
    again = TransformerCache(tmp_path / "cache.npz")
    parts = build_engine(str(tmp_path / "bundle"), EngineConfig(variant="fp32")).score_window_parts(
        plans["val"].windows[:5])
    np.testing.assert_allclose(again.of(plans["val"].windows[:5]), parts[:, 1], rtol=1e-9)

    sets = {"val": Scored(data.val_conversations, plans["val"], again.of(plans["val"].windows)),
            "handwritten": Scored(test, plans["handwritten"], again.of(plans["handwritten"].windows))}
    same = Candidate("the bundle's recipe", weight=0.4, ngram_max=2, c=2.0, head_windows="train_all",
                     per_conversation=3, max_features=cfg.lexical.max_features)
    settings = EvalSettings(latency_p=0.9, calibration_bins=10, bootstrap_resamples=10, bootstrap_seed=0,
                            bootstrap_level=0.95)
    row = evaluate(same, sets, data, cfg, settings)
    assert row["head_train_windows"] == bundle.manifest.lexical.train_windows  # type: ignore[union-attr]
    assert row["thresholds"]["review"] == pytest.approx(bundle.manifest.thresholds.review, abs=1e-6)
    assert row["thresholds"]["high"] == pytest.approx(bundle.manifest.thresholds.high, abs=1e-6)
    # another weight is another model: its thresholds move
    other = evaluate(Candidate("w 0.9", weight=0.9, ngram_max=2, c=2.0, head_windows="train_all", per_conversation=3,
                               max_features=cfg.lexical.max_features), sets, data, cfg, settings)
    assert other["thresholds"] != row["thresholds"]
