"""`ServeConfig`: the whole of configs/serve.yaml, validated once at start-up.

Defaults live in the YAML; the values here only make a partial YAML (tests, overrides) valid.
`groomguard serve` flags are applied on top with `apply_overrides`-style dotted keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from groomguard.config import load_config
from groomguard.scores import Thresholds
from groomguard.serving.backfill.config import BackfillConfig
from groomguard.serving.desk.config import DeskConfig
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.store.config import AccountsConfig, RetentionConfig, StateConfig, StoreConfig


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    bundle: str | None = None  # model bundle directory; `--bundle` overrides


class BatchingConfig(BaseModel):
    """Micro-batching in front of the engine; batch size is `engine.max_batch_size`."""

    model_config = ConfigDict(extra="forbid")

    max_delay_ms: float = Field(default=5.0, ge=0)
    max_queue: int = Field(default=1024, ge=1)  # windows waiting per lane; beyond this -> 503 + Retry-After
    retry_after_s: int = Field(default=1, ge=0)
    timeout_s: float = Field(default=30.0, gt=0)  # every window's deadline; past it -> 503 + Retry-After
    # Most /v1/score windows in one backend call: an append waits behind at most one such batch.
    bulk_batch_size: int = Field(default=4, ge=1)
    # While appends and /v1/score both wait, every Nth batch is bulk (None: appends always first, and a
    # saturated append lane starves /v1/score until its deadline; found by the 30-minute soak).
    bulk_turn_every: int | None = Field(default=4, ge=2)


class ReadinessConfig(BaseModel):
    """`/readyz` probes: a committed store write and a one-window inference, cached this long."""

    model_config = ConfigDict(extra="forbid")

    check_interval_s: float = Field(default=5.0, ge=0)


class LimitsConfig(BaseModel):
    """Request limits: body size -> 413, counts and lengths -> 422. The API checks them at the edge
    and the review service enforces the same values (one source), so nothing passes one and fails
    the other."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_conversations_per_request: int = Field(default=64, ge=1)
    max_messages_per_conversation: int = Field(default=1000, ge=1)  # /v1/score
    max_messages_per_append: int = Field(default=100, ge=1)
    # Windows one /v1/score request may cost (one per message): bounds one request's model time.
    max_windows_per_request: int = Field(default=1000, ge=1)
    max_chars_per_message: int = Field(default=4000, ge=1)
    # Conversation ids, message ids and authors; at most 255, the width of their database columns.
    max_id_chars: int = Field(default=255, ge=1, le=255)
    max_page_size: int = Field(default=200, ge=1)
    max_offset: int = Field(default=1_000_000_000, ge=0, le=2**62)  # /v1/cases paging; keeps SQL integers in range


class AuthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Scope required for GET /metrics; null = unauthenticated (scrapers on an internal network).
    metrics_scope: Literal["score", "review", "admin"] | None = None
    # Verified keys are cached this long (revocation takes effect within this window).
    key_cache_seconds: float = Field(default=10.0, ge=0)


class RateLimitConfig(BaseModel):
    """Per-key token bucket (serving/api/ratelimit.py); in-process, so per replica."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    requests_per_s: float = Field(default=20.0, gt=0)  # sustained rate per key
    burst: int = Field(default=40, ge=1)  # requests a key may make at once after being idle


class ServeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engine: EngineConfig = Field(default_factory=EngineConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    batching: BatchingConfig = Field(default_factory=BatchingConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    readiness: ReadinessConfig = Field(default_factory=ReadinessConfig)
    # Overrides the bundle's operating thresholds when set (e.g. a stricter review threshold).
    thresholds: Thresholds | None = None
    store: StoreConfig = Field(default_factory=StoreConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    accounts: AccountsConfig = Field(default_factory=AccountsConfig)  # per-author aggregates + the account rule
    desk: DeskConfig = Field(default_factory=DeskConfig)  # moderator web UI (serving/desk)
    backfill: BackfillConfig = Field(default_factory=BackfillConfig)  # `score --engine ray` (serving/backfill)

    @model_validator(mode="after")
    def _request_fits_queue(self) -> ServeConfig:
        """A request within the limits must be admissible whole on an idle server."""
        if self.limits.max_windows_per_request > self.batching.max_queue:
            raise ValueError(f"limits.max_windows_per_request ({self.limits.max_windows_per_request}) exceeds "
                             f"batching.max_queue ({self.batching.max_queue}): such a request could never be queued")
        return self


def load_serve_config(
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    values: dict[str, Any] | None = None,
) -> ServeConfig:
    """The packaged serve.yaml, the file at `path` merged over it, GROOMGUARD_* environment
    variables, `--set key=value` overrides (YAML-parsed), then literal dotted `values` (CLI flags: a
    URL or host stays a string); validated (see groomguard.config)."""
    return load_config(ServeConfig, path, overrides or [], default="serve.yaml", values=values)
