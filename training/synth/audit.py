"""`groomguard data audit`: does a corpus teach tactics, or shortcuts?

Four checks: shallow-feature ROC-AUC (should be near 0.5), distinct-n-gram ratios per class, the
most frequent message lines (none in more than 1% of conversations) and template-disjoint
generalisation — train on pool half A, test on half B, so a model that memorised phrasings fails.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from groomguard.errors import DataError
from groomguard.jsonl import iter_jsonl, write_jsonl
from groomguard.schema import Conversation
from groomguard.training.synth.config import SynthSettings
from groomguard.training.synth.generator import generate
from groomguard.training.synth.shortcuts import LineShare, distinct_ngrams, line_shares, origin, shallow_auc

FINETUNE_MINUTES = 14  # measured 14 min on 2 CPU cores: 140 steps + export + scoring 300 half-B chats


@dataclass
class AuditReport:
    file: str
    n_conversations: int
    n_positive: int
    n_negative: int
    french_share: float
    hard_negative_share: float
    shallow_auc: dict[str, float]
    shallow_auc_limit: float
    distinct_ngrams: dict[str, dict[str, float]]
    top_lines: list[LineShare]
    max_line_share: float
    max_line_share_limit: float
    template_disjoint: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, int] = field(default_factory=dict)
    style_auc: dict[str, float] = field(default_factory=dict)  # origin + shallow style -> label (mixes only)
    style_auc_limit: float = 0.70
    seconds: float = 0.0

    @property
    def shallow_ok(self) -> bool:
        return max(self.shallow_auc.values()) < self.shallow_auc_limit

    @property
    def style_ok(self) -> bool:
        return not self.style_auc or max(self.style_auc.values()) < self.style_auc_limit

    @property
    def lines_ok(self) -> bool:
        return self.max_line_share <= self.max_line_share_limit

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shallow_ok"], d["lines_ok"], d["style_ok"] = self.shallow_ok, self.lines_ok, self.style_ok
        return d


def conversation_text(conv: Conversation) -> str:
    return "\n".join(m.text for m in conv.messages)


def tfidf_auc(train: Sequence[Conversation], test: Sequence[Conversation]) -> float:
    """TF-IDF (word 1-2 + char 2-5 grams) + logistic regression, trained on `train`, AUC on `test`."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline, make_union

    vec = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=50000),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True, max_features=100000),
    )
    model = make_pipeline(vec, LogisticRegression(C=4.0, max_iter=2000))
    model.fit([conversation_text(c) for c in train], [c.label for c in train])
    p = model.predict_proba([conversation_text(c) for c in test])[:, 1]
    return float(roc_auc_score([c.label for c in test], p))


def finetune_auc(settings: SynthSettings, train: list[Conversation], test: list[Conversation]) -> dict[str, Any]:
    """Fine-tune the demo recipe on half A (train/val), score half B through the serving engine."""
    from groomguard.config import load_config
    from groomguard.evaluation.metrics import roc_auc
    from groomguard.serving.engine import build_engine
    from groomguard.serving.engine_config import EngineConfig
    from groomguard.training.train import run_training
    from groomguard.training.train_config import TrainConfig

    workdir = Path(settings.audit.workdir)
    n_val = max(len(train) // 7, 20)
    paths = {"train": workdir / "train_A.jsonl", "val": workdir / "val_A.jsonl", "test": workdir / "test_B.jsonl"}
    write_jsonl(paths["train"], train[n_val:])
    write_jsonl(paths["val"], train[:n_val])
    write_jsonl(paths["test"], test)
    overrides = [f"data.train={paths['train']}", f"data.val={paths['val']}", "data.test=null",
                 "name=synth-audit", f"output_dir={workdir / 'bundle'}", f"work_dir={workdir / 'train'}",
                 "tracking.enabled=false", "evaluation.enabled=false", *settings.audit.finetune_overrides]
    cfg = load_config(TrainConfig, settings.audit.finetune_config, overrides)
    started = time.perf_counter()
    outcome = run_training(cfg, log=lambda *_: None)
    engine = build_engine(str(outcome.bundle_dir), EngineConfig(providers=["CPUExecutionProvider"]))
    try:
        scores = engine.score_conversations(test, stride=2)
    finally:
        engine.close()
    auc = roc_auc([int(c.label or 0) for c in test], [s.risk for s in scores])
    return {"finetuned_auc": auc, "bundle_dir": str(outcome.bundle_dir),
            "finetune_seconds": round(time.perf_counter() - started, 1)}


def template_disjoint(settings: SynthSettings, finetune: bool) -> dict[str, Any]:
    a = settings.audit
    train = generate(a.train_conversations, a.train_seed, "A", settings.generator)
    test = generate(a.test_conversations, a.test_seed, "B", settings.generator)
    out: dict[str, Any] = {"train": f"{len(train)} conversations, pool half A, seed {a.train_seed}",
                           "test": f"{len(test)} conversations, pool half B, seed {a.test_seed}",
                           "tfidf_lr_auc": tfidf_auc(train, test)}
    if finetune:
        out.update(finetune_auc(settings, train, test))
    else:
        out["finetuned_auc"] = None
        out["finetuned_note"] = f"fine-tuned model: run with --finetune (≈{FINETUNE_MINUTES} min)"
    return out


def run_audit(path: str | Path, settings: SynthSettings, finetune: bool = False,
              with_template_disjoint: bool = True) -> AuditReport:
    started = time.perf_counter()
    convs = [c for c in iter_jsonl(path) if c.label is not None]
    labels = {c.label for c in convs}
    if labels != {0, 1}:
        raise DataError(f"{path}: the audit needs labelled conversations of both classes")
    pos = [c for c in convs if c.label == 1]
    neg = [c for c in convs if c.label == 0]
    top, max_share = line_shares(convs, settings.audit.top_lines)
    report = AuditReport(
        file=str(path), n_conversations=len(convs), n_positive=len(pos), n_negative=len(neg),
        french_share=sum(c.lang == "fr" for c in convs) / len(convs),
        hard_negative_share=sum("hard-negative" in c.tags for c in neg) / len(neg),
        shallow_auc=shallow_auc(convs, settings.audit.cv_folds),
        shallow_auc_limit=settings.audit.max_shallow_auc,
        distinct_ngrams={"grooming": distinct_ngrams(pos), "benign": distinct_ngrams(neg)},
        top_lines=top, max_line_share=max_share, max_line_share_limit=settings.audit.max_line_share,
    )
    report.origins = dict(Counter(origin(c) for c in convs))
    report.style_auc_limit = settings.audit.max_style_auc
    if len(report.origins) > 1:  # a mix of real and synthetic chat: can style give the label away?
        report.style_auc = shallow_auc(convs, settings.audit.cv_folds, with_origin=True)
    if with_template_disjoint:
        report.template_disjoint = template_disjoint(settings, finetune)
    report.seconds = round(time.perf_counter() - started, 1)
    return report
