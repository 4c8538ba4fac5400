"""Pins groomguard/normalise.py (versioned: a change here must bump NORMALISATION_VERSION)."""

from __future__ import annotations

import pytest

from groomguard.normalise import NORMALISATION_VERSION, NormalisationConfig, deobfuscate, normalise_text

RAW = NormalisationConfig(deobfuscate=False)


def test_version_is_pinned() -> None:
    assert NORMALISATION_VERSION == 1 and NormalisationConfig().version == 1 and NormalisationConfig().deobfuscate


@pytest.mark.parametrize(("text", "want"), [
    ("ｈｅｌｌｏ　ｗｏｒｌｄ", "hello world"),  # NFKC: full-width letters and ideographic space
    ("ﬁne", "fine"),  # NFKC ligature
    ("  a\t\n b  ", "a b"),
    ("Keep CASE", "Keep CASE"),
    ("", ""),
])
def test_nfkc_and_whitespace(text: str, want: str) -> None:
    assert normalise_text(text) == want
    assert normalise_text(text, RAW) == want


@pytest.mark.parametrize(("text", "want"), [
    ("s n a p me", "snap me"),
    ("s.n.a.p", "snap"),
    ("add me on d1sc0rd", "add me on discord"),
    ("sn@p", "snap"),
    ("l33t h4x0r", "leet haxor"),
    ("call 12345 or 2024", "call 12345 or 2024"),  # pure numbers are kept
    ("I am 13", "I am 13"),
    ("a b", "a b"),  # two single letters are not an obfuscated word
])
def test_deobfuscation(text: str, want: str) -> None:
    assert normalise_text(text) == want
    assert deobfuscate(text) == want


def test_deobfuscation_can_be_disabled() -> None:
    assert normalise_text("s n a p on d1sc0rd", RAW) == "s n a p on d1sc0rd"


def test_unsupported_version_refused() -> None:
    with pytest.raises(ValueError, match="normalisation version 2 is not supported"):
        normalise_text("x", NormalisationConfig(version=2))
