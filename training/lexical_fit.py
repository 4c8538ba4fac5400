"""Fit the lexical head (groomguard/lexical.py) on training windows' token ids with scikit-learn.

The windows are the transformer's own training windows (`PreparedData.train`: the same sampled
prefix windows, the same split), so the head never sees validation or any yardstick. Class-balanced,
like the transformer's loss.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from groomguard.errors import ConfigError
from groomguard.lexical import LexicalHead, ngram_key, token_ngrams
from groomguard.training.data.prepare import PreparedData
from groomguard.training.train_config import LexicalSettings, TrainConfig
from groomguard.training.windows_dataset import WindowSet


@dataclass(frozen=True)
class FittedLexical:
    head: LexicalHead
    n_windows: int
    seconds: float


def fit_lexical(windows: WindowSet, vocab_size: int, settings: LexicalSettings, seed: int) -> FittedLexical:
    """Fit the head on the transformer's own training windows (a seeded subsample when over the cap)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    ids, labels = windows.input_ids, windows.labels
    if len(ids) > settings.max_train_windows:
        keep = np.sort(np.random.default_rng(seed).choice(len(ids), settings.max_train_windows, replace=False))
        ids, labels = [ids[int(i)] for i in keep], [labels[int(i)] for i in keep]
    if len(set(labels)) < 2:
        raise ConfigError("lexical head: the training windows need both labels")
    n = settings.ngram_max
    vec = TfidfVectorizer(analyzer=lambda w: token_ngrams(w, n), sublinear_tf=True, min_df=2,
                          max_features=settings.max_features)
    x = vec.fit_transform(ids)
    lr = LogisticRegression(C=settings.c, class_weight="balanced", max_iter=2000)
    lr.fit(x, labels)
    return FittedLexical(to_head(vec, lr, vocab_size, n), len(ids), time.perf_counter() - t0)


def fit_lexical_head(cfg: TrainConfig, data: PreparedData) -> FittedLexical | None:
    """The lexical head on the transformer's training windows, when the recipe asks for one (train, export)."""
    if not cfg.lexical.enabled:
        return None
    return fit_lexical(data.train, data.windower.tokenizer.get_vocab_size(), cfg.lexical, cfg.seed)


def to_head(vectorizer: object, classifier: object, vocab_size: int, ngram_max: int) -> LexicalHead:
    """A fitted sklearn TfidfVectorizer (token-id tuple features) + binary LogisticRegression as arrays."""
    vocabulary: dict[tuple[int, ...], int] = vectorizer.vocabulary_  # type: ignore[attr-defined]
    idf = np.asarray(vectorizer.idf_, dtype=np.float64)  # type: ignore[attr-defined]
    coef = np.asarray(classifier.coef_, dtype=np.float64).ravel()  # type: ignore[attr-defined]
    keys = np.array([ngram_key(g, vocab_size) for g in vocabulary], dtype=np.int64)
    index = np.array(list(vocabulary.values()), dtype=np.int64)
    order = np.argsort(keys)
    return LexicalHead(keys[order], idf[index[order]], coef[index[order]],
                       float(classifier.intercept_[0]), ngram_max, vocab_size)  # type: ignore[attr-defined]
