"""Store, conversation-state and retention settings (the `store:`, `state:` and `retention:` sections
of configs/serve.yaml). The defaults here mirror the shipped YAML so a config without these sections
still works."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class StoreConfig(BaseModel):
    """Where conversation state, cases and API keys live. SQLite (WAL) by default, PostgreSQL by URL."""

    model_config = ConfigDict(extra="forbid")

    url: str = "sqlite:///var/groomguard.db"
    pool_size: int = Field(default=5, ge=1)
    echo: bool = False
    busy_timeout_s: float = Field(default=30.0, gt=0)  # SQLite: how long a writer waits for the lock


class StateConfig(BaseModel):
    """Bounds on per-conversation state: scoring cost never grows with conversation length."""

    model_config = ConfigDict(extra="forbid")

    tail_messages: int = Field(default=128, ge=1)
    case_evidence_messages: int = Field(default=200, ge=1)
    max_score_history: int = Field(default=1000, ge=1)
    top_messages: int = Field(default=5, ge=1)  # how many "messages that moved the score most" a case shows
    optimistic_retries: int = Field(default=3, ge=0)  # score outside the lock this many times before locking
    # conversations whose newest window this process keeps in memory to plan appends without a read
    # (serving/review/snapshot_cache.py; ~1 KB each); 0 = always read the store
    snapshot_cache_conversations: int = Field(default=10_000, ge=0)
    snapshot_cache_idle_seconds: float = Field(default=600, gt=0)  # capped below retention.tail_inactive_days


class RetentionConfig(BaseModel):
    """How long state is kept. Decided cases default to one year (evidence preservation)."""

    model_config = ConfigDict(extra="forbid")

    tail_inactive_days: float = Field(default=30, gt=0)
    decided_case_days: float = Field(default=365, gt=0)
    purge_interval_minutes: float = Field(default=60, gt=0)


class AccountsConfig(BaseModel):
    """The account rule (issue 25; docs/design.md "Accounts"): an author whose risk reaches
    `rule_min_risk` in at least `rule_conversations` conversations they wrote in within `rule_days`
    days, with at least that many distinct counterparts, gets an account case linking them.
    `rule_min_risk` None = `rule_min_risk_fraction` x the bundle's review threshold (a bar that follows
    the bundle when it is retrained), and with both None the review threshold itself; lower, the rule
    can flag an account whose conversations are each below review (`groomguard evaluate --accounts`
    measures the trade and chooses the fraction on validation accounts)."""

    model_config = ConfigDict(extra="forbid")

    rule_enabled: bool = True
    rule_conversations: int = Field(default=2, ge=2)  # chosen on validation accounts (configs/serve.yaml)
    rule_days: float = Field(default=30, gt=0)
    rule_min_risk: float | None = Field(default=None, ge=0, le=1)
    # above 1: stricter than review (chosen on validation at stop 38: 1.2); the floor is capped at a risk of 1
    rule_min_risk_fraction: float | None = Field(default=None, gt=0, le=2)

    @model_validator(mode="after")
    def _one_minimum(self) -> AccountsConfig:
        if self.rule_min_risk is not None and self.rule_min_risk_fraction is not None:
            raise ValueError("set rule_min_risk or rule_min_risk_fraction, not both")
        return self
