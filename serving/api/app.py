"""The FastAPI application: wiring of store, engine, micro-batcher and review service.

`create_app(config, bundle_dir)` builds the app; its lifespan opens everything at start-up (model
loaded and store migrated before the first request) and closes it on shutdown (the batcher drains).
Health endpoints are unauthenticated (`/healthz`, `/readyz`: orchestrator probes, no content);
`/metrics` is unauthenticated unless `auth.metrics_scope` is set (see docs/api.md).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from groomguard.errors import ConfigError
from groomguard.serving import logsafe
from groomguard.serving.api import openapi_bounds, routes_accounts, routes_cases, routes_conversations, routes_score
from groomguard.serving.api.auth import KeyCache, authenticate, has_scope
from groomguard.serving.api.body_size import BodySizeLimit
from groomguard.serving.api.deps import Services
from groomguard.serving.api.errors import ApiProblem, install_error_handlers
from groomguard.serving.api.metrics import MODEL, QUEUE_DEPTH, MetricsMiddleware, observe_batch
from groomguard.serving.api.models import Ready
from groomguard.serving.api.ratelimit import make_limiter
from groomguard.serving.api.readiness import ModelProbeFailed, Readiness, probe_model
from groomguard.serving.batcher import MicroBatcher
from groomguard.serving.desk.mount import install_desk
from groomguard.serving.engine import build_engine
from groomguard.serving.retention import PeriodicPurge
from groomguard.serving.review import ReviewService
from groomguard.serving.settings import ServeConfig
from groomguard.serving.store import open_store
from groomguard.serving.tail_check import check_tail_covers_window

log = logging.getLogger(__name__)


def open_services(config: ServeConfig, bundle_dir: Path) -> Services:
    """Store (migrated), engine (model probed), batcher and review service. `groomguard serve` calls
    it before uvicorn starts, so a start-up failure is one line and exit 2, not a lifespan traceback."""
    store = open_store(config.store)
    try:
        engine = build_engine(str(bundle_dir), config.engine, config.thresholds)
    except BaseException:
        store.close()
        raise
    try:
        check_tail_covers_window(config.state.tail_messages, engine.windower)
    except ConfigError:
        engine.close()
        store.close()
        raise
    try:
        probe_model(engine)  # an embedded model that loads but cannot score must not start
    except ModelProbeFailed as exc:
        if config.engine.backend == "onnxruntime":
            engine.close()
            store.close()
            raise ConfigError(f"model bundle {bundle_dir}: {exc}") from None
        # A remote backend (Triton) may come up after the gateway: /readyz reports it until then.
        log.warning("model probe at start-up: %s; not ready until it passes", exc)
    batching = config.batching
    batcher = MicroBatcher(engine.infer_batch, config.engine.max_batch_size, batching.max_delay_ms, batching.max_queue,
                           batching.retry_after_s, on_batch=observe_batch, bulk_batch_size=batching.bulk_batch_size,
                           timeout_s=batching.timeout_s, workers=config.engine.streams,
                           infer_timeout_s=config.engine.infer_timeout_s,
                           bulk_turn_every=batching.bulk_turn_every)
    review = ReviewService.build(store, batcher.score, engine.windower, engine.thresholds, engine.model_ref,
                                 config.state, config.retention, config.limits, async_scorer=batcher.score_async,
                                 accounts=config.accounts)
    health = engine.health()
    log.info("serving model=%s backend=%s provider=%s thresholds=review:%.3f/high:%.3f", engine.model_ref,
             health["backend"], health["detail"], engine.thresholds.review, engine.thresholds.high)
    MODEL.info({"model": engine.model_ref, "backend": str(health["backend"]), "provider": str(health["detail"])})
    cache = KeyCache(config.auth.key_cache_seconds)
    readiness = Readiness(engine, store, config.readiness.check_interval_s)
    return Services(config, engine, batcher, store, review, readiness, key_cache=cache,
                    rate_limiter=make_limiter(config.rate_limit))


def _close_services(services: Services) -> None:
    services.batcher.close()
    services.engine.close()
    services.store.close()


# Loggers that would print SQL parameters or request bodies (message text) at INFO/DEBUG.
_NOISY = ("sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "multipart",
          "python_multipart", "httpcore", "httpx", "uvicorn.access")


def protect_logs() -> None:
    """Privacy: keep libraries that may log parameters/bodies at WARNING whatever the root level;
    integrity: escape control characters in every record the root handlers write."""
    for name in _NOISY:
        if logging.getLogger(name).getEffectiveLevel() < logging.WARNING:
            logging.getLogger(name).setLevel(logging.WARNING)
    logsafe.install()  # no client value can forge a log line (serving/logsafe.py)


def create_app(config: ServeConfig, bundle_dir: Path | None = None, services: Services | None = None) -> FastAPI:
    """The app; nothing is opened until its lifespan starts (TestClient context or uvicorn), unless
    already-open `services` are handed over (they are closed when the app shuts down)."""
    protect_logs()
    if config.store.echo:
        log.warning("store.echo would log SQL parameters (message text); ignored by the server")
        config = config.model_copy(update={"store": config.store.model_copy(update={"echo": False})})
    bundle = bundle_dir or (Path(config.server.bundle) if config.server.bundle else None)
    if bundle is None:
        raise ConfigError("no model bundle: pass --bundle or set server.bundle")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal services
        opened_here = services is None
        if services is None:
            services = await run_in_threadpool(open_services, config, Path(bundle))
        app.state.services = services
        # Retention: ReviewService's purge every retention.purge_interval_minutes, on a daemon thread.
        purge = PeriodicPurge(services.store, config.retention)
        services.purge = purge
        purge.start()
        try:
            yield
        finally:
            purge.stop()
            await run_in_threadpool(_close_services, services)
            if opened_here:  # a restarted lifespan (ASGI test clients) opens fresh services, not closed ones
                services = None

    app = FastAPI(
        title="groomguard scoring API",
        version="1",
        summary="Grooming-risk scoring of chat conversations and the moderator review queue.",
        description="Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`. Scopes: `score` "
                    "(scoring, appends), `review` (case queue), `admin` (all, incl. export). Errors are "
                    "`application/problem+json`. See docs/api.md.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=config.limits.max_body_bytes)
    app.add_middleware(MetricsMiddleware)  # outermost: also counts 413s from the size limit
    app.include_router(routes_score.router)
    app.include_router(routes_conversations.router)
    app.include_router(routes_cases.router)
    app.include_router(routes_accounts.router)
    _add_ops_routes(app, config)
    if config.desk.enabled:
        install_desk(app)  # moderator web UI under /review
    openapi_bounds.install(app, config.limits)  # the configured limits, in /openapi.json
    return app


def _add_ops_routes(app: FastAPI, config: ServeConfig) -> None:
    @app.get("/healthz", tags=["operations"], summary="Liveness: the process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], response_model=Ready, summary="Readiness: model, backend, store",
             responses={503: {"description": "Not ready", "model": Ready}})
    def readyz(request: Request) -> JSONResponse:
        """200 only when the backend is healthy (no model call stuck past `engine.infer_timeout_s`), a
        one-window inference works and the store takes a committed write (the last two cached for
        `readiness.check_interval_s`)."""
        services: Services | None = getattr(request.app.state, "services", None)
        if services is None:
            return JSONResponse({"ready": False, "model": "", "backend": "", "provider": "", "backend_ok": False,
                                 "model_ok": False, "store_ok": False}, status_code=503)
        health = services.engine.health()
        backend_ok = bool(health["ok"]) and services.batcher.healthy
        probe = services.readiness.check(backend_ok)
        ready = Ready(ready=backend_ok and probe.model_ok and probe.store_ok, model=services.engine.model_ref,
                      backend=str(health["backend"]), provider=str(health["detail"]),
                      variant=str(health.get("variant", "")), backend_ok=backend_ok,
                      model_ok=probe.model_ok, store_ok=probe.store_ok)
        return JSONResponse(ready.model_dump(), status_code=200 if ready.ready else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
    def metrics(request: Request) -> Response:
        scope = config.auth.metrics_scope
        if scope is not None:
            services: Services = request.app.state.services
            auth = request.headers.get("authorization", "")
            bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
            info = authenticate(services, bearer, request.headers.get("x-api-key"))
            if not has_scope(info, scope):
                raise ApiProblem(403, f"API key {info.name!r} lacks the '{scope}' scope")
        services_now: Services | None = getattr(request.app.state, "services", None)
        if services_now is not None:
            QUEUE_DEPTH.set(services_now.batcher.depth)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
