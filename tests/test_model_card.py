"""model_card.md carries Hugging Face model-card metadata (YAML front matter) that matches the recipe and data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from groomguard.bundle import BundleManifest, Calibration, NormalisationInfo, TrainingDataInfo
from groomguard.scores import Thresholds
from groomguard.training.export.model_card import CardInputs, front_matter, render_model_card
from groomguard.training.train_config import TrainConfig


def card(base_model: str, sources: list[str], languages: list[str], synthetic: bool) -> CardInputs:
    cfg = TrainConfig.model_validate({"name": "x", "data": {"train": "t.jsonl", "val": "v.jsonl"},
                                      "base_model": base_model, "base_model_config": {"hidden_size": 32}})
    manifest = BundleManifest(name="x", version="1", base_model=base_model, max_length=64,
                              normalisation=NormalisationInfo(version=2, deobfuscate=True),
                              thresholds=Thresholds(review=0.5, high=0.8),
                              calibration=Calibration(method="temperature", temperature=1.3),
                              training_data=TrainingDataInfo(synthetic=synthetic))
    return CardInputs(manifest=manifest, cfg=cfg, sources=sources, languages=languages)


def meta_of(text: str) -> dict[str, Any]:
    """Front matter as the Hub reads it: a YAML block between the first two `---` lines at the very top."""
    assert text.startswith("---\n")
    block, _, _ = text[4:].partition("\n---\n")
    return dict(yaml.safe_load(block))


def test_minilm_on_the_demo_mix() -> None:
    c = card("minilm", ["chitchat", "chitchat+synthetic", "synthetic"], ["en", "fr", "en"], synthetic=True)
    text = render_model_card(c)
    meta = meta_of(text)
    assert meta["license"] == "apache-2.0"
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta["datasets"] == ["chitchat-dataset", "groomguard-grafted", "groomguard-synthetic"]
    assert meta["language"] == ["en", "fr"]
    assert meta["pipeline_tag"] == "text-classification"
    assert {"roc_auc", "precision", "recall"} <= set(meta["metrics"])
    assert "synthetic-data" in meta["tags"] and "child-safety" in meta["tags"]
    body = text.split("\n---\n", 1)[1]
    assert body.lstrip("\n").startswith("# Model card: x (1)") and "PARTLY SYNTHETIC TRAINING DATA" in body
    assert "real conversations (chitchat)" in body and "only on conversations" not in body


def test_all_synthetic_data_says_so() -> None:
    body = render_model_card(card("minilm", ["synthetic"], ["en"], synthetic=True))
    assert "> **SYNTHETIC TRAINING DATA.** This model was trained and evaluated only on conversations" in body
    assert "PARTLY" not in body


@pytest.mark.parametrize(("base", "expected"), [("tiny-bert", None), ("org/some-bert", "org/some-bert")])
def test_base_model_only_when_it_has_a_hub_id(base: str, expected: str | None, tmp_path: Path) -> None:
    assert meta_of(front_matter(card(base, ["synthetic"], [], True))).get("base_model") == expected
    local = tmp_path / "ckpt"
    local.mkdir()
    assert "base_model" not in meta_of(front_matter(card(str(local), ["synthetic"], [], True)))


def test_real_research_data_changes_license_and_drops_synthetic_tag() -> None:
    meta = meta_of(front_matter(card("minilm", ["pan12", "unknown"], [], synthetic=False)))
    assert meta["license"] == "other" and meta["license_name"] == "research-only"
    assert meta["datasets"] == ["pan12-sexual-predator-identification"]
    assert "synthetic-data" not in meta["tags"] and "language" not in meta  # no `lang` in the data: unstated
