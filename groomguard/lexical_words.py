"""The lexical head on words: word n-gram TF-IDF + logistic regression over the window's text,
rebuilt from its token ids with the bundle's own tokenizer (`lexical.units: words`).

Why words (docs/model-development.md, stop 37): the head on token-id n-grams depends on how finely
the base's tokenizer cuts. On multilingual-e5's SentencePiece pieces (whole words for common words,
cased, accented) it ranked the hand-written dev set 0.948 alone; the same windows decoded to text and
counted as lower-cased, accent-free words ranked 0.977. Serving still receives only ids: the text is
the bundle's tokenizer decoding them (special tokens skipped), the same call in training and at
serving, so there is no second tokenizer and no text crosses the API.

The analysis (lower case, accents stripped, scikit-learn's word pattern, 1..n-grams) is defined once,
here (`word_vectorizer`): the fit and the served margins both build it, so they cannot drift. The
margins are scikit-learn's own counts (CountVectorizer with the fitted vocabulary) with
`TfidfVectorizer(sublinear_tf=True, norm="l2")` and `LogisticRegression.decision_function`'s
arithmetic on top (tests/test_lexical_words.py checks it against scikit-learn).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tokenizers import Tokenizer

from groomguard.errors import BundleError
from groomguard.windowing import pad_batch

SEPARATOR = "\n"  # between stored terms: the word pattern never matches a newline


def word_vectorizer(ngram_max: int, **fit: Any) -> Any:
    """The one definition of the head's analysis: a TfidfVectorizer (`fit`: min_df, max_features, ...)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(lowercase=True, strip_accents="unicode", ngram_range=(1, ngram_max),
                           sublinear_tf=True, norm="l2", **fit)


def margins_in_batches(margins: Callable[[np.ndarray, np.ndarray], np.ndarray], windows: Sequence[Sequence[int]],
                       pad_id: int, batch_size: int) -> np.ndarray:
    """Either head's margins of unpadded windows, in order, computed on right-padded batches."""
    out = [np.zeros(0)]
    for i in range(0, len(windows), batch_size):
        batch = pad_batch(windows[i : i + batch_size], pad_id)
        out.append(margins(batch.input_ids, batch.attention_mask))
    return np.concatenate(out)


def decode_windows(tokenizer: Tokenizer, windows: Sequence[Sequence[int]]) -> list[str]:
    """The text the head analyses: each unpadded window's ids decoded, special tokens skipped (the fit
    and serving both call this)."""
    return list(tokenizer.decode_batch([list(w) for w in windows], skip_special_tokens=True))


def window_texts(tokenizer: Tokenizer, input_ids: np.ndarray, attention_mask: np.ndarray) -> list[str]:
    """`decode_windows` of a right-padded batch."""
    ids = np.asarray(input_ids, dtype=np.int64)
    mask = np.asarray(attention_mask).astype(bool)
    return decode_windows(tokenizer, [row[m].tolist() for row, m in zip(ids, mask, strict=True)])


@dataclass(frozen=True)
class WordHead:
    terms: tuple[str, ...]  # feature i's word n-gram
    idf: np.ndarray  # float64 [F]
    coef: np.ndarray  # float64 [F]
    intercept: float
    ngram_max: int
    tokenizer: Tokenizer = field(repr=False, compare=False)
    _counts: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (len(self.terms) == self.idf.size == self.coef.size) or self.idf.ndim != 1:
            raise ValueError("word head: terms, idf and coef must have one length")
        from sklearn.feature_extraction.text import CountVectorizer

        # scikit-learn counts the fitted vocabulary with `word_vectorizer`'s own analyzer
        counts = CountVectorizer(analyzer=word_vectorizer(self.ngram_max).build_analyzer(),
                                 vocabulary=list(self.terms))
        object.__setattr__(self, "_counts", counts)

    @property
    def n_features(self) -> int:
        return len(self.terms)

    @property
    def units(self) -> Literal["ids", "words"]:
        return "words"

    def margins_of_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Logistic-regression margin of each text (sublinear tf x idf, l2-normalised)."""
        x = self._counts.transform(texts).tocsr().astype(np.float64)
        x.data = (1.0 + np.log(x.data)) * self.idf[x.indices]
        norm = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        dot = np.asarray(x @ self.coef).ravel()
        return self.intercept + np.divide(dot, norm, out=np.zeros(len(texts)), where=norm > 0)

    def margins(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Margin of each window of a right-padded [batch, seq] id array."""
        return self.margins_of_texts(window_texts(self.tokenizer, input_ids, attention_mask))

    def margins_for(self, windows: Sequence[Sequence[int]], pad_id: int, batch_size: int = 256) -> np.ndarray:
        """Margins of unpadded windows, in order."""
        return margins_in_batches(self.margins, windows, pad_id, batch_size)

    def save(self, path: Path) -> None:
        terms = np.frombuffer(SEPARATOR.join(self.terms).encode("utf-8"), dtype=np.uint8)
        np.savez(path, terms=terms, idf=self.idf, coef=self.coef,
                 meta=np.array([self.intercept, self.ngram_max], dtype=np.float64))

    @classmethod
    def load(cls, path: Path, tokenizer: Tokenizer) -> WordHead:
        try:
            with np.load(path, allow_pickle=False) as z:
                intercept, ngram_max = (float(x) for x in z["meta"])
                text = z["terms"].tobytes().decode("utf-8")
                return cls(tuple(text.split(SEPARATOR)) if text else (), z["idf"].astype(np.float64),
                           z["coef"].astype(np.float64), intercept, int(ngram_max), tokenizer)
        except (OSError, KeyError, ValueError) as exc:
            raise BundleError(f"{path}: not a valid word head ({exc.__class__.__name__}); re-export the bundle") \
                from None
