"""`generate(n, seed, pool_half)`: the synthetic corpus, deterministic for a seed.

Only `random.Random` instances seeded from (seed, index) are used — never the global RNG — so the
same seed gives byte-identical JSONL. SYNTHETIC DATA: for demos and tests, not real conversations.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from functools import lru_cache, partial
from pathlib import Path

from groomguard.jsonl import write_jsonl
from groomguard.schema import Conversation, Message
from groomguard.training.synth.builder import Builder, Script, pick_tactics, realise, timestamps, weighted
from groomguard.training.synth.config import GeneratorSettings, load_synth_settings
from groomguard.training.synth.handles import HandleFactory
from groomguard.training.synth.langpack import LangPack
from groomguard.training.synth.languages import english, french
from groomguard.training.synth.noise import draw_style
from groomguard.training.synth.templates import PoolHalf

SOURCE = "synthetic"
PACING_LENGTHS = {"fast": ((1, 6), (0, 2)), "slow": ((40, 80), (0, 4)), "interleaved": ((4, 15), (3, 10))}


@lru_cache(maxsize=1)
def packs() -> dict[str, LangPack]:
    return {"en": english(), "fr": french()}


def default_settings() -> GeneratorSettings:
    return load_synth_settings().generator


def _script(rng: random.Random, pack: LangPack, half: PoolHalf, s: GeneratorSettings) -> tuple[Script, Builder]:
    b = Builder(rng, pack, half, s)
    label = 1 if rng.random() < s.positive_rate else 0
    pacing = weighted(rng, s.pacing.model_dump())
    n_speakers = rng.choice((3, 3, 4)) if rng.random() < s.group_chat_rate else 2
    k = rng.randint(*s.beats)
    (pre_lo, pre_hi), (gap_lo, gap_hi) = PACING_LENGTHS[pacing]
    teen = pack.teen_register if s.teen_peer_rate > 0 else pack.chat_teen
    if label == 1:
        script = Script(1, "grooming", pacing, pack.lang, n_speakers, predator=0, hard=False)
        register = teen
        script.tactics = pick_tactics(rng, min(k, len(pack.tactics) - 1), list(pack.tactics))
        beats: list[Callable[[], None]] = [partial(b.tactic_beat, script, t, 1) for t in list(script.tactics)]
    else:
        hard = rng.random() < s.hard_negative_rate
        # (no RNG draw when the rate is 0: the corpus of a seed stays what it was)
        if s.teen_peer_rate > 0 and pack.teen_scenarios and rng.random() < s.teen_peer_rate:
            scenario = rng.choice([t for t in pack.teen_scenarios if t.hard == hard] or list(pack.teen_scenarios))
        else:
            scenario = rng.choice(pack.hard_negatives if hard else pack.scenarios)
        script = Script(0, scenario.name, pacing, pack.lang, n_speakers, predator=None, hard=hard)
        adult_chat = scenario.cast == "adults" or (scenario.cast == "family" and rng.random() < 0.5)
        register = pack.chat_adult if adult_chat else teen

        def beat() -> None:
            other = 1 if n_speakers == 2 else rng.randrange(1, n_speakers)
            b.scenario_beat(script, scenario, lead=0, other=other)

        beats = [beat for _ in range(k)]
    b.chat(script, rng.randint(pre_lo, pre_hi), register)
    for i, run_beat in enumerate(beats):
        if i:
            b.chat(script, rng.randint(gap_lo, gap_hi), register)
        run_beat()
    b.chat(script, rng.randint(*s.tail_messages), register)
    return script, b


def _conversation(index: int, seed: int, half: PoolHalf, s: GeneratorSettings, handles: HandleFactory,
                  base: datetime) -> Conversation:
    rng = random.Random(f"groomguard-synth:{seed}:{index}")
    lang = "fr" if rng.random() < s.french_rate else "en"
    script, _ = _script(rng, packs()[lang], half, s)
    styles = [draw_style(rng) for _ in range(script.n_speakers)]
    names = [handles.new(rng) for _ in range(script.n_speakers)]
    lines = realise(rng, script, styles, s)
    start = base + timedelta(days=rng.randrange(300), seconds=rng.randrange(86400))
    times = timestamps(rng, start, len(lines))
    messages = [Message(author=names[ln.speaker], text=ln.text, timestamp=t, message_id=f"m{j}")
                for j, (ln, t) in enumerate(zip(lines, times, strict=True))]
    tags = ["synthetic", "grooming" if script.label else "benign", f"scenario:{script.scenario}",
            f"pacing:{script.pacing}", f"pool-half:{half}"]
    tags += [f"tactic:{t}" for t in script.tactics]
    if script.hard:
        tags.append("hard-negative")
    if script.n_speakers > 2:
        tags.append("group-chat")
    first = next((j for j, ln in enumerate(lines) if ln.risk), None) if script.label else None
    return Conversation(
        conversation_id=f"synth-{seed}-{half.lower()}-{index:06d}",
        messages=messages,
        label=script.label,  # type: ignore[arg-type]
        predator_ids=[names[script.predator]] if script.predator is not None and script.label else [],
        first_risk_index=first,
        source=SOURCE,
        lang=lang,
        tags=tags,
    )


def iter_generate(n: int, seed: int, pool_half: PoolHalf = "all",
                  settings: GeneratorSettings | None = None) -> Iterator[Conversation]:
    """Yield `n` conversations; identical output for identical (n, seed, pool_half, settings)."""
    s = settings or default_settings()
    handles = HandleFactory()
    base = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(days=random.Random(seed).randrange(700))
    for i in range(n):
        yield _conversation(i, seed, pool_half, s, handles, base)


def generate(n: int, seed: int, pool_half: PoolHalf = "all",
             settings: GeneratorSettings | None = None) -> list[Conversation]:
    return list(iter_generate(n, seed, pool_half, settings))


def write_corpus(path: str | Path, n: int, seed: int, pool_half: PoolHalf = "all",
                 settings: GeneratorSettings | None = None, on_item: Callable[[], None] | None = None) -> int:
    def stream() -> Iterator[Conversation]:
        for conv in iter_generate(n, seed, pool_half, settings):
            if on_item is not None:
                on_item()
            yield conv

    return write_jsonl(path, stream())
