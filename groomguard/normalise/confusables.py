"""Folding of letters from other scripts that look like Latin letters (normalisation v2).

"ѕnаp" written with Cyrillic ѕ and а reads as "snap" to a person but tokenises as rare sub-words,
so an evader can hide platform names and trigger words from the model. The look-alike data is
Unicode TR39 `confusables.txt` as shipped (and kept up to date) by the `confusable-homoglyphs`
package; nothing here is typed by hand and nothing is fetched at run time. Because the derived
table is part of the normalisation contract, the package is pinned exactly in pyproject.toml and a
test pins the table's size and a few entries: a data update must come with a new normalisation
version.

Which characters fold: letters (not symbols) of a non-Latin script whose TR39 prototype is one
ASCII letter, e.g. Cyrillic а/е/о/р/с/у/х/ѕ/і/ј/һ/ԁ, Greek ο/ρ/ν/ι/α, Armenian օ/ս, Cherokee Ꭺ.
TR39 uses lowercase "l" as the prototype of capital-I look-alikes; an uppercase source folds to "I".
Characters that NFKC changes never reach this step, so they are left out. So are the 78 look-alikes
outside the Basic Multilingual Plane (historic scripts such as Carian, Lycian, Deseret, Old Italic,
which most phones draw as boxes): `re` checks astral characters against a class one by one, and
keeping the table in the BMP keeps the "does this message have any look-alike" scan one bitmap test
per character, also for emoji-heavy text.

Which tokens fold (a token is a whitespace-separated piece of a message); the rule is chosen so
that evasion is undone while genuine Russian or Greek text is left alone:
- a token that mixes Latin letters with foldable look-alikes and has no other non-Latin letter
  ("ѕnаp", "gοοgle") folds: real words do not mix scripts inside one word;
- a token whose letters are all foldable look-alikes ("рісѕ", Greek "ο") folds only when the
  message has more tokens with Latin letters than tokens with other-script letters ("send рісѕ");
  in a Russian sentence the Russian words "а", "у", "о", "с" stay Cyrillic;
- a token with any non-Latin letter that has no Latin look-alike ("привет", "Москва") is kept.
"Latin tokens" are counted as tokens with an ASCII letter. Folding is linear: one C-level search
tells whether a message has any look-alike at all, and the per-token work looks only at the tokens
that have one (and, when a token needs the context, at the non-ASCII tokens), through the token's
set of distinct characters.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from functools import cache, lru_cache
from importlib import resources

DATA_PACKAGE = "confusable_homoglyphs"
DATA_FILE = "confusables.json"

_OTHER, _LATIN, _FOLDABLE, _FOREIGN = 0, 1, 2, 3


def _is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and (ch.isascii() or unicodedata.name(ch, "").startswith("LATIN "))


def _latin_target(char: str, glyphs: list[str]) -> str | None:
    """The ASCII letter a non-Latin letter folds to, or None when it is not a Latin look-alike."""
    if not char.isalpha() or _is_latin_letter(char):
        return None
    if unicodedata.normalize("NFKC", char) != char:
        return None  # NFKC runs first, so this character never reaches the fold
    letters = sorted({g for g in glyphs if len(g) == 1 and g.isascii() and g.isalpha()})
    if not letters:
        return None
    same_case = [g for g in letters if g.isupper() == char.isupper()]
    target = (same_case or letters)[0]
    return "I" if char.isupper() and target == "l" else target


@cache
def fold_table() -> dict[int, str]:
    """`str.translate` table {code point: ASCII letter}, built once from the packaged TR39 data."""
    raw = resources.files(DATA_PACKAGE).joinpath(DATA_FILE).read_text(encoding="utf-8")
    data: dict[str, list[dict[str, str]]] = json.loads(raw)
    table: dict[int, str] = {}
    for char, glyphs in data.items():
        if len(char) != 1 or ord(char) > 0xFFFF:
            continue  # astral look-alikes (Carian, Deseret, ...) are left out: see the module docstring
        target = _latin_target(char, [g["c"] for g in glyphs])
        if target is not None:
            table[ord(char)] = target
    return table


@cache
def _any_foldable() -> re.Pattern[str]:
    """One bitmap character class (the table is BMP-only), so the scan runs at C speed."""
    return re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(fold_table())) + "]")


@lru_cache(maxsize=8192)
def _kind(ch: str) -> int:
    if ord(ch) in fold_table():
        return _FOLDABLE
    if not ch.isalpha():
        return _OTHER
    return _LATIN if _is_latin_letter(ch) else _FOREIGN


def _searcher(chars: list[str]) -> Callable[[str], object]:
    return re.compile("[" + "".join(re.escape(ch) for ch in sorted(chars)) + "]").search if chars else _no_match


def _no_match(_: str) -> None:
    return None


def fold_confusables(text: str) -> str:
    """Fold look-alike letters to Latin in the tokens the module docstring's rule selects.

    `text` is whitespace-collapsed (tokens separated by single spaces); the result is too. The
    message's distinct characters are classified once; tokens are then tested with regex classes
    built from them, once per distinct token.
    """
    if text.isascii() or _any_foldable().search(text) is None:
        return text
    by_kind: dict[int, list[str]] = {_LATIN: [], _FOREIGN: [], _FOLDABLE: [], _OTHER: []}
    for ch in set(text):
        by_kind[_kind(ch)].append(ch)
    has_latin, has_foreign = _searcher(by_kind[_LATIN]), _searcher(by_kind[_FOREIGN])
    has_foldable = _searcher(by_kind[_FOLDABLE])
    tokens = text.split(" ")
    mixed: list[str] = []
    lookalike_only: list[str] = []
    for token in set(tokens):
        if token.isascii() or has_foldable(token) is None or has_foreign(token) is not None:
            continue
        (mixed if has_latin(token) is not None else lookalike_only).append(token)
    if lookalike_only:
        counts = Counter(tokens)
        n_latin = sum(n for token, n in counts.items() if has_latin(token) is not None)
        n_foreign = sum(n for token, n in counts.items() if has_foreign(token) is not None)
        if n_latin > n_foreign:
            mixed += lookalike_only
    if not mixed:
        return text
    table = fold_table()
    folded = {token: token.translate(table) for token in mixed}
    return " ".join([folded.get(token, token) for token in tokens])
