"""The lexical head: token-id n-gram TF-IDF + logistic regression, combined with the transformer.

Why it exists (docs/model-development.md, issue 23): a bag of n-grams ranks grooming written in
registers the generator never produced better than the fine-tuned transformer, and the transformer
keeps recall where the bag of words loses it; the two are complementary. The head works on the
window's **token ids** (not text), so every path that has a padded batch (the engine, appends,
the Triton gateway, the export's calibration and budget check, evaluation) computes the same
combined score with no text and no second tokeniser at serving time.

Combined margin of a window, before calibration:
    z = (1 - weight) * (l_pos - l_neg) * transformer_scale + weight * lexical_margin
`transformer_scale` (1 / the transformer's own validation temperature) puts both margins in
log-odds units before they are averaged; the bundle's calibration is then fitted on z.

Two kinds of head (`lexical.units`): `LexicalHead`, n-grams of the token ids themselves ("ids"), and
`WordHead` (groomguard/lexical_words.py), n-grams of the words the bundle's tokenizer decodes the ids
to ("words"). Both take the same padded batch and give one margin per window.

The head is fitted with scikit-learn (training/lexical_fit.py); `LexicalHead.margins` recomputes
sklearn's `TfidfVectorizer(sublinear_tf=True, norm="l2")` + `LogisticRegression.decision_function`
in vectorised numpy over padded batches (tests/test_lexical.py checks it against sklearn).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from groomguard.errors import BundleError
from groomguard.lexical_words import WordHead, margins_in_batches

LEXICAL_FILE = "lexical.npz"


def ngram_key(gram: Sequence[int], vocab_size: int) -> int:
    """One int64 per n-gram of token ids: base-`vocab_size` digits, offset per length so lengths never collide."""
    offset = sum(vocab_size**k for k in range(1, len(gram)))
    value = 0
    for token in gram:
        value = value * vocab_size + int(token)
    return offset + value


def token_ngrams(ids: Sequence[int], ngram_max: int) -> list[tuple[int, ...]]:
    """Every 1..ngram_max-gram of an unpadded window, in order (the analyzer the head is fitted with)."""
    ids = list(ids)
    return [tuple(ids[i : i + n]) for n in range(1, ngram_max + 1) for i in range(len(ids) - n + 1)]


@dataclass(frozen=True)
class LexicalHead:
    keys: np.ndarray  # int64 [F], ascending: `ngram_key` of each feature
    idf: np.ndarray  # float64 [F]
    coef: np.ndarray  # float64 [F]
    intercept: float
    ngram_max: int
    vocab_size: int

    def __post_init__(self) -> None:
        if not (self.keys.shape == self.idf.shape == self.coef.shape) or self.keys.ndim != 1:
            raise ValueError("lexical head: keys, idf and coef must be 1-D arrays of one length")
        if self.keys.size > 1 and not np.all(np.diff(self.keys) > 0):
            raise ValueError("lexical head: keys must be strictly ascending")
        if self.vocab_size ** self.ngram_max >= 2**62:
            raise ValueError("lexical head: n-gram keys would overflow int64")

    @property
    def n_features(self) -> int:
        return int(self.keys.size)

    @property
    def units(self) -> Literal["ids", "words"]:
        return "ids"

    def margins(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Logistic-regression margin of each window of a right-padded [batch, seq] id array."""
        ids = np.asarray(input_ids, dtype=np.int64)
        mask = np.asarray(attention_mask).astype(bool)
        batch, seq = ids.shape
        rows_all: list[np.ndarray] = []
        feats_all: list[np.ndarray] = []
        offset = 0
        for n in range(1, self.ngram_max + 1):
            if n > 1:
                offset += self.vocab_size ** (n - 1)
            if seq < n:
                break
            span = seq - n + 1
            key = np.full((batch, span), offset, dtype=np.int64)
            valid = np.ones((batch, span), dtype=bool)
            for k in range(n):
                key += ids[:, k : k + span] * (self.vocab_size ** (n - 1 - k))
                valid &= mask[:, k : k + span]
            rows = np.broadcast_to(np.arange(batch)[:, None], (batch, span))[valid]
            flat = key[valid]
            pos = np.searchsorted(self.keys, flat)
            hit = pos < self.keys.size
            hit[hit] = self.keys[pos[hit]] == flat[hit]
            rows_all.append(rows[hit])
            feats_all.append(pos[hit])
        scores = np.full(batch, self.intercept, dtype=np.float64)
        if not rows_all or not sum(r.size for r in rows_all):
            return scores
        n_feat = max(self.keys.size, 1)
        pairs, counts = np.unique(np.concatenate(rows_all) * n_feat + np.concatenate(feats_all), return_counts=True)
        rows, feats = pairs // n_feat, pairs % n_feat
        values = (1.0 + np.log(counts)) * self.idf[feats]  # sublinear tf x idf
        norm = np.sqrt(np.bincount(rows, values**2, minlength=batch))
        dot = np.bincount(rows, values * self.coef[feats], minlength=batch)
        return scores + np.divide(dot, norm, out=np.zeros(batch), where=norm > 0)

    def margins_for(self, windows: Sequence[Sequence[int]], pad_id: int, batch_size: int = 256) -> np.ndarray:
        """Margins of unpadded windows, in order."""
        return margins_in_batches(self.margins, windows, pad_id, batch_size)

    def save(self, path: Path) -> None:
        np.savez(path, keys=self.keys, idf=self.idf, coef=self.coef,
                 meta=np.array([self.intercept, self.ngram_max, self.vocab_size], dtype=np.float64))

    @classmethod
    def load(cls, path: Path) -> LexicalHead:
        try:
            with np.load(path, allow_pickle=False) as z:
                intercept, ngram_max, vocab_size = (float(x) for x in z["meta"])
                return cls(z["keys"].astype(np.int64), z["idf"].astype(np.float64), z["coef"].astype(np.float64),
                           intercept, int(ngram_max), int(vocab_size))
        except (OSError, KeyError, ValueError) as exc:
            raise BundleError(f"{path}: not a valid lexical head ({exc.__class__.__name__}); re-export the bundle") \
                from None


