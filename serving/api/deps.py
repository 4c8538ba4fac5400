"""What the routes need at request time, built once by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from groomguard.serving.batcher import MicroBatcher
from groomguard.serving.engine import ScoringEngine
from groomguard.serving.settings import ServeConfig

if TYPE_CHECKING:
    from groomguard.serving.api.auth import KeyCache
    from groomguard.serving.api.ratelimit import TokenBuckets
    from groomguard.serving.api.readiness import Readiness
    from groomguard.serving.retention import PeriodicPurge
    from groomguard.serving.review import ReviewService
    from groomguard.serving.store import Store


@dataclass
class Services:
    """Everything a request may touch; one instance per app, on `app.state.services`."""

    config: ServeConfig
    engine: ScoringEngine
    batcher: MicroBatcher
    store: Store
    review: ReviewService
    readiness: Readiness
    key_cache: KeyCache  # verified API keys, briefly (auth.key_cache_seconds)
    rate_limiter: TokenBuckets | None = None  # None: rate_limit.enabled is false
    purge: PeriodicPurge | None = None  # set by the app's lifespan while it runs


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_services(request: Request) -> Services:
    """FastAPI dependency. `async` on purpose: FastAPI runs a plain `def` dependency in a worker
    thread, a hand-off per request on the hot path for what is an attribute read."""
    return services_of(request)
