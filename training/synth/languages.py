"""The language packs the generator ships (English, French), assembled from their pool modules.

Kept apart from langpack.py (the `LangPack` type), which the pool modules themselves import.
"""

from __future__ import annotations

from dataclasses import replace

from groomguard.training.synth import (
    benign_en,
    chat_en,
    hard_negatives_en,
    pools_fr,
    slots_en,
    tactics_en,
    teen_peers_en,
    teen_peers_fr,
)
from groomguard.training.synth.langpack import LangPack
from groomguard.training.synth.templates import pools_by_name


def english() -> LangPack:
    return LangPack("en", pools_by_name(tactics_en.TACTICS), pools_by_name(tactics_en.CHILD_REPLIES),
                    chat_en.CHAT_TEEN, chat_en.CHAT_ADULT, chat_en.REACTIONS,
                    benign_en.SCENARIOS, hard_negatives_en.HARD_NEGATIVES,
                    {**slots_en.SLOTS, **teen_peers_en.TEEN_SLOTS}, teen_peers_en.TEEN_PEER_SCENARIOS,
                    teen_peers_en.CHAT_TEEN_EXTRA)


def french() -> LangPack:
    slots = {**pools_fr.PACK.slots, **teen_peers_en.TEEN_SLOTS, **teen_peers_fr.TEEN_SLOTS_FR}
    return replace(pools_fr.PACK, slots=slots, teen_scenarios=teen_peers_fr.TEEN_PEER_SCENARIOS_FR,
                   chat_teen_extra=teen_peers_fr.CHAT_TEEN_EXTRA_FR)
