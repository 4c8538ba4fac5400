"""Text normalisation, part of the versioned contract.

Every training window and every served window goes through `normalise_text`, and bundles record
the version they were trained with (`bundle.json` `normalisation.version`); every consumer refuses a
bundle whose version it cannot honour. So any change to what a version returns needs a new version,
and old versions stay as they are for as long as their bundles are supported.

- v1 (`v1.py`, frozen): NFKC, whitespace collapsed, optional de-obfuscation of spaced letters and
  leetspeak with regexes. Known defects, kept for v1 bundles: digits of ages, times and units are
  de-leeted ("13yo" -> "ieyo", "5pm" -> "spm", "covid19" -> "covidi9"), Cyrillic/Greek look-alikes
  pass ("ѕnаp"), and the regexes are quadratic on some inputs (4,000 x U+3316 took 4.7 s).
- v2 (`v2.py`, default for new bundles): the same NFKC and whitespace, then a linear single-pass
  tokeniser: look-alike letters from other scripts fold to Latin from the Unicode TR39 data
  (`confusables.py`), spaced letters join without eating ages, and leetspeak is undone only in
  words that look obfuscated, never in numbers with units ("13yo", "5pm", "2nd") or codes like
  "covid19"/"mp3". The rules and why each exists are in the docstrings of `v2` and `confusables`.

Both keep case (the tokenizer decides) and always apply NFKC and whitespace collapsing; the
`deobfuscate` flag switches the rest off.
"""

from __future__ import annotations

from dataclasses import dataclass

from groomguard.normalise import v1, v2

NORMALISATION_VERSION = 2
SUPPORTED_NORMALISATION_VERSIONS = frozenset({1, 2})


@dataclass(frozen=True)
class NormalisationConfig:
    """How message text is normalised before tokenising. Travels in bundle.json."""

    version: int = NORMALISATION_VERSION
    deobfuscate: bool = True


def _check(version: int) -> None:
    if version not in SUPPORTED_NORMALISATION_VERSIONS:
        raise ValueError(f"normalisation version {version} is not supported")


def deobfuscate(text: str, version: int = NORMALISATION_VERSION) -> str:
    """Undo common evasions (spaced letters, leetspeak; v2 also look-alike letters) in `text`."""
    _check(version)
    return v1.deobfuscate(text) if version == 1 else v2.deobfuscate(text)


def normalise_text(text: str, config: NormalisationConfig = NormalisationConfig()) -> str:
    """NFKC, collapse whitespace, strip, optionally de-obfuscate, as `config.version` defines it."""
    _check(config.version)
    if config.version == 1:
        return v1.normalise(text, config.deobfuscate)
    return v2.normalise(text, config.deobfuscate)
