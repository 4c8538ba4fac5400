"""A language's complete set of pools, so the builder is language-agnostic."""

from __future__ import annotations

from dataclasses import dataclass

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

    def all_pools(self) -> list[Pool]:
        pools = [*self.tactics.values(), *self.child_replies.values(), self.chat_teen, self.chat_adult, self.reactions]
        for s in (*self.scenarios, *self.hard_negatives):
            pools += [s.lead, s.reply]
        return pools


def english() -> LangPack:
    from groomguard.training.synth import benign_en, chat_en, hard_negatives_en, slots_en, tactics_en
    from groomguard.training.synth.templates import pools_by_name

    return LangPack("en", pools_by_name(tactics_en.TACTICS), pools_by_name(tactics_en.CHILD_REPLIES),
                    chat_en.CHAT_TEEN, chat_en.CHAT_ADULT, chat_en.REACTIONS,
                    benign_en.SCENARIOS, hard_negatives_en.HARD_NEGATIVES, slots_en.SLOTS)


def french() -> LangPack:
    from groomguard.training.synth import pools_fr

    return pools_fr.PACK
