"""model_card.md: what a bundle was trained on, how well it does, and what it must not be used for.

The card starts with Hugging Face model-card metadata (YAML front matter: license, base_model,
datasets, language, metrics, tags, pipeline_tag) so hubs and catalogues index it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from groomguard.bundle import Bundle, BundleManifest, write_manifest
from groomguard.training.train_config import BUNDLED_MINILM, TINY_BERT, TrainConfig

MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
# Conversation `source` -> dataset identifier in the card's metadata.
DATASET_IDS = {
    "synthetic": "groomguard-synthetic",          # `groomguard data synth` (generated, not real chats)
    "chitchat+synthetic": "groomguard-grafted",   # real chit-chat openings + synthetic tactics
    "chitchat": "chitchat-dataset",               # BYU PCC chit-chat corpus (PyPI chitchat-dataset, MIT)
    "pan12": "pan12-sexual-predator-identification",  # PAN 2012 (research use only)
}


@dataclass(frozen=True)
class CardInputs:
    manifest: BundleManifest
    cfg: TrainConfig
    data_summary: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)  # `source` values of the conversations read
    languages: list[str] = field(default_factory=list)  # `lang` values of the conversations read


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def _per(k: int) -> str:
    return "all" if k <= 0 else f"up to {k}"


def base_model_id(cfg: TrainConfig) -> str | None:
    """The hub id of the base model, when there is one (not for tiny-bert or a local directory)."""
    if cfg.base_model == BUNDLED_MINILM:
        return MINILM_HUB_ID
    if cfg.base_model == TINY_BERT or Path(cfg.base_model).is_dir():
        return None
    return cfg.base_model


def front_matter(card: CardInputs) -> str:
    """Hugging Face model-card metadata for this bundle."""
    m, cfg = card.manifest, card.cfg
    research_only = "pan12" in card.sources
    meta: dict[str, Any] = {"license": "other" if research_only else "apache-2.0"}
    if research_only:
        meta["license_name"] = "research-only"  # PAN12 may be used for research only; so may this model
    base = base_model_id(cfg)
    if base:
        meta["base_model"] = base
    meta["datasets"] = sorted({DATASET_IDS.get(s, s) for s in card.sources if s != "unknown"})
    if card.languages:  # only what the data says (`lang`); unknown stays unstated
        meta["language"] = sorted(set(card.languages))
    meta["metrics"] = ["roc_auc", "precision", "recall"]
    tags = ["text-classification", "child-safety", "grooming-detection", "onnx", "groomguard"]
    meta["tags"] = [*tags, "synthetic-data"] if m.training_data.synthetic else tags
    meta["pipeline_tag"] = "text-classification"
    meta["library_name"] = "onnx"
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n"


def synthetic_warning(sources: list[str]) -> list[str]:
    """The card's opening warning; it names what is real when real chat is mixed in."""
    real = sorted(s for s in sources if "synth" not in s and s != "unknown")
    if not real:
        return [
            "> **SYNTHETIC TRAINING DATA.** This model was trained and evaluated only on conversations",
            "> produced by groomguard's synthetic generator. Its metrics say how well it separates the",
            "> generator's templates, NOT how it performs on real chats. Do not deploy it for real",
            "> moderation; retrain on real labelled data (e.g. PAN12 for research, your platform's",
            "> moderator verdicts in practice) and re-evaluate.",
            "",
        ]
    return [
        "> **PARTLY SYNTHETIC TRAINING DATA.** Every grooming example this model learned from was written",
        "> by groomguard's synthetic generator (some continued from real chat openings, \"grafted\");",
        f"> real conversations ({', '.join(real)}) supply benign chat and openings only. Its recall on",
        "> real grooming is unmeasured: the real-register figures below are on grafted conversations.",
        "> Do not deploy it for real moderation without labelled real data (your platform's moderator",
        "> verdicts) and a re-evaluation.",
        "",
    ]


def _extra(n: int) -> str:
    return f", {n} of them from the training side's real chats at full length" if n else ""


_UNITS = {"ids": "token-id", "words": "word (the window's ids decoded by the bundle's tokenizer)"}


def _lexical_lines(m: BundleManifest) -> list[str]:
    """The hybrid's parts: what the margin in the calibration line is made of."""
    lx = m.lexical
    if lx is None:
        return ["- Parts: the transformer alone (no lexical head)"]
    return [f"- Parts: margin = {1 - lx.weight:g} x transformer margin x {lx.transformer_scale:.4f} + {lx.weight:g} x "
            f"lexical head ({lx.file}: TF-IDF over {lx.features} {_UNITS[lx.units]} 1-{lx.ngram_max}-grams + logistic "
            f"regression, fitted on {lx.train_windows} training windows{_extra(lx.extra_benign_windows)}; "
            "groomguard/lexical.py). Each part's ROC-AUC "
            "alone is in the metrics (`*_part_roc_auc`) and the evaluation report"]


