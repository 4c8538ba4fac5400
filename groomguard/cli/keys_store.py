"""`groomguard keys ...` (API keys) and `groomguard store ...` (migrations, retention purge).

Both act on the store configured in the serve config's `store:` section (default
`sqlite:///var/groomguard.db`, relative to the working directory); `--db-url` overrides it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from groomguard.config import default_config_path

if TYPE_CHECKING:
    from groomguard.serving.store import RetentionConfig, Store, StoreConfig

keys_app = typer.Typer(help="Create, list and revoke API keys (stored hashed; shown once).", no_args_is_help=True)
store_app = typer.Typer(help="Database maintenance: schema migrations and the retention purge.",
                        no_args_is_help=True)

ConfigOpt = Annotated[Path, typer.Option(help="Serve config; its `store:`/`retention:` sections are used.")]
DbUrlOpt = Annotated[Optional[str], typer.Option(
    "--db-url", help="Database URL overriding the config, e.g. sqlite:///var/groomguard.db or "
                     "postgresql+psycopg://user@host/db.")]
DEFAULT_CONFIG = default_config_path("serve.yaml")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.add_typer(store_app, name="store")


def _section(config: Path, name: str) -> dict[str, object]:
    from groomguard.config import read_yaml

    if not config.is_file() and config == DEFAULT_CONFIG:
        return {}
    section = read_yaml(config).get(name) or {}
    return dict(section) if isinstance(section, dict) else {}


def _store_config(config: Path, db_url: str | None) -> StoreConfig:
    from groomguard.config import validate_config
    from groomguard.serving.store import StoreConfig

    raw = _section(config, "store")
    if db_url:
        raw["url"] = db_url
    return validate_config(StoreConfig, raw, f"{config}: store")


def _retention_config(config: Path) -> RetentionConfig:
    from groomguard.config import validate_config
    from groomguard.serving.store import RetentionConfig

    return validate_config(RetentionConfig, _section(config, "retention"), f"{config}: retention")


def _open(config: Path, db_url: str | None) -> Store:
    from groomguard.serving.store import open_store

    return open_store(_store_config(config, db_url))


@keys_app.command("create")
def keys_create(
    scope: Annotated[list[str], typer.Option("--scope", "-s", help="score, review or admin (admin implies all); "
                                                                    "repeat or comma-separate.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Who or what uses the key, e.g. 'chat-gateway'.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    db_url: DbUrlOpt = None,
) -> None:
    """Create an API key. The key is printed once, as the last word of the output: store it now."""
    from groomguard.serving.apikeys import create_key

    store = _open(config, db_url)
    try:
        info, plaintext = create_key(store, name, set(scope))
    finally:
        store.close()
    typer.echo(f"created key {info.key_id} '{info.name}' with scopes {','.join(sorted(info.scopes))}; "
               f"it is shown only now:")
    typer.echo(plaintext)


@keys_app.command("list")
def keys_list(config: ConfigOpt = DEFAULT_CONFIG, db_url: DbUrlOpt = None) -> None:
    """List keys (id, name, scopes, created, revoked). Secrets are never shown."""
    from groomguard.serving.apikeys import list_keys

    store = _open(config, db_url)
    try:
        keys = list_keys(store)
    finally:
        store.close()
    if not keys:
        typer.echo("no API keys")
        return
    typer.echo(f"{'KEY ID':<14}{'NAME':<24}{'SCOPES':<22}{'CREATED (UTC)':<22}REVOKED (UTC)")
    for k in keys:
        revoked = k.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if k.revoked_at else "-"
        typer.echo(f"{k.key_id:<14}{k.name[:23]:<24}{','.join(sorted(k.scopes)):<22}"
                   f"{k.created_at.strftime('%Y-%m-%d %H:%M:%S'):<22}{revoked}")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="Key id as shown by `groomguard keys list`.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    db_url: DbUrlOpt = None,
) -> None:
    """Revoke a key: requests using it are refused from now on."""
    from groomguard.serving.apikeys import revoke_key

    store = _open(config, db_url)
    try:
        info = revoke_key(store, key_id)
    finally:
        store.close()
    typer.echo(f"revoked key {info.key_id} '{info.name}'")


@keys_app.command("ensure-local")
def keys_ensure_local(
    out: Annotated[Path, typer.Option(help="File holding the local key (written with mode 0600).")] = Path(
        "var/local-api-key.txt"),
    config: ConfigOpt = DEFAULT_CONFIG,
    db_url: DbUrlOpt = None,
) -> None:
    """Make sure a valid all-scopes key for local use exists in OUT (used by `make run`).

    Creates one only when OUT is missing or its key no longer works, printing it once.
    """
    from groomguard.cli.files import STDIO, FileArgumentError, atomic_output, check_output
    from groomguard.serving.apikeys import SCOPES, create_key, verify_key

    if str(out) == STDIO:
        raise FileArgumentError("--out: the local key must be kept in a file, not written to stdout (-)")
    check_output("--out", out)  # before a key is created that could not be saved
    store = _open(config, db_url)
    try:
        if out.is_file():
            existing = out.read_text(encoding="utf-8").strip()
            if existing and verify_key(store, existing) is not None:
                typer.echo(f"local API key is in {out}")
                return
        info, plaintext = create_key(store, "local", set(SCOPES), local=True)
    finally:
        store.close()
    with atomic_output(out, mode=0o600) as fh:  # never a truncated key file; private from the first byte
        fh.write(plaintext + "\n")
    typer.echo(f"created local API key {info.key_id} (all scopes), saved to {out}; it is shown only now:")
    typer.echo(plaintext)


@store_app.command("migrate")
def store_migrate(config: ConfigOpt = DEFAULT_CONFIG, db_url: DbUrlOpt = None) -> None:
    """Create or upgrade the database schema to the newest revision (the server also does this)."""
    from groomguard.serving.store.db import current_revision, safe_url

    cfg = _store_config(config, db_url)
    store = _open(config, db_url)
    try:
        rev = current_revision(store.engine)
    finally:
        store.close()
    typer.echo(f"{safe_url(cfg.url)} is at schema revision {rev}")


@store_app.command("purge")
def store_purge(
    config: ConfigOpt = DEFAULT_CONFIG,
    db_url: DbUrlOpt = None,
    dry_run: Annotated[bool, typer.Option(help="Only count what would be deleted.")] = False,
) -> None:
    """Apply retention now: delete idle conversation tails and decided cases past their keep period.

    Periods come from the config's `retention:` section (tail_inactive_days, decided_case_days).
    """
    from groomguard.progress import progress_bar
    from groomguard.serving.retention import purge

    retention = _retention_config(config)
    store = _open(config, db_url)
    try:
        with progress_bar() as bar:
            task = bar.add_task("purging expired state", total=None)
            result = purge(store, retention, dry_run=dry_run)
            bar.update(task, total=1, completed=1)
    finally:
        store.close()
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} {result.conversations} idle conversation(s) (> {retention.tail_inactive_days:g} days) and "
               f"{result.cases} decided case(s) (> {retention.decided_case_days:g} days)")
