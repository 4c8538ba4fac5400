"""Normalisation v2: token-wise rules with linear-time scans instead of v1's backtracking regexes.

Steps, in order. Each is linear in the message length: whole-message regexes are either plain
character-class scans or can start a match only at a token start, and Python-level work runs
once per *distinct* token (see `tokens`). A test pins 100 KB of pathological input under 50 ms.
1. NFKC (`nfkc`: NFC of NFKD, with runs of over 30 combining marks cut to 30); whitespace
   collapsed to single spaces and stripped (Python's whitespace set, the same as v1's `\\s+`).
2. (de-obfuscation on) Latin look-alikes from other scripts fold to Latin: see `confusables`.
3. (on) Spaced letters join: three or more one-character ASCII letter/digit tokens in a row
   ("s n a p", "(s n a p)") or one dotted token ("s.n.a.p") become one word. Not joined, so that
   ordinary chat and ages survive: a digit next to another digit ("i m 1 4 f", "1 2 3", "1.2.3"
   stay as they are: numbers spelled out are not evasion), and a run made only of the chat words
   a/i/m/r/u ("i m a", "u r a" stay; v1 turned "i m a kid" into "ima kid"). Non-ASCII one-letter
   tokens never join (Russian "а я и" is three words).
4. (on) Leetspeak is undone inside a word (a run of letters, digits, `_`, `@`, `$`) only when the
   word looks like an obfuscated word, i.e. it has a *marker*: one leet character (0 1 3 4 5 7 @ $),
   or two ("l33t"), with an ASCII letter directly on both sides ("d1sc0rd", "sn@p", "wh4ts4pp"),
   or a "$" directly before a letter ("$nap"). The whole word is then translated ("h3ll0" ->
   "hello"), except a leading "@" (a mention) and a protected number tail (below). Kept as they
   are:
   - the number/unit class (`is_number_unit`): digits, optionally followed by one of `UNIT_SUFFIXES`
     (ages 13yo 14yrs 13y, gender 14f 15m, times 5pm 10min 2hrs, ordinals 2nd 3rd, quantities 5k
     10km); with digits first such a word has no marker, and it is checked explicitly as well;
   - words with a real number in them: a run of three digits or two different digits ("covid19",
     "win10", "asl14f", "x264"); leet digits come alone or doubled ("l33t", "n00b");
   - words whose digits only lead or trail ("mp3", "ps4", "gpt4", "4u", "4ever"): a model number
     or chat shorthand is far commoner than leet with the digit at the edge ("hell0", "0nline" are
     the price and are not undone);
   - a digit run followed by a unit/age/plural suffix that ends the word (`TAIL_SUFFIXES`:
     "at5pm", "im7yo", "mp3s") or by "u" after 4 ("snap4u"); the digits before it still count;
   - tokens that are e-mail addresses or URLs ("me@mail.com", "https://...", "www.x.com").
   "b2b", "gr8", "l8r" are untouched because 2, 6, 8 and 9 are not leet letters here.
Case is kept throughout: the tokenizer (uncased MiniLM) lowercases; leet digits map to lowercase.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from groomguard.normalise.confusables import fold_confusables
from groomguard.normalise.nfkc import nfkc
from groomguard.normalise.tokens import map_tokens, replace_distinct

UNIT_SUFFIXES = frozenset({
    "y", "yo", "yr", "yrs", "year", "years", "yearold", "yearsold",  # ages: 13yo, 14yrs
    "f", "m",  # asl: 14f, 15m
    "am", "pm", "s", "sec", "secs", "min", "mins", "h", "hr", "hrs", "hour", "hours",  # times
    "d", "day", "days", "wk", "wks", "week", "weeks", "mo", "mos", "month", "months",
    "st", "nd", "rd", "th",  # ordinals: 1st, 2nd, 3rd, 4th
    "k", "km", "mi", "kg", "g", "lb", "lbs", "cm", "mm", "ft", "x", "p", "gb", "mb", "tb",  # quantities
})
# Suffixes that protect the digit run right before them when glued after letters ("at5pm").
# Ordinals and one-letter units are left out: "w1th", "fr0m", "b0th" are commoner than "at5m".
TAIL_SUFFIXES = frozenset({
    "yo", "yr", "yrs", "year", "years", "yearold", "yearsold", "am", "pm", "min", "mins", "hr", "hrs", "s",
})
CHAT_LETTERS = "aimruAIMRU"  # "i m a", "u r a": one-letter chat words, not a spelled-out word

_LEET_MAP = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_MARKER = r"(?:[A-Za-z][013457@$]{1,2}[A-Za-z]|\$[A-Za-z])"
_MARKER_RE = re.compile(_MARKER)
# Probes start with a plain character class, which `re` scans fast; the full patterns, whose
# look-behinds cost more per position, only run when a probe finds something.
_LEET_PROBES = (re.compile(r"[A-Za-z][013457@$]"), re.compile(r"\$[A-Za-z]"))
_LEET_CHARS = frozenset("013457@$")
_ONE_WORD = re.compile(r"[\w@$]+")
_WORDS = re.compile(r"([\w@$]+)")  # one group around the match, for `replace_distinct`
_REAL_NUMBER = re.compile(r"[0-9]{3}|([0-9])(?!\1)[0-9]")
_NUMBER_UNIT = re.compile(r"[0-9]+([A-Za-z]*)")
_EMAIL = re.compile(r"@[\w-]+\.[A-Za-z]")
_ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"

_SPACED_PROBE = re.compile(r"[A-Za-z0-9] [A-Za-z0-9] [A-Za-z0-9]")
_SPACED_RUN = re.compile(r"((?<!\S)[^\w\s]*(?:[A-Za-z0-9] ){2,}[A-Za-z0-9][^\w\s]*(?!\S))")
_SPACED_PARTS = re.compile(r"([^\w\s]*)(.*?)([^\w\s]*)")
_DOTTED_PROBE = re.compile(r"[A-Za-z0-9]\.[A-Za-z0-9]\.[A-Za-z0-9]")
_DOTTED = re.compile(r"((?<!\S)[^\w\s]*(?:[A-Za-z0-9]\.){2,}[A-Za-z0-9][^\w\s]*(?!\S))")
_DOTTED_PARTS = re.compile(r"([^\w\s]*)((?:[A-Za-z0-9]\.)+[A-Za-z0-9])(.*)")
_OTHER_WHITESPACE = re.compile(r"[^\S ]")
_SPELLED_NUMBER = re.compile(r"[0-9]{2,}")
_DOTTED_NUMBER = re.compile(r"[0-9]\.[0-9]")


def is_number_unit(word: str) -> bool:
    """Whether `word` is in the documented number/unit class (never de-leeted): 13yo, 5pm, 2nd."""
    m = _NUMBER_UNIT.fullmatch(word)
    return m is not None and (not m.group(1) or m.group(1).lower() in UNIT_SUFFIXES)


def _undo_leet_word(word: str) -> str:
    if _MARKER_RE.search(word) is None or _REAL_NUMBER.search(word) or (word[0].isdigit() and is_number_unit(word)):
        return word
    start = len(word) - len(word.lstrip("@"))  # a leading "@" is a mention, not an "a"
    end = len(word)
    stem = word.rstrip(_ASCII_LETTERS)
    if stem[-1:].isdigit():
        suffix = word[len(stem):].lower()
        if suffix in TAIL_SUFFIXES or (suffix == "u" and stem.endswith("4")):
            end = len(stem.rstrip(_DIGITS))
            if _MARKER_RE.search(word, start, end) is None:
                return word
    return word[:start] + word[start:end].translate(_LEET_MAP) + word[end:]


def _undo_leet_token(token: str) -> str:
    if _LEET_CHARS.isdisjoint(token) or _MARKER_RE.search(token) is None:
        return token
    if _ONE_WORD.fullmatch(token):
        return _undo_leet_word(token)
    if "://" in token or token[:4].lower() == "www." or _EMAIL.search(token):
        return token
    return _WORDS.sub(_undo_leet_match, token) if len(token) < 256 else replace_distinct(_WORDS, token, _undo_leet_word)


def _undo_leet_match(match: re.Match[str]) -> str:
    return _undo_leet_word(match.group(0))


def undo_leet(text: str) -> str:
    """Leetspeak in whitespace-collapsed text, per the module docstring's rule."""
    if not any(probe.search(text) for probe in _LEET_PROBES):
        return text
    return map_tokens(text, _undo_leet_token)


