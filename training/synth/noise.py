"""Chat noise applied identically to both classes: case, abbreviations, typos, emoji, evasions.

Each speaker gets a `Style` drawn from one distribution regardless of class or role, so the writing
style of a speaker never tells a positive from a negative.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

EMOJI = ("😂", "🤣", "😭", "💀", "🙄", "😅", "😊", "🥺", "😳", "👀", "🔥", "💯", "❤️", "😎", "🤔", "👍",
         "🙏", "✨", "😬", "🥲", "😩", "🤷", "😆", "🫠", "😴", "🎮", "⚽", "🐶", ":)", ":(", ":p", "xD", "<3")

ABBREV_EN = (("you", "u"), ("are", "r"), ("your", "ur"), ("right now", "rn"), ("not gonna lie", "ngl"),
             ("to be honest", "tbh"), ("because", "bc"), ("okay", "ok"), ("please", "pls"), ("people", "ppl"),
             ("tomorrow", "tmrw"), ("going to", "gonna"), ("want to", "wanna"), ("i don't know", "idk"),
             ("really", "rly"), ("though", "tho"), ("what", "wat"), ("with", "w"), ("thanks", "thx"),
             ("for real", "fr"), ("something", "smth"), ("probably", "prob"), ("about", "abt"))
ABBREV_FR = (("je suis", "jsuis"), ("je sais pas", "jsp"), ("t'inquiète", "tkt"), ("salut", "slt"),
             ("pourquoi", "pk"), ("quoi", "koi"), ("beaucoup", "bcp"), ("aujourd'hui", "ajd"), ("c'est", "c"),
             ("s'il te plaît", "stp"), ("vraiment", "vrm"), ("tout", "tt"), ("rien", "r1"), ("toujours", "tjr"),
             ("quelqu'un", "qqn"), ("je ne sais pas", "jsp"), ("ouais", "ouai"), ("mort de rire", "mdr"))

EVASIONS: dict[str, tuple[str, ...]] = {
    "snap": ("s n a p", "sn@p", "snp", "sn4p", "snep"),
    "snapchat": ("s n a p c h a t", "sn@pchat", "snapch4t", "sc"),
    "discord": ("d1sc0rd", "d i s c o r d", "disc", "dc", "d!scord"),
    "telegram": ("t3legram", "tele", "t e l e g r a m", "tg"),
    "whatsapp": ("whats@pp", "w h a t s a p p", "wa", "whatsap", "wapp"),
    "insta": ("1nsta", "i n s t a", "ig", "instaa"),
    "kik": ("k1k", "k i k"),
    "robux": ("r0bux", "r o b u x", "bux"),
    "vbucks": ("v bucks", "vb", "v-bux"),
}
NUMBER_WORDS = {"11": "eleven", "12": "twelve", "13": "thirteen", "14": "fourteen", "15": "fifteen", "16": "sixteen",
                "17": "seventeen", "18": "eighteen", "19": "nineteen", "21": "twenty one", "23": "twenty three",
                "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven", "8": "eight"}
_WORD = re.compile(r"[A-Za-zÀ-ÿ0-9@']+")


@dataclass(frozen=True)
class Style:
    """How one speaker types. Drawn from the same distribution for every speaker of every class."""

    lower: float
    drop_punct: float
    abbrev: float
    typo: float
    emoji: float
    elongate: float
    evasion: float
    caps: float


def draw_style(rng: random.Random) -> Style:
    return Style(
        lower=rng.choice((0.2, 0.7, 0.95, 1.0)),
        drop_punct=rng.choice((0.1, 0.5, 0.9)),
        abbrev=rng.choice((0.05, 0.3, 0.6, 0.9)),
        typo=rng.choice((0.0, 0.02, 0.05, 0.1)),
        emoji=rng.choice((0.0, 0.05, 0.15, 0.3)),
        elongate=rng.choice((0.0, 0.0, 0.02, 0.06)),
        evasion=rng.choice((0.0, 0.1, 0.3)),
        caps=rng.choice((0.0, 0.0, 0.03)),
    )


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def apply_noise(rng: random.Random, text: str, style: Style, lang: str) -> str:
    """One message's realisation. Every random draw goes through `rng` (determinism per seed)."""
    abbrevs = ABBREV_FR if lang == "fr" else ABBREV_EN
    low = text.lower()
    for full, short in abbrevs:
        if full in low and rng.random() < style.abbrev:
            low = re.sub(rf"\b{re.escape(full)}\b", short, low)
    text = low if rng.random() < style.lower else low[:1].upper() + low[1:]

    def word_noise(m: re.Match[str]) -> str:
        w = m.group(0)
        lw = w.lower()
        if lw in EVASIONS and rng.random() < style.evasion:
            return rng.choice(EVASIONS[lw])
        if lw in NUMBER_WORDS and rng.random() < style.evasion:
            return NUMBER_WORDS[lw]
        if rng.random() < style.typo:
            w = _typo(rng, w)
        if rng.random() < style.elongate and w[-1:].isalpha():
            w = w + w[-1] * rng.choice((1, 1, 2))
        if rng.random() < style.caps:
            w = w.upper()
        return w

    text = _WORD.sub(word_noise, text)
    if rng.random() < style.drop_punct:
        text = text.rstrip(".!?,")
    elif rng.random() < 0.3:
        text = text + rng.choice(("?", "!", ".", "!!", "??", "...", "?!"))
    if rng.random() < style.emoji:
        e = rng.choice(EMOJI)
        text = text + (" " if rng.random() < 0.7 else "") + e * rng.choice((1, 1, 1, 2, 3))
    return text or "?"


def split_message(rng: random.Random, text: str) -> list[str]:
    """Split a message at a word boundary the way people send half-sentences."""
    words = text.split()
    if len(words) < 6:
        return [text]
    cut = rng.randrange(3, len(words) - 2)
    return [" ".join(words[:cut]), " ".join(words[cut:])]
