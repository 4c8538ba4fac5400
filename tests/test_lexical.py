"""The lexical head's numpy margins equal scikit-learn's, whatever the padding (groomguard/lexical.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from groomguard.errors import BundleError
from groomguard.lexical import LexicalHead, combine_logits, ngram_key, token_ngrams
from groomguard.training.lexical_fit import to_head
from groomguard.windowing import pad_batch

VOCAB = 50
PAD = 0


def _corpus(n: int, seed: int) -> tuple[list[list[int]], list[int]]:
    """Random windows over ids 1..VOCAB-1; positives carry the bigram (7, 8) somewhere."""
    rng = np.random.default_rng(seed)
    windows, labels = [], []
    for i in range(n):
        w = rng.integers(1, VOCAB, size=int(rng.integers(3, 30))).tolist()
        label = i % 2
        if label:
            at = int(rng.integers(0, len(w) - 1))
            w[at : at + 2] = [7, 8]
        windows.append(w)
        labels.append(label)
    return windows, labels


def _fit(ngram_max: int) -> tuple[TfidfVectorizer, LogisticRegression, LexicalHead]:
    windows, labels = _corpus(400, 0)
    vec = TfidfVectorizer(analyzer=lambda w: token_ngrams(w, ngram_max), sublinear_tf=True, min_df=2,
                          max_features=800)
    lr = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000).fit(vec.fit_transform(windows), labels)
    return vec, lr, to_head(vec, lr, VOCAB, ngram_max)


@pytest.mark.parametrize("ngram_max", [1, 2, 3])
def test_margins_equal_sklearn_on_padded_mixed_length_batches(ngram_max: int) -> None:
    vec, lr, head = _fit(ngram_max)
    windows, _ = _corpus(120, 1)  # unseen windows: unknown n-grams must be dropped before the l2 norm
    expected = lr.decision_function(vec.transform(windows))
    batch = pad_batch(windows, PAD)
    got = head.margins(batch.input_ids, batch.attention_mask)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    # batch composition and padding length must not matter: each window alone, unpadded
    alone = np.array([head.margins(np.array([w]), np.ones((1, len(w)), dtype=np.int64))[0] for w in windows[:20]])
    np.testing.assert_allclose(alone, expected[:20], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(head.margins_for(windows, PAD, batch_size=7), expected, rtol=1e-9, atol=1e-9)


def test_the_signal_bigram_raises_the_margin_and_unknown_ids_give_the_intercept() -> None:
    _, lr, head = _fit(2)
    with_pair = head.margins(np.array([[3, 7, 8, 4]]), np.ones((1, 4)))[0]
    without = head.margins(np.array([[3, 8, 7, 4]]), np.ones((1, 4)))[0]
    assert with_pair > without
    # ids the vocabulary has never seen (>= VOCAB would be another tokenizer; 49 49 49 is rare enough
    # only if dropped by min_df, so use an empty window instead): no features -> the intercept alone
    empty = head.margins(np.array([[PAD, PAD]]), np.zeros((1, 2)))[0]
    assert empty == pytest.approx(float(lr.intercept_[0]))


def test_ngram_keys_of_different_lengths_never_collide() -> None:
    v = 5
    keys = {ngram_key(g, v) for n in (1, 2, 3) for g in np.ndindex(*(v,) * n)}
    assert len(keys) == v + v**2 + v**3


def test_combined_margin_by_hand() -> None:
    logits = np.array([[1.0, 3.0], [2.0, 0.0]])  # transformer margins 2 and -2
    out = combine_logits(logits, np.array([1.0, 4.0]), weight=0.25, transformer_scale=0.5)
    # z = 0.75 * margin * 0.5 + 0.25 * lexical
    np.testing.assert_allclose(out[:, 1] - out[:, 0], [0.75 * 1.0 + 0.25, 0.75 * -1.0 + 1.0])


def test_save_load_round_trip_and_a_broken_file_is_a_bundle_error(tmp_path: Path) -> None:
    _, _, head = _fit(2)
    head.save(tmp_path / "lexical.npz")
    again = LexicalHead.load(tmp_path / "lexical.npz")
    ids = np.array([[3, 7, 8, 4, 9]])
    assert again.margins(ids, np.ones_like(ids)) == pytest.approx(head.margins(ids, np.ones_like(ids)))
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(BundleError, match=r"bad\.npz: not a valid lexical head"):
        LexicalHead.load(tmp_path / "bad.npz")
