"""What the routes need at request time, built once by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request

from serving.batcher import MicroBatcher
from serving.engine import ScoringEngine
from serving.settings import ServeConfig

if TYPE_CHECKING:
    from serving.api.readiness import Readiness
    from serving.review import ReviewService
    from serving.store import Store


@dataclass
class Services:
    config: ServeConfig
    engine: ScoringEngine
    batcher: MicroBatcher
    store: Store
    review: ReviewService
    readiness: Readiness
    extra: dict[str, object] = field(default_factory=dict)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