Head = LexicalHead | WordHead  # what `lexical.units` ("ids" | "words") fits and a bundle serves


def combine_logits(logits: np.ndarray, lexical_margins: np.ndarray, weight: float, transformer_scale: float,
                   positive_index: int = 1) -> np.ndarray:
    """[batch, 2] logits whose margin (l_pos - l_neg) is the combined z of the module docstring."""
    logits = np.asarray(logits, dtype=np.float64)
    margin = logits[:, positive_index] - logits[:, 1 - positive_index]
    out = np.zeros_like(logits)
    out[:, positive_index] = (1.0 - weight) * margin * transformer_scale + weight * np.asarray(lexical_margins)
    return out


@dataclass(frozen=True)
class Hybrid:
    """The bundle's lexical head with its combination weights: turns transformer logits into served logits."""

    head: Head
    weight: float
    transformer_scale: float
    positive_index: int = 1

    def transformer_part(self, logits: np.ndarray) -> np.ndarray:
        """The transformer's margin in log-odds units (its share of z before weighting)."""
        logits = np.asarray(logits, dtype=np.float64)
        return (logits[:, self.positive_index] - logits[:, 1 - self.positive_index]) * self.transformer_scale

    def combine(self, logits: np.ndarray, lexical_margins: np.ndarray) -> np.ndarray:
        """Combined logits from transformer logits and the head's margins of the same windows (the
        engine's path: it keeps both parts for the report)."""
        return combine_logits(logits, lexical_margins, self.weight, self.transformer_scale, self.positive_index)

    def logits_for(self, logits: np.ndarray, windows: Sequence[Sequence[int]], pad_id: int) -> np.ndarray:
        """Combined logits of unpadded windows scored in order (the export's path)."""
        return self.combine(logits, self.head.margins_for(windows, pad_id))
