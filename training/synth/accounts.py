"""`iter_accounts(n, seed, pool_half)`: a SYNTHETIC corpus of accounts, each author in several
conversations (issue 25), for `groomguard evaluate --accounts`.

Why its own generator: the main corpus never reuses a handle (the author-disjoint split needs that),
so no author there has more than one conversation and nothing cross-conversation can be measured.
Here one handle holds several conversations, each with a different counterpart:

- **grooming** accounts contact 3-6 children with variations of ONE script: the same tactic order and
  pacing for the account, fresh surface forms and slot values per conversation; some children stop
  answering after one or two tactic beats, so those conversations stay short and low;
- **hard-negative** accounts are adults with many young contacts asking legitimate age, schedule and
  location questions (a tutor, a coach, a youth-club organiser: `accounts.hard_roles`);
- **benign** accounts chat about ordinary things with several people.

An account's conversations start within `start_spread_days` of each other and pause for hours to days
(`session_break_*`, drawn alike for every kind), so they overlap in time as serial contact does.
Lines come from the shared pools (and `accounts_en.YOUTH_CLUB`) through the same `Builder`, pool half
respected, so a half-B corpus is template-disjoint from a half-A model. Only `random.Random` instances
seeded from (seed, account, conversation) are used: the same seed gives byte-identical JSONL. Tactics
only, never explicit (the pools' content rule).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from groomguard.errors import ConfigError
from groomguard.jsonl import write_jsonl
from groomguard.schema import Conversation, Message
from groomguard.training.synth.accounts_en import YOUTH_CLUB
from groomguard.training.synth.benign_en import Scenario
from groomguard.training.synth.builder import Builder, Line, Script, pick_tactics, realise, weighted
from groomguard.training.synth.config import AccountSettings, GeneratorSettings, load_synth_settings
from groomguard.training.synth.generator import PACING_LENGTHS, SOURCE, packs
from groomguard.training.synth.handles import HandleFactory
from groomguard.training.synth.langpack import LangPack
from groomguard.training.synth.noise import draw_style
from groomguard.training.synth.templates import PoolHalf

KIND_TAG = {"grooming": "grooming", "hard_negative": "hard-negative", "benign": "benign"}


def _times(rng: random.Random, start: datetime, n: int, s: AccountSettings) -> list[datetime]:
    """Seconds to minutes between messages, and now and then a pause of hours to days."""
    t, out = start, list[datetime]()
    for _ in range(n):
        if out and rng.random() < s.session_break_rate:
            t += timedelta(hours=rng.uniform(*s.session_break_hours))
        out.append(t)
        t += timedelta(seconds=int(rng.uniform(2, 90) if rng.random() < 0.85 else rng.uniform(90, 1800)))
    return out


def _lines(rng: random.Random, pack: LangPack, half: PoolHalf, gen: GeneratorSettings, script: Script,
           scenario: Scenario | None, n_beats: int) -> list[Line]:
    """Ordinary chat, the beats (the script's tactics, or `scenario`'s exchanges) with chat between
    them, a little chat after: the main generator's shape, speaker 0 the account, 1 its contact."""
    b = Builder(rng, pack, half, gen)
    (pre_lo, pre_hi), (gap_lo, gap_hi) = PACING_LENGTHS[script.pacing]
    teen = pack.teen_register if gen.teen_peer_rate > 0 else pack.chat_teen
    register = pack.chat_adult if scenario is not None and scenario.cast == "adults" else teen
    b.chat(script, rng.randint(pre_lo, pre_hi), register)
    tactics = list(script.tactics)  # tactic_beat may append "pressure" to script.tactics
    for i in range(n_beats):
        if i:
            b.chat(script, rng.randint(gap_lo, gap_hi), register)
        if scenario is None:
            b.tactic_beat(script, tactics[i], 1)
        else:
            b.scenario_beat(script, scenario, lead=0, other=1)
    b.chat(script, rng.randint(*gen.tail_messages), register)
    return realise(rng, script, [draw_style(rng), draw_style(rng)], gen)


