"""The word head (groomguard/lexical_words.py, `lexical.units: words`): margins by hand and equal to
scikit-learn's, the same for any spelling of a word that differs only in case or accents, whatever
the padding and special tokens, and unchanged through save/load."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from tokenizers import Tokenizer, models, pre_tokenizers

from groomguard.errors import BundleError
from groomguard.lexical_words import WordHead
from groomguard.training.lexical_fit import fit_lexical
from groomguard.training.train_config import LexicalSettings
from groomguard.training.windows_dataset import WindowSet
from groomguard.windowing import pad_batch

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "add", "Add", "me", "on", "snap", "Snap", "SNAP", "école", "ecole",
         "hi", "how", "was", "school", "game", "later", "secret", "our", "keep", "it", "привет", "nice", "goal"]


def cased_tokenizer() -> Tokenizer:
    """A cased word-level tokenizer (like SentencePiece vocabularies: "Snap" and "snap" are two ids)."""
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(["[PAD]", "[CLS]", "[SEP]"])
    return tok


def ids(tok: Tokenizer, text: str) -> list[int]:
    return list(tok.encode(text).ids)


def test_margin_by_hand() -> None:
    tok = cased_tokenizer()
    head = WordHead(("snap", "add me"), np.array([1.0, 2.0]), np.array([3.0, -1.0]), 0.5, 2, tok)
    # words: add me on snap snap -> "snap" twice, "add me" once (the other n-grams are not features)
    v_snap, v_add = (1 + math.log(2)) * 1.0, 1.0 * 2.0
    expected = 0.5 + (3.0 * v_snap - 1.0 * v_add) / math.hypot(v_snap, v_add)
    assert head.margins_of_texts(["Add me on SNAP snap"])[0] == pytest.approx(expected)
    window = ids(tok, "Add me on SNAP Snap")
    assert head.margins(np.array([window]), np.ones((1, len(window))))[0] == pytest.approx(expected)
    assert head.margins_of_texts(["hi"])[0] == pytest.approx(0.5)  # no feature: the intercept


def _corpus(tok: Tokenizer, n: int, seed: int) -> tuple[list[list[int]], list[int]]:
    rng = np.random.default_rng(seed)
    plain = ["hi", "how", "was", "school", "game", "later", "nice", "goal", "привет", "ecole", "école"]
    windows, labels = [], []
    for i in range(n):
        words = [str(w) for w in rng.choice(plain, size=int(rng.integers(3, 12)))]
        if i % 2:
            words[int(rng.integers(0, len(words))):0] = [str(rng.choice(["add", "Add"])), "me", "on",
                                                         str(rng.choice(["snap", "Snap", "SNAP"]))]
        windows.append(ids(tok, " ".join(words)))
        labels.append(i % 2)
    return windows, labels


def test_fitted_head_equals_sklearn_on_the_decoded_text_and_ignores_case_accents_and_specials(tmp_path: Path) -> None:
    tok = cased_tokenizer()
    windows, labels = _corpus(tok, 300, 0)
    settings = LexicalSettings(enabled=True, units="words", ngram_max=2, max_features=500, c=4.0)
    head = fit_lexical(WindowSet(input_ids=windows, labels=labels), tok, settings, 0).head
    assert isinstance(head, WordHead) and head.units == "words"
    # independent expectation: scikit-learn end to end on the decoded texts
    texts = tok.decode_batch(windows)
    vec = TfidfVectorizer(lowercase=True, strip_accents="unicode", ngram_range=(1, 2), sublinear_tf=True, min_df=2,
                          max_features=500)
    lr = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000).fit(vec.fit_transform(texts), labels)
    test, _ = _corpus(tok, 80, 1)
    expected = lr.decision_function(vec.transform(tok.decode_batch(test)))
    batch = pad_batch(test, 0)
    np.testing.assert_allclose(head.margins(batch.input_ids, batch.attention_mask), expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(head.margins_for(test, 0, batch_size=7), expected, rtol=1e-9, atol=1e-9)

    def one(text: str, specials: bool = False) -> float:
        w = ids(tok, text)
        w = [2, *w, 3] if specials else w  # [CLS] ... [SEP]: decoded without them
        return float(head.margins(np.array([w]), np.ones((1, len(w))))[0])

    assert one("Add me on SNAP") == pytest.approx(one("add me on snap"))  # three ids, one word
    assert one("école later") == pytest.approx(one("ecole later"))
    assert one("add me on snap", specials=True) == pytest.approx(one("add me on snap"))
    assert one("add me on snap") > one("how was school")

    head.save(tmp_path / "lexical.npz")
    again = WordHead.load(tmp_path / "lexical.npz", tok)
    assert again.terms == head.terms and "привет" in again.terms  # utf-8 survives
    np.testing.assert_allclose(again.margins_for(test, 0), expected, rtol=1e-9, atol=1e-9)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(BundleError, match=r"bad\.npz: not a valid word head"):
        WordHead.load(tmp_path / "bad.npz", tok)
