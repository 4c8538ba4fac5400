"""Assemble one conversation script: ordinary chat + tactic or scenario beats, then noise and times.

Both classes go through the same code path with the same length, pacing, speaker-count, style and
timing distributions; only which pool a beat draws from differs. That is what keeps the shallow
features (length, punctuation, emoji, authors, gaps) from predicting the label.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from groomguard.training.synth.benign_en import Scenario
from groomguard.training.synth.config import GeneratorSettings
from groomguard.training.synth.langpack import LangPack
from groomguard.training.synth.noise import Style, apply_noise, split_message
from groomguard.training.synth.templates import Pool, PoolHalf

# Loose research ordering (O'Connell 2003; Lorenzo-Dus et al. 2016): access/friendship ->
# trust/relationship -> risk assessment -> isolation/exclusivity -> approach.
LENGTH_CANDIDATES = 4
STAGE = {"age_probe": 0, "flattery": 1, "only_one": 1, "gifts": 1, "parent_check": 2, "secrecy": 2,
         "platform_move": 2, "isolation": 3, "boundary_test": 3, "picture_request": 4, "meeting": 4}


@dataclass
class Line:
    speaker: int
    text: str
    risk: bool = False


@dataclass
class Script:
    label: int
    scenario: str
    pacing: str
    lang: str
    n_speakers: int
    predator: int | None
    hard: bool
    tactics: list[str] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)


class Builder:
    """Draws lines for one conversation from one language pack and one pool half."""

    def __init__(self, rng: random.Random, pack: LangPack, half: PoolHalf, settings: GeneratorSettings) -> None:
        self.rng = rng
        self.pack = pack
        self.half = half
        self.s = settings
        self.fixed = {k: rng.choice(v) for k, v in pack.slots.items()
                      if k in ("game", "private_app", "school", "city", "pet", "pet_name", "kid_age", "adult_age",
                               "grade", "friend", "sport", "relative", "sibling")}

    def say(self, pool: Pool) -> str:
        return pool.sample(self.rng, self.half, self.pack.slots, self.fixed)

    def say_fit(self, pool: Pool) -> str:
        """Best of a few draws for a length target drawn from ONE distribution for every pool.

        Tactic, scenario and reply pools differ in natural length; pulling each line towards a
        shared target keeps message-length statistics from separating the classes.
        """
        target = self.rng.lognormvariate(3.25, 0.35)  # median ~26 characters
        best = self.say(pool)
        for _ in range(LENGTH_CANDIDATES - 1):
            cand = self.say(pool)
            if abs(len(cand) - target) < abs(len(best) - target):
                best = cand
        return best

    # ordinary chat -------------------------------------------------------------------------
    def chat(self, script: Script, n: int, register: Pool) -> None:
        rng = self.rng
        speaker = rng.randrange(script.n_speakers)
        while n > 0:
            script.lines.append(Line(speaker, self.say(register if rng.random() < 0.65 else self.pack.reactions)))
            n -= 1
            if rng.random() < 0.7:
                speaker = self._other(script, speaker)

    def _other(self, script: Script, speaker: int) -> int:
        if script.n_speakers == 2:
            return 1 - speaker
        return self.rng.choice([s for s in range(script.n_speakers) if s != speaker])

    # beats ---------------------------------------------------------------------------------
    def tactic_beat(self, script: Script, tactic: str, child: int) -> None:
        rng = self.rng
        pred = script.predator if script.predator is not None else 0
        script.lines.append(Line(pred, self.say_fit(self.pack.tactics[tactic]), risk=True))
        if rng.random() < 0.3:
            script.lines.append(Line(pred, self.say_fit(self.pack.tactics[tactic]), risk=True))
        kind = rng.choices(("child_comply", "child_hesitate", "child_pushback"), (0.5, 0.3, 0.2))[0]
        reply = self.pack.child_replies[kind] if rng.random() < 0.75 else self.pack.reactions
        script.lines.append(Line(child, self.say_fit(reply)))
        if kind != "child_comply" and rng.random() < 0.5:
            script.lines.append(Line(pred, self.say_fit(self.pack.tactics["pressure"]), risk=True))
            if "pressure" not in script.tactics:
                script.tactics.append("pressure")
            follow = rng.choices(("child_comply", "child_hesitate", "child_pushback"), (0.4, 0.35, 0.25))[0]
            script.lines.append(Line(child, self.say_fit(self.pack.child_replies[follow])))

    def scenario_beat(self, script: Script, scenario: Scenario, lead: int, other: int) -> None:
        rng = self.rng
        script.lines.append(Line(lead, self.say_fit(scenario.lead)))
        if rng.random() < 0.3:
            script.lines.append(Line(lead, self.say_fit(scenario.lead)))
        script.lines.append(Line(other, self.say_fit(scenario.reply if rng.random() < 0.75 else self.pack.reactions)))
        if rng.random() < 0.25:  # a follow-up exchange, as often as grooming's pressure step
            script.lines.append(Line(lead, self.say_fit(scenario.lead)))
            script.lines.append(Line(other, self.say_fit(scenario.reply)))


def pick_tactics(rng: random.Random, k: int, tactics: list[str]) -> list[str]:
    """k distinct tactics in a loosely staged order with local shuffles (varying order)."""
    chosen = rng.sample([t for t in tactics if t != "pressure"], k)
    return sorted(chosen, key=lambda t: STAGE.get(t, 2) + rng.uniform(-1.3, 1.3))


def weighted(rng: random.Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, [weights[n] for n in names])[0]


def realise(rng: random.Random, script: Script, styles: list[Style], settings: GeneratorSettings
            ) -> list[Line]:
    """Noise, run-on merges and split messages; the risk flag follows the text it belongs to."""
    out: list[Line] = []
    i = 0
    lines = script.lines
    while i < len(lines):
        ln = lines[i]
        text = apply_noise(rng, ln.text, styles[ln.speaker], script.lang)
        risk = ln.risk
        if (i + 1 < len(lines) and lines[i + 1].speaker == ln.speaker and rng.random() < settings.runon_rate):
            nxt = lines[i + 1]
            sep = rng.choice((" ", ", ", " and ", " ", " lol ", " . "))
            text = text + sep + apply_noise(rng, nxt.text, styles[ln.speaker], script.lang)
            risk = risk or nxt.risk
            i += 1
        parts = split_message(rng, text) if rng.random() < settings.split_rate else [text]
        out.extend(Line(ln.speaker, p, risk) for p in parts)
        i += 1
    return out


def timestamps(rng: random.Random, base: datetime, n: int) -> list[datetime]:
    """Gaps from seconds to days, drawn independently of content and class."""
    t = base
    out = []
    for _ in range(n):
        out.append(t)
        r = rng.random()
        if r < 0.80:
            gap = rng.uniform(2, 90)
        elif r < 0.94:
            gap = rng.uniform(90, 1800)
        elif r < 0.985:
            gap = rng.uniform(1800, 36000)
        else:
            gap = rng.uniform(86400, 3 * 86400)
        t = t + timedelta(seconds=int(gap))
    return out