def _account(i: int, seed: int, half: PoolHalf, s: AccountSettings, gen: GeneratorSettings,
             handles: HandleFactory, base: datetime) -> Iterator[Conversation]:
    rng = random.Random(f"groomguard-accounts:{seed}:{i}")
    pack = packs()["en"]
    kind = weighted(rng, s.kinds.model_dump())
    handle = handles.new(rng)
    start = base + timedelta(days=rng.randrange(300), seconds=rng.randrange(86400))
    pacing = weighted(rng, gen.pacing.model_dump())  # the account's own style, in every conversation
    tactics: list[str] = []
    role: Scenario | None = None
    if kind == "grooming":
        n = rng.randint(*s.victims)
        k = rng.randint(*gen.beats)
        tactics = pick_tactics(rng, min(k, len(pack.tactics) - 1), list(pack.tactics))  # ONE script
    elif kind == "hard_negative":
        n = rng.randint(*s.young_contacts)
        role = hard_roles(pack, s)[rng.choice(s.hard_roles)]
    else:
        n = rng.randint(*s.benign_conversations)
    offsets = sorted(rng.uniform(0, s.start_spread_days) for _ in range(n))
    for j, offset in enumerate(offsets):
        crng = random.Random(f"groomguard-accounts:{seed}:{i}:{j}")
        tags = ["synthetic", "account-corpus", f"account:{KIND_TAG[kind]}", f"pacing:{pacing}", f"pool-half:{half}"]
        scenario = None
        if kind == "grooming":
            dropout = crng.random() < s.dropout_rate
            used = tactics[: crng.randint(*s.dropout_beats)] if dropout else list(tactics)
            script = Script(1, "grooming", pacing, "en", 2, predator=0, hard=False, tactics=list(used))
            n_beats = len(used)
            tags += ["dropout"] if dropout else []
        else:
            scenario = role if role is not None else crng.choice(pack.scenarios)
            script = Script(0, scenario.name, pacing, "en", 2, predator=None, hard=role is not None)
            n_beats = crng.randint(*gen.beats)
        lines = _lines(crng, pack, half, gen, script, scenario, n_beats)
        names = [handle, handles.new(crng)]
        times = _times(crng, start + timedelta(days=offset), len(lines), s)
        messages = [Message(author=names[ln.speaker], text=ln.text, timestamp=t, message_id=f"m{x}")
                    for x, (ln, t) in enumerate(zip(lines, times, strict=True))]
        first = next((x for x, ln in enumerate(lines) if ln.risk), None) if script.label else None
        tags += [f"scenario:{script.scenario}", *(f"tactic:{t}" for t in script.tactics)]
        yield Conversation(
            conversation_id=f"acct-{seed}-{half.lower()}-{i:04d}-{j}", messages=messages,
            label=script.label,  # type: ignore[arg-type]
            predator_ids=[handle] if script.label else [], first_risk_index=first, source=SOURCE, lang="en",
            tags=tags + (["hard-negative"] if script.hard else []))


def hard_roles(pack: LangPack, s: AccountSettings) -> dict[str, Scenario]:
    """The hard-negative roles `accounts.hard_roles` may name; an unknown name is a config error."""
    roles = {r.name: r for r in (*pack.hard_negatives, YOUTH_CLUB)}
    unknown = [r for r in s.hard_roles if r not in roles]
    if unknown:
        raise ConfigError(f"accounts.hard_roles: unknown scenario {unknown[0]!r} (known: {', '.join(sorted(roles))})")
    return roles


def iter_accounts(n_accounts: int, seed: int, pool_half: PoolHalf = "all", settings: AccountSettings | None = None,
                  generator: GeneratorSettings | None = None,
                  on_account: Callable[[], None] | None = None) -> Iterator[Conversation]:
    """Every conversation of `n_accounts` accounts, account after account (`on_account` after each);
    identical output for identical arguments. Settings default to configs/synth.yaml."""
    if settings is None or generator is None:
        cfg = load_synth_settings()
        settings, generator = settings or cfg.accounts, generator or cfg.generator
    hard_roles(packs()["en"], settings)  # a misspelt role fails before anything is written
    handles = HandleFactory()
    base = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(days=random.Random(seed).randrange(700))
    for i in range(n_accounts):
        yield from _account(i, seed, pool_half, settings, generator, handles, base)
        if on_account is not None:
            on_account()


def write_accounts(path: str | Path, n_accounts: int, seed: int, pool_half: PoolHalf = "all",
                   settings: AccountSettings | None = None, generator: GeneratorSettings | None = None,
                   on_account: Callable[[], None] | None = None) -> int:
    """Write the corpus as canonical JSONL; returns the number of conversations written."""
    return write_jsonl(path, iter_accounts(n_accounts, seed, pool_half, settings, generator, on_account))
