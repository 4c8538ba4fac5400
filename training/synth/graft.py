"""Grafted positives: a real conversation's opening continued by a SYNTHETIC grooming progression.

Why: trained on synthetic grooming + real benign chat alone, a model learns "real-looking text is
benign" (measured with TF-IDF: 0 % alerts on real chat and recall 0.10 on hand-written grooming).
A grafted positive shares everything stylistic with the real benign side: it *is* a real
conversation up to `first_risk_index`, its length is the source conversation's length (real
continuation messages are dropped to make room), its timing is the source's own gaps, and the
synthetic lines are written in each participant's own register (casing, end punctuation,
abbreviations, emoji, message length) estimated from their real messages. Only the tactics differ.

One participant becomes the groomer, the other answers with the synthetic child replies; real
continuation messages stay interleaved between tactic beats (grooming develops inside small talk).
SYNTHETIC CONTENT: grafted conversations carry `source: "chitchat+synthetic"` and the tags
`grafted` and `synthetic-continuation`, and follow the corpus content rule (tactics only).
"""

from __future__ import annotations

import math
import random
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

from groomguard.schema import Conversation, Message
from groomguard.training.data.real_test_rule import graft_id
from groomguard.training.synth.builder import LENGTH_CANDIDATES, Builder, Script, pick_tactics, realise
from groomguard.training.synth.config import GeneratorSettings
from groomguard.training.synth.langpack import LangPack
from groomguard.training.synth.noise import ABBREV_EN, EMOJI, Style, split_message
from groomguard.training.synth.templates import Pool, PoolHalf

SOURCE = "chitchat+synthetic"
_SHORTS = "|".join(re.escape(short) for _, short in ABBREV_EN)
_ABBREV_WORDS = re.compile(rf"\b(?:{_SHORTS}|lol|lmao|haha|omg|idk|gonna|wanna|ya|yeah)\b")


@dataclass(frozen=True)
class GraftSettings:
    """Shape of a graft (configs: the `graft:` block of the mix config)."""

    opening: tuple[int, int] = (3, 14)      # real messages before the first tactic (capped at a third)
    beats: tuple[int, int] = (2, 6)         # tactic exchanges
    filler: tuple[int, int] = (0, 3)        # real continuation messages between beats
    min_messages: int = 10                  # source conversations shorter than this are not grafted


def register_style(texts: list[str]) -> Style:
    """A participant's register as the noise model's `Style`, estimated from their real messages."""
    n = max(len(texts), 1)
    joined = " ".join(texts)
    lower = sum(1 for t in texts if not any(c.isupper() for c in t)) / n
    drop = sum(1 for t in texts if t.rstrip()[-1:] not in ".!?") / n
    abbrev = min(1.0, 2 * sum(1 for t in texts if _ABBREV_WORDS.search(t.lower())) / n)
    emoji = sum(1 for t in texts if any(e in t for e in EMOJI)) / n
    caps_words = [w for w in joined.split() if len(w) > 2 and w.isupper()]
    return Style(lower=lower, drop_punct=drop, abbrev=abbrev, typo=0.02, emoji=emoji,
                 elongate=0.02 if re.search(r"([a-z])\1\1", joined) else 0.0, evasion=0.15,
                 caps=min(0.1, len(caps_words) / max(len(joined.split()), 1)))


class _RegisterBuilder(Builder):
    """A `Builder` whose lines aim at the source conversation's message length, not the corpus's."""

    target_chars: float = 26.0

    def say_fit(self, pool: Pool) -> str:
        target = self.rng.lognormvariate(math.log(self.target_chars), 0.35)
        best = self.say(pool)
        for _ in range(2 * LENGTH_CANDIDATES - 1):
            cand = self.say(pool)
            if abs(len(cand) - target) < abs(len(best) - target):
                best = cand
        return best


def _fit_length(rng: random.Random, texts: list[str], target: float) -> list[str]:
    """Merge short consecutive lines / split long ones towards the participant's median length."""
    out: list[str] = []
    for t in texts:
        if out and len(out[-1]) + len(t) / 2 < target and rng.random() < 0.8:
            out[-1] = f"{out[-1]} {t}"
        else:
            out.append(t)
    fitted: list[str] = []
    for t in out:
        fitted.extend(split_message(rng, t) if len(t) > 2.5 * target else [t])
    return fitted


def _gaps(conv: Conversation) -> list[timedelta]:
    times = [m.timestamp for m in conv.messages if m.timestamp is not None]
    return [b - a for a, b in pairwise(times) if b >= a] or [timedelta(seconds=20)]


