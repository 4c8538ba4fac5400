"""Text normalisation, part of the versioned contract.

Any change to what these functions return must bump `NORMALISATION_VERSION`: bundles record the
version they were trained with and every consumer refuses a bundle whose version it cannot honour.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

NORMALISATION_VERSION = 1
SUPPORTED_NORMALISATION_VERSIONS = frozenset({1})

_WS = re.compile(r"\s+")
# Three or more single letters/digits separated by single spaces or dots: "s n a p", "s.n.a.p".
_SPACED = re.compile(r"(?<![\w])(?:[^\W_][ .]){2,}[^\W_](?![\w])")
# A word mixing letters with leetspeak digits/symbols: "d1sc0rd", "sn@p". Pure numbers are kept.
_LEET_WORD = re.compile(r"(?=[\w@$]*[a-zA-Z])(?=[\w@$]*[013457@$])[\w@$]{3,}")
_LEET_MAP = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})


@dataclass(frozen=True)
class NormalisationConfig:
    """How message text is normalised before tokenising. Travels in bundle.json."""

    version: int = NORMALISATION_VERSION
    deobfuscate: bool = True


def _join_spaced(match: re.Match[str]) -> str:
    return re.sub(r"[ .]", "", match.group(0))


def deobfuscate(text: str) -> str:
    """Undo common evasions: spaced letters ("s n a p" -> "snap") and leetspeak ("d1sc0rd")."""
    text = _SPACED.sub(_join_spaced, text)
    return _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET_MAP), text)


def normalise_text(text: str, config: NormalisationConfig = NormalisationConfig()) -> str:
    """NFKC, collapse whitespace, strip, optionally de-obfuscate. Case is kept (tokenizer decides)."""
    if config.version not in SUPPORTED_NORMALISATION_VERSIONS:
        raise ValueError(f"normalisation version {config.version} is not supported")
    text = unicodedata.normalize("NFKC", text)
    text = _WS.sub(" ", text).strip()
    if config.deobfuscate:
        text = deobfuscate(text)
    return text
