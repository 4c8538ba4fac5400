"""Validated settings for the generator and the audit; defaults live in configs/synth.yaml."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from groomguard.config import load_config


class Pacing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fast: float = Field(ge=0)
    slow: float = Field(ge=0)
    interleaved: float = Field(ge=0)


class GeneratorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_conversations: int = Field(gt=0)
    seed: int
    positive_rate: float = Field(ge=0, le=1)
    french_rate: float = Field(ge=0, le=1)
    hard_negative_rate: float = Field(ge=0, le=1)
    group_chat_rate: float = Field(ge=0, le=1)
    pacing: Pacing
    beats: tuple[int, int]
    split_rate: float = Field(ge=0, le=1)
    runon_rate: float = Field(ge=0, le=1)
    tail_messages: tuple[int, int]
    # Share of benign conversations drawn from the teen-peer scenarios (training/synth/teen_peers_*.py:
    # 12-16 year olds talking to each other, hard ones with ages, socials, sleepovers, secrets); > 0 also
    # adds their everyday lines to the teen register both classes chat in. 0 = the corpus of before.
    teen_peer_rate: float = Field(default=0.0, ge=0, le=1)


class AccountKinds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grooming: float = Field(ge=0)
    hard_negative: float = Field(ge=0)
    benign: float = Field(ge=0)


class AccountSettings(BaseModel):
    """`data synth-accounts` (training/synth/accounts.py): several conversations per author."""

    model_config = ConfigDict(extra="forbid")
    n_accounts: int = Field(gt=0)
    seed: int
    kinds: AccountKinds
    victims: tuple[int, int]  # conversations of a grooming account, one child each
    young_contacts: tuple[int, int]  # conversations of a hard-negative account
    benign_conversations: tuple[int, int]
    hard_roles: list[str] = Field(min_length=1)  # hard-negative scenario names (one role per account)
    dropout_rate: float = Field(ge=0, le=1)
    dropout_beats: tuple[int, int]  # tactic beats a child who drops out still answers
    start_spread_days: float = Field(ge=0)
    session_break_rate: float = Field(ge=0, le=1)
    session_break_hours: tuple[float, float]


class AuditSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cv_folds: int = Field(ge=2)
    train_conversations: int = Field(gt=10)
    test_conversations: int = Field(gt=10)
    train_seed: int
    test_seed: int
    top_lines: int = Field(gt=0)
    max_line_share: float
    max_shallow_auc: float
    max_style_auc: float = 0.70
    finetune_config: str
    finetune_overrides: list[str] = Field(default_factory=list)
    workdir: str = "var/synth-audit"


class SynthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    generator: GeneratorSettings
    audit: AuditSettings
    accounts: AccountSettings


def load_synth_settings(path: str | Path | None = None, overrides: list[str] | None = None) -> SynthSettings:
    return load_config(SynthSettings, path, overrides or [], default="synth.yaml")
