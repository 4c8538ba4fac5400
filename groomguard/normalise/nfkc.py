"""NFKC in linear time, for normalisation v2.

CPython's `unicodedata.normalize` has two slow paths that a chat message can hit on purpose:
- "NFKC" recomposes the whole output even when the decomposition is already composed:
  100,000 x U+3316 (one CJK square character that expands to six katakana) took 82 ms, while
  NFC(NFKD(x)), which is NFKC by definition (UAX #15: compatibility decomposition, then canonical
  composition; a test compares the two on every code point), took 4 ms;
- canonical reordering of combining marks is an insertion sort: "a" followed by 100,000 marks of
  alternating combining classes ("Zalgo text") took 8 s.
So runs of more than `MAX_NON_STARTERS` (30, UAX #15's stream-safe limit, longer than any real
text needs) non-starters are cut to 30 before normalising. Non-starters are the characters with a
non-zero canonical combining class and those whose decomposition starts with one (U+0F73); the
set comes from `unicodedata`, the same database that normalises.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

MAX_NON_STARTERS = 30
_LAST_NON_STARTER = 0x1FFFF  # none above (a test checks it against unicodedata)


def is_non_starter(ch: str) -> bool:
    """Non-zero combining class, or a decomposition that starts with such a character."""
    if unicodedata.combining(ch):
        return True
    if not unicodedata.decomposition(ch):
        return False
    return unicodedata.combining(unicodedata.normalize("NFKD", ch)[0]) != 0


def _char_class(code_points: list[int]) -> str:
    ranges: list[list[int]] = []
    for cp in code_points:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    parts = (re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)
    return "[" + "".join(parts) + "]"


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(cheap BMP probe, cheap astral probe, exact run finder), built once from unicodedata.

    The exact finder needs a list of astral ranges, which `re` checks one by one for every
    character, so it only runs when a probe says a long run may be there.
    """
    cps = [cp for cp in range(_LAST_NON_STARTER + 1) if not 0xD800 <= cp <= 0xDFFF and is_non_starter(chr(cp))]
    bmp = _char_class([cp for cp in cps if cp <= 0xFFFF])
    astral_cps = [cp for cp in cps if cp > 0xFFFF]
    astral = _char_class(astral_cps)
    coarse_astral = f"[{re.escape(chr(astral_cps[0]))}-{re.escape(chr(astral_cps[-1]))}]"
    # The look-behinds start a match only where a run starts, so each run is scanned once.
    runs = re.compile(f"(?<!{bmp})(?<!{astral})(?:{bmp}|{astral}){{{MAX_NON_STARTERS + 1},}}")
    return re.compile(f"(?<!{bmp}){bmp}{{{MAX_NON_STARTERS + 1}}}"), re.compile(coarse_astral), runs


def nfkc(text: str) -> str:
    """NFKC of `text` with runs of non-starters capped at MAX_NON_STARTERS, in linear time."""
    if text.isascii():
        return text
    bmp_probe, astral_probe, runs = _patterns()
    if bmp_probe.search(text) or astral_probe.search(text):
        text = runs.sub(lambda m: m.group(0)[:MAX_NON_STARTERS], text)
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKD", text))
