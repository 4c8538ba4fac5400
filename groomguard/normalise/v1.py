"""Normalisation v1, frozen: bundles trained with v1 must keep scoring exactly as they were trained.

Do not change anything here, not even a bug (v1 turns "covid19" into "covidi9" and "13yo" into
"ieyo"; its regexes are quadratic on some inputs). Fixes go into a new version (see `v2`).
"""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
# Three or more single letters/digits separated by single spaces or dots: "s n a p", "s.n.a.p".
_SPACED = re.compile(r"(?<![\w])(?:[^\W_][ .]){2,}[^\W_](?![\w])")
# A word mixing letters with leetspeak digits/symbols: "d1sc0rd", "sn@p". Pure numbers are kept.
_LEET_WORD = re.compile(r"(?=[\w@$]*[a-zA-Z])(?=[\w@$]*[013457@$])[\w@$]{3,}")
_LEET_MAP = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})


def _join_spaced(match: re.Match[str]) -> str:
    return re.sub(r"[ .]", "", match.group(0))


def deobfuscate(text: str) -> str:
    """Undo common evasions: spaced letters ("s n a p" -> "snap") and leetspeak ("d1sc0rd")."""
    text = _SPACED.sub(_join_spaced, text)
    return _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET_MAP), text)


def normalise(text: str, deobfuscate_text: bool) -> str:
    """NFKC, collapse whitespace, strip, optionally de-obfuscate. Case is kept (tokenizer decides)."""
    text = unicodedata.normalize("NFKC", text)
    text = _WS.sub(" ", text).strip()
    if deobfuscate_text:
        text = deobfuscate(text)
    return text
