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
