"""Baselines scored on the model's own windows: TF-IDF + logistic regression, and a keyword list.

Both produce per-window scores in [0, 1] over exactly the windows the model scored; a conversation's
risk after message i is the latest window's score and its overall risk is the maximum, the same
rule as the model, so the latency numbers compare like with like.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.errors import ConfigError
from groomguard.evaluation.summary import ScoredSet
from groomguard.evaluation.windows_text import conversation_windows, sample_ends
from groomguard.schema import Conversation
from groomguard.window_plan import MessageSpans
from groomguard.windowing import Windower, window_label

DEFAULT_KEYWORDS = Path(__file__).with_name("keywords.txt")


@dataclass(frozen=True)
class TfidfSettings:
    """TF-IDF baseline knobs (values come from configs/eval.yaml `baselines.tfidf`)."""

    threshold: float
    max_windows_per_conversation: int
    max_train_windows: int
    word_ngrams: tuple[int, int]
    char_ngrams: tuple[int, int]
    max_features: int
    c: float
    seed: int


def load_keywords(path: Path = DEFAULT_KEYWORDS) -> list[str]:
    """Phrases from a keyword file: one per line, # comments, case-insensitive, duplicates dropped."""
    if not path.is_file():
        raise ConfigError(f"{path}: keyword list not found")
    phrases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            phrases.append(line.lower())
    if not phrases:
        raise ConfigError(f"{path}: keyword list is empty")
    return list(dict.fromkeys(phrases))


class KeywordScorer:
    """Score = 1 - 0.5 ** (distinct phrases found): more independent tactics, more risk."""

    def __init__(self, phrases: Sequence[str]) -> None:
        self.phrases = list(phrases)
        self._patterns = [re.compile(r"(?<!\w)" + re.escape(p) + r"(?!\w)") for p in self.phrases]

    @staticmethod
    def _prepare(text: str) -> str:
        return text.lower().replace("\u2019", "'")

    def matches(self, text: str) -> list[str]:
        t = self._prepare(text)
        return [p for p, pat in zip(self.phrases, self._patterns, strict=True) if pat.search(t)]

    def score(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([1.0 - 0.5 ** len(self.matches(t)) for t in texts], dtype=np.float64)


def _windows(windower: Windower, convs: Sequence[Conversation], stride: int) -> tuple[MessageSpans, list[str]]:
    """The model's windows (groomguard.window_plan), as text."""
    spans = MessageSpans.of(windower, convs, stride)
    texts = [t for conv, ends in zip(convs, spans.ends, strict=True)
             for t in conversation_windows(windower, conv, ends)]
    return spans, texts


def _scored(name: str, label: str, spans: MessageSpans, risks: np.ndarray,
            seconds: float, threshold: float, notes: list[str]) -> ScoredSet:
    return ScoredSet(name, label, spans.by_message(risks), spans.ends, seconds, {"default": threshold}, "default",
                     notes)


def keyword_baseline(windower: Windower, convs: Sequence[Conversation], stride: int, threshold: float,
                     path: Path = DEFAULT_KEYWORDS) -> ScoredSet:
    scorer = KeywordScorer(load_keywords(path))
    t0 = time.perf_counter()
    spans, texts = _windows(windower, convs, stride)
    risks = scorer.score(texts)
    seconds = time.perf_counter() - t0
    note = f"{len(scorer.phrases)} phrases from {path.name}; alert at >= {threshold:g}"
    return _scored("keywords", "Keyword list", spans, risks, seconds, threshold, [note])


def train_tfidf(windower: Windower, train: Sequence[Conversation], settings: TfidfSettings) -> Any:
    """Fit word + character n-gram TF-IDF and a class-balanced logistic regression on training windows."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    texts: list[str] = []
    labels: list[int] = []
    # seeded shuffle, then stop at the cap: a large training split costs no more than a small one
    for i in np.random.default_rng(settings.seed).permutation(len(train)):
        conv = train[int(i)]
        if conv.label is None:
            continue
        ends = sample_ends(windower.window_ends(len(conv.messages)), settings.max_windows_per_conversation)
        texts.extend(conversation_windows(windower, conv, ends))
        labels.extend(int(window_label(conv, e) or 0) for e in ends)
        if len(texts) >= settings.max_train_windows:
            break
    if len(set(labels)) < 2:
        raise ConfigError("TF-IDF baseline: the training split needs both labels")
    half = settings.max_features // 2
    features = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=settings.word_ngrams, sublinear_tf=True, min_df=2,
                        max_features=half),
        TfidfVectorizer(analyzer="char_wb", ngram_range=settings.char_ngrams, sublinear_tf=True, min_df=2,
                        max_features=half),
    )
    model = make_pipeline(features, LogisticRegression(C=settings.c, class_weight="balanced", max_iter=2000))
    model.fit(texts, labels)
    return model


def tfidf_score(model: Any, windower: Windower, convs: Sequence[Conversation], stride: int, threshold: float,
                notes: list[str] | None = None) -> ScoredSet:
    """Score conversations with a fitted TF-IDF model (`train_tfidf`) on the model's own windows."""
    t1 = time.perf_counter()
    spans, texts = _windows(windower, convs, stride)
    risks = model.predict_proba(texts)[:, 1].astype(np.float64)
    seconds = time.perf_counter() - t1
    return _scored("tfidf_logreg", "TF-IDF + logistic regression", spans, risks, seconds,
                   threshold, notes or [])


def tfidf_baseline(windower: Windower, train: Sequence[Conversation], convs: Sequence[Conversation], stride: int,
                   settings: TfidfSettings, model: Any = None) -> ScoredSet:
    """Train (unless a fitted `model` is given) and score the TF-IDF + logistic regression baseline."""
    t0 = time.perf_counter()
    model = model if model is not None else train_tfidf(windower, train, settings)
    train_s = time.perf_counter() - t0
    notes = [f"trained on {len(train)} conversations in {train_s:.1f} s; alert at >= {settings.threshold:g}"]
    return tfidf_score(model, windower, convs, stride, settings.threshold, notes)