def _beat_lines(rng: random.Random, b: Builder, beat: Callable[[Script], None], styles: list[Style],
                synth: GeneratorSettings, names: tuple[str, str], lengths: list[float]) -> list[tuple[str, str, bool]]:
    """One realised beat as (author, text, synthetic) rows, runs of one speaker fitted to their length."""
    script = Script(1, "graft", "interleaved", "en", 2, predator=0, hard=False)
    beat(script)
    lines = realise(rng, script, styles, synth)
    rows: list[tuple[str, str, bool]] = []
    run: list[str] = []
    run_speaker = lines[0].speaker
    for ln in [*lines, None]:
        if ln is not None and ln.speaker == run_speaker:
            run.append(ln.text)
            continue
        rows.extend((names[run_speaker], t, True) for t in _fit_length(rng, run, lengths[run_speaker]))
        if ln is not None:
            run, run_speaker = [ln.text], ln.speaker
    return rows


def graft(conv: Conversation, n: int, seed: int, pack: LangPack, synth: GeneratorSettings,
          settings: GraftSettings, benign: bool = False, half: PoolHalf = "all") -> Conversation | None:
    """The n-th graft onto `conv` (deterministic for seed, id, n and kind); None when `conv` cannot host one.

    `benign=True` continues the opening with benign scenario beats instead (hard negatives 60 % of the
    time: coaches, parents, tutors sharing grooming vocabulary innocently) in the same register, so
    "synthetic lines in a real conversation" carries no label either. `half` draws the synthetic lines
    from one half of every pool (template-disjoint yardsticks: train grafts from A, test grafts from B).
    """
    authors = list(dict.fromkeys(m.author for m in conv.messages))
    if len(authors) != 2 or len(conv.messages) < settings.min_messages:
        return None
    rng = random.Random(f"groomguard-graft:{seed}:{conv.conversation_id}:{n}:{int(benign)}")
    total = len(conv.messages)
    k = rng.randint(settings.opening[0], max(settings.opening[0], min(settings.opening[1], total // 3)))
    lead, other = (authors[0], authors[1]) if rng.random() < 0.5 else (authors[1], authors[0])
    by_author = {a: [m.text for m in conv.messages if m.author == a] for a in authors}
    styles = [register_style(by_author[lead]), register_style(by_author[other])]
    lengths = [statistics.median(len(t) for t in by_author[a]) for a in (lead, other)]
    b = _RegisterBuilder(rng, pack, half, synth)
    b.target_chars = max(8.0, statistics.median(len(m.text) for m in conv.messages))

    n_beats = rng.randint(*settings.beats)
    if benign:
        hard = rng.random() < 0.6
        scenario = rng.choice(pack.hard_negatives if hard else pack.scenarios)
        beats: list[Callable[[Script], None]] = [
            lambda sc: b.scenario_beat(sc, scenario, lead=0, other=1) for _ in range(n_beats)]
        tags = ["grafted", "synthetic-continuation", "benign-graft", f"scenario:{scenario.name}", f"pool-half:{half}"]
        tags += ["hard-negative"] if hard else []
    else:
        tactics = pick_tactics(rng, min(n_beats, len(pack.tactics) - 1), list(pack.tactics))
        beats = [lambda sc, t=t: b.tactic_beat(sc, t, child=1) for t in tactics]  # type: ignore[misc]
        tags = ["grafted", "synthetic-continuation", f"pool-half:{half}", *(f"tactic:{t}" for t in tactics)]

    continuation = list(conv.messages[k:])
    budget = total - k  # the graft keeps the source's length: real continuation makes room
    body: list[tuple[str, str, bool]] = []  # (author, text, synthetic)
    for i, beat in enumerate(beats):
        rows = _beat_lines(rng, b, beat, styles, synth, (lead, other), lengths)
        if i and len(body) + len(rows) > budget:
            break
        body.extend(rows)
        for _ in range(rng.randint(*settings.filler) if i < len(beats) - 1 else 0):
            if continuation and len(body) < budget:
                m = continuation.pop(0)
                body.append((m.author, m.text, False))
    room = max(0, budget - len(body))
    body.extend((m.author, m.text, False) for m in continuation[:room])

    gaps = _gaps(conv)
    t = conv.messages[k - 1].timestamp
    messages = list(conv.messages[:k])
    for j, (author, text, synthetic) in enumerate(body):
        if t is not None:
            t = t + rng.choice(gaps)
        messages.append(Message(author=author, text=text, timestamp=t,
                                message_id=f"g{j}" if synthetic else f"r{j}"))
    return Conversation(
        conversation_id=graft_id(conv.conversation_id, n, benign),
        messages=messages,
        label=0 if benign else 1,
        predator_ids=[] if benign else [lead],
        first_risk_index=None if benign else k,
        source=SOURCE,
        lang="en",
        tags=tags,
    )