def render_model_card(card: CardInputs) -> str:
    m, cfg = card.manifest, card.cfg
    td = m.training_data
    lines = [front_matter(card), f"# Model card: {m.name} ({m.version})", ""]
    if td.synthetic:
        lines += synthetic_warning(card.sources)
    lines += [
        "## Intended use",
        "",
        "Ranking and routing conversations to **human moderators** for review. Scores are evidence for a",
        "trained person, never grounds for automated action (bans, reports to authorities, account",
        "restrictions) on their own.",
        "",
        "## Model",
        "",
        f"- Base model: {m.base_model}",
        f"- Windows: last messages that fit {m.max_length} tokens, stride {m.stride}; roles instead of handles;",
        f"  text normalisation v{m.normalisation.version} "
        f"(de-obfuscation {'on' if m.normalisation.deobfuscate else 'off'})",
        f"- Calibration: {m.calibration.method}, risk = sigmoid(margin / {m.calibration.temperature:.4f} "
        f"+ {m.calibration.bias:.4f}) fitted on validation windows (NLL); "
        f"validation window ECE {_fmt(m.calibration.ece_val)}",
        "- Variants: " + ", ".join(f"{k} ({v.file}, max |Δp| vs fp32 {_fmt(v.max_abs_delta_prob)})"
                                   for k, v in m.variants.items()),
        *_lexical_lines(m),
        "",
        "## Training data",
        "",
        f"- Synthetic: {'yes' if td.synthetic else 'no'}; "
        f"fingerprint (sha256 of train/val/test files) `{td.fingerprint[:16]}…`",
        f"- Train: {td.train_path}; validation: {td.val_path}; test: {td.test_path}",
    ]
    for split, summary in card.data_summary.items():
        lines.append(f"- {split}: {summary}")
    lines += [
        f"- Sampling: {_per(cfg.windows.train_per_conversation)} windows per training conversation, "
        f"{_per(cfg.windows.eval_per_conversation)} per validation/test conversation (seed {cfg.seed}); windows are",
        "  positive only from the conversation's `first_risk_index` on; class imbalance handled with "
        + ("class-weighted cross-entropy." if cfg.training.class_weighting == "loss" else "nothing (plain loss)."),
        "",
        "## Operating points (chosen on validation conversations, scored as serving scores them)",
        "",
        "| level | threshold | precision (val) | recall (val) | alerts / 1,000 real chats (val) | rule |",
        "|---|---|---|---|---|---|",
        *(f"| {name} | {p.threshold:.4f} | {_fmt(p.precision)} | {_fmt(p.recall)} | "
          f"{_fmt(p.alerts_per_1000_real)} | {p.rule} |" for name, p in m.operating_points.items()),
        "",
        "A conversation's level is its running maximum over the windows ending at every message. Held-out",
        "figures (synthetic test split, held-out real chat) are in the evaluation section below.",
        "",
        "## Metrics",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in sorted(m.metrics.items())]
    lines += [
        "",
        "## Limits",
        "",
        "- Sees only the most recent messages that fit the window; earlier context is dropped.",
        "- Text only: no images, links' content, account metadata or timing.",
        "- Language coverage is that of the training data (the synthetic corpus: English with ~10% French);",
        "  other languages are untested.",
        "- Adversaries adapt: evasions beyond the normaliser's de-obfuscation will be missed.",
        "- False positives land on real people: keep humans in the loop and audit decisions.",
        "",
    ]
    return "\n".join(lines)


def record_evaluation(bundle_dir: Path, metrics: dict[str, float], report_dir: Path | None) -> BundleManifest:
    """Add test-split evaluation results to bundle.json metrics and model_card.md, then re-hash."""
    bundle = Bundle.load(bundle_dir)
    manifest = bundle.manifest.model_copy(update={"metrics": {**bundle.manifest.metrics, **metrics}})
    card = bundle_dir / "model_card.md"
    lines = ["", "## Test split evaluation (conversation level, through the exported bundle)", ""]
    lines += [f"- {k}: {_fmt(v)}" for k, v in sorted(metrics.items())]
    if report_dir is not None:
        lines.append(f"- Full report: {report_dir / 'report.html'} (metrics.json alongside)")
    card.write_text(card.read_text(encoding="utf-8") + "\n".join(lines) + "\n", encoding="utf-8")
    return write_manifest(bundle_dir, manifest)
