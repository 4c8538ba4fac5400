"""Fit the lexical head (groomguard/lexical.py) on training windows' token ids with scikit-learn.

The windows come from the training split only, so the head never sees validation or any yardstick:
the transformer's own training windows (`PreparedData.train`), or `lexical.windows_per_conversation`
windows of each training conversation by the transformer's sampler, plus benign windows of
`lexical.extra_benign` (the training side's real chats at full length; checked against the
real-test rule and the validation split). Class-balanced, like the transformer's loss.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from tokenizers import Tokenizer

from groomguard.errors import ConfigError, DataError
from groomguard.jsonl import iter_jsonl
from groomguard.lexical import Head, LexicalHead, ngram_key, token_ngrams
from groomguard.lexical_words import WordHead, decode_windows, word_vectorizer
from groomguard.training.data.prepare import PreparedData
from groomguard.training.data.real_test_rule import assert_not_real_test
from groomguard.training.train_config import LexicalSettings, TrainConfig
from groomguard.training.windows_dataset import WindowSet, build_windows


@dataclass(frozen=True)
class FittedLexical:
    head: Head
    n_windows: int
    seconds: float
    n_extra_benign: int = 0  # of n_windows before the cap: from `lexical.extra_benign`


def fit_lexical(windows: WindowSet, tokenizer: Tokenizer, settings: LexicalSettings, seed: int) -> FittedLexical:
    """Fit the head on these training windows (a seeded subsample when over `max_train_windows`): on
    their token ids, or on the words `tokenizer` decodes them to (`settings.units`)."""
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
    lr = LogisticRegression(C=settings.c, class_weight="balanced", max_iter=2000)
    if settings.units == "words":
        words = word_vectorizer(n, min_df=2, max_features=settings.max_features)
        lr.fit(words.fit_transform(decode_windows(tokenizer, ids)), labels)
        head: Head = to_word_head(words, lr, n, tokenizer)
    else:
        vec = TfidfVectorizer(analyzer=lambda w: token_ngrams(w, n), sublinear_tf=True, min_df=2,
                              max_features=settings.max_features)
        lr.fit(vec.fit_transform(ids), labels)
        head = to_head(vec, lr, tokenizer.get_vocab_size(), n)
    return FittedLexical(head, len(ids), time.perf_counter() - t0)


def _own_windows(cfg: TrainConfig, data: PreparedData) -> WindowSet:
    if cfg.lexical.windows_per_conversation is None:
        return data.train
    if not data.train_conversations:
        raise ConfigError("lexical.windows_per_conversation needs the training split")
    return build_windows(data.train_conversations, data.windower, cfg.lexical.windows_per_conversation, cfg.seed)


def _extra_benign_windows(cfg: TrainConfig, data: PreparedData) -> WindowSet:
    """A seeded sample of every window of the extra benign chats (long chats weigh by their length)."""
    path = cfg.lexical.extra_benign
    if path is None:
        return WindowSet()
    if not path.is_file():
        raise DataError(f"{path}: lexical.extra_benign not found (`groomguard data mix` writes it)")
    extra = list(iter_jsonl(path, strict=True))  # unlabelled chats count as benign: the file's meaning
    assert_not_real_test(extra, str(path))
    val_ids = {c.conversation_id for c in data.val_conversations}
    for c in extra:
        if c.label == 1:
            raise DataError(f"{path}: conversation {c.conversation_id!r} is labelled grooming "
                            "(lexical.extra_benign takes benign chats only)")
        if c.conversation_id in val_ids:
            raise DataError(f"{path}: conversation {c.conversation_id!r} is in the validation split "
                            "(thresholds are chosen there; the head must not train on it)")
    # draw (chat, end) pairs first and build only the windows drawn: every window of 2,315 long chats
    # would be ~190,000 token lists held in memory for 20,000 kept
    w = data.windower
    ends = [(ci, end) for ci, c in enumerate(extra) for end in w.window_ends(len(c.messages))]
    keep = np.sort(np.random.default_rng(cfg.seed).permutation(len(ends))[: cfg.lexical.extra_benign_windows])
    ids: dict[int, list[list[int]]] = {}
    windows = []
    for i in keep:
        ci, end = ends[int(i)]
        if ci not in ids:
            ids[ci] = w.encode_messages(extra[ci].messages)
        windows.append(w.window_ids(ids[ci], end))
    return WindowSet(input_ids=windows, labels=[0] * len(windows))


def head_windows(cfg: TrainConfig, data: PreparedData) -> tuple[WindowSet, int]:
    """The head's training windows, and how many of them (the last ones) are extra benign: the
    transformer's windows or the head's own sample of the training split, then `lexical.extra_benign`'s."""
    own, extra = _own_windows(cfg, data), _extra_benign_windows(cfg, data)
    if not extra.labels:
        return own, 0
    return WindowSet(input_ids=[*own.input_ids, *extra.input_ids], labels=[*own.labels, *extra.labels]), len(extra)


def fit_lexical_head(cfg: TrainConfig, data: PreparedData) -> FittedLexical | None:
    """The lexical head on the training split's windows, when the recipe asks for one (train, export)."""
    if not cfg.lexical.enabled:
        return None
    windows, n_extra = head_windows(cfg, data)
    fitted = fit_lexical(windows, data.windower.tokenizer, cfg.lexical, cfg.seed)
    return replace(fitted, n_extra_benign=n_extra)


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


def to_word_head(vectorizer: object, classifier: object, ngram_max: int, tokenizer: Tokenizer) -> WordHead:
    """A fitted `word_vectorizer` + binary LogisticRegression as a WordHead (terms in feature order)."""
    vocabulary: dict[str, int] = vectorizer.vocabulary_  # type: ignore[attr-defined]
    terms = sorted(vocabulary, key=vocabulary.__getitem__)
    return WordHead(tuple(terms), np.asarray(vectorizer.idf_, dtype=np.float64),  # type: ignore[attr-defined]
                    np.asarray(classifier.coef_, dtype=np.float64).ravel(),  # type: ignore[attr-defined]
                    float(classifier.intercept_[0]), ngram_max, tokenizer)  # type: ignore[attr-defined]