def _stretch(chars: str, out: list[str]) -> None:
    if len(chars) >= 3 and chars.strip(CHAT_LETTERS):
        out.append(chars)
    else:
        out.extend(chars)


def _join_run(run: str) -> str:
    lead, spaced, trail = _SPACED_PARTS.fullmatch(run).groups()  # type: ignore[union-attr]
    chars = spaced[::2]
    pieces: list[str] = []
    pos = 0
    for number in _SPELLED_NUMBER.finditer(chars):  # digits next to digits split the run
        _stretch(chars[pos:number.start()], pieces)
        pieces.extend(number.group(0))
        pos = number.end()
    _stretch(chars[pos:], pieces)
    return lead + " ".join(pieces) + trail


def _join_dotted(token: str) -> str:
    lead, dotted, trail = _DOTTED_PARTS.fullmatch(token).groups()  # type: ignore[union-attr]
    if _DOTTED_NUMBER.search(dotted) or dotted.replace(".", "").isdigit():
        return token
    return lead + dotted.replace(".", "") + trail


def join_spaced(text: str) -> str:
    """Join spaced-out and dotted letters in whitespace-collapsed text ("s n a p", "s.n.a.p")."""
    if _SPACED_PROBE.search(text):
        text = replace_distinct(_SPACED_RUN, text, _join_run)
    if _DOTTED_PROBE.search(text):
        text = replace_distinct(_DOTTED, text, _join_dotted)
    return text


_STEPS: tuple[Callable[[str], str], ...] = (fold_confusables, join_spaced, undo_leet)


def collapse_whitespace(text: str) -> str:
    """`" ".join(text.split())`, skipping the split when `text` is already collapsed (NFKC output of
    U+FDFA is 18 characters with 3 spaces: 100 KB of it is 130,000 tokens)."""
    if _OTHER_WHITESPACE.search(text) is None and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


def _deobfuscate_collapsed(text: str) -> str:
    for step in _STEPS:
        text = step(text)
    return text


def deobfuscate(text: str) -> str:
    """Steps 2-4 on NFKC-normalised text; whitespace is collapsed first."""
    return _deobfuscate_collapsed(collapse_whitespace(text))


def normalise(text: str, deobfuscate_text: bool) -> str:
    """NFKC, collapse whitespace, optionally de-obfuscate. Case is kept (the tokenizer decides)."""
    text = collapse_whitespace(nfkc(text))
    return _deobfuscate_collapsed(text) if deobfuscate_text else text
