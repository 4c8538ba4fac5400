"""`groomguard serve`: the scoring HTTP service (FastAPI on uvicorn)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from groomguard.cli.options import Backend, LogLevel, ServeConfigOpt, SetOpt, TritonProtocol, Variant


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    config: ServeConfigOpt = None,
    bundle: Annotated[Optional[Path], typer.Option(help="Model bundle directory (overrides server.bundle).")] = None,
    host: Annotated[Optional[str], typer.Option(help="Interface to bind (overrides server.host).")] = None,
    port: Annotated[Optional[int], typer.Option(min=0, max=65535, help="Port (overrides server.port).")] = None,
    backend: Annotated[Optional[Backend], typer.Option(help="Scoring backend (overrides engine.backend).")] = None,
    variant: Annotated[Optional[Variant], typer.Option(help="Model variant (overrides engine.variant).")] = None,
    triton_url: Annotated[Optional[str], typer.Option(help="Triton HOST:PORT (engine.triton.url; implies "
                                                           "--backend triton).")] = None,
    triton_protocol: Annotated[Optional[TritonProtocol], typer.Option(help="Triton protocol (engine.triton.protocol).")] = None,
    store_url: Annotated[Optional[str], typer.Option(help="Database URL (store.url), e.g. sqlite:///var/gg.db; "
                                                          "or set GROOMGUARD_STORE__URL.")] = None,
    set_: SetOpt = None,
    log_level: Annotated[Optional[LogLevel], typer.Option(help="Log level (overrides server.log_level).")] = None,
) -> None:
    """Start the scoring API: POST /v1/score, /v1/conversations/{id}/messages, the review queue under
    /v1/cases, /healthz, /readyz, /metrics; OpenAPI docs at /docs.

    Uses the same store (store.url) as `groomguard keys`: create a key there first
    (`groomguard keys ensure-local -o var/local-api-key.txt` for a local demo).
    Message text and author handles are never logged. Secrets such as a PostgreSQL URL with a
    password belong in the environment (GROOMGUARD_STORE__URL), not on the command line.

    Example: groomguard serve --bundle models/bundles/demo --port 8000 --set batching.max_delay_ms=2
    """
    import logging

    import uvicorn

    from groomguard.bundle import Bundle
    from groomguard.errors import BundleError
    from groomguard.serving.api.app import create_app, open_services, protect_logs
    from groomguard.serving.settings import load_serve_config

    flags = {"server.host": host, "server.port": port, "server.bundle": str(bundle) if bundle else None,
             "engine.backend": backend or ("triton" if triton_url else None), "engine.variant": variant,
             "engine.triton.url": triton_url, "engine.triton.protocol": triton_protocol, "store.url": store_url,
             "server.log_level": log_level}
    cfg = load_serve_config(config, set_ or [], flags)
    if not cfg.server.bundle or not (Path(cfg.server.bundle) / "bundle.json").is_file():
        raise BundleError(f"{cfg.server.bundle}: no bundle.json (build one with `make model` or pass --bundle)")
    # verify sha256s and the tail rule now: a bad bundle or config is a one-line error, not a traceback
    from groomguard.serving.tail_check import check_tail_covers_window

    check_tail_covers_window(cfg.state.tail_messages, Bundle.load(cfg.server.bundle).windower())
    level = getattr(logging, cfg.server.log_level.upper())
    logging.getLogger().setLevel(level)
    protect_logs()
    # Store, engine and the one-window model probe open here, before uvicorn: a failure is a
    # one-line error and exit 2 (uvicorn would print the lifespan's traceback and exit 3).
    services = open_services(cfg, Path(cfg.server.bundle))
    app = create_app(cfg, Path(cfg.server.bundle), services)
    # uvicorn's access log prints raw paths (conversation ids); the app logs route templates instead.
    uvicorn.run(app, host=cfg.server.host, port=cfg.server.port, log_config=None, access_log=False,
                log_level=cfg.server.log_level, timeout_graceful_shutdown=10)

