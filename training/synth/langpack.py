"""A language's complete set of pools, so the builder is language-agnostic."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from groomguard.training.synth.benign_en import Scenario
from groomguard.training.synth.templates import Pool


@dataclass(frozen=True)
class LangPack:
    lang: str
    tactics: dict[str, Pool]
    child_replies: dict[str, Pool]
    chat_teen: Pool
    chat_adult: Pool
    reactions: Pool
    scenarios: tuple[Scenario, ...]
    hard_negatives: tuple[Scenario, ...]
    slots: dict[str, tuple[str, ...]]
    # teen peers talking to each other (GeneratorSettings.teen_peer_rate): benign, hard ones carry cues
    teen_scenarios: tuple[Scenario, ...] = ()
    chat_teen_extra: Pool | None = None

    @cached_property
    def teen_register(self) -> Pool:
        """The teen register with the teen-peer everyday lines added (both classes chat in it)."""
        if self.chat_teen_extra is None:
            return self.chat_teen
        return Pool(self.chat_teen.name, (*self.chat_teen.templates, *self.chat_teen_extra.templates))

    def all_pools(self) -> list[Pool]:
        pools = [*self.tactics.values(), *self.child_replies.values(), self.chat_teen, self.chat_adult, self.reactions]
        for s in (*self.scenarios, *self.hard_negatives, *self.teen_scenarios):
            pools += [s.lead, s.reply]
        if self.chat_teen_extra is not None:
            pools.append(self.chat_teen_extra)
        return pools


def english() -> LangPack:
    from groomguard.training.synth import benign_en, chat_en, hard_negatives_en, slots_en, tactics_en, teen_peers_en
    from groomguard.training.synth.templates import pools_by_name

    return LangPack("en", pools_by_name(tactics_en.TACTICS), pools_by_name(tactics_en.CHILD_REPLIES),
                    chat_en.CHAT_TEEN, chat_en.CHAT_ADULT, chat_en.REACTIONS,
                    benign_en.SCENARIOS, hard_negatives_en.HARD_NEGATIVES,
                    {**slots_en.SLOTS, **teen_peers_en.TEEN_SLOTS}, teen_peers_en.TEEN_PEER_SCENARIOS,
                    teen_peers_en.CHAT_TEEN_EXTRA)


def french() -> LangPack:
    from dataclasses import replace

    from groomguard.training.synth import pools_fr, teen_peers_en, teen_peers_fr

    slots = {**pools_fr.PACK.slots, **teen_peers_en.TEEN_SLOTS, **teen_peers_fr.TEEN_SLOTS_FR}
    return replace(pools_fr.PACK, slots=slots, teen_scenarios=teen_peers_fr.TEEN_PEER_SCENARIOS_FR,
                   chat_teen_extra=teen_peers_fr.CHAT_TEEN_EXTRA_FR)
