"""`groomguard keys ...` (API keys) and `groomguard store ...` (migrations, retention purge).

Both act on the store configured in the serve config's `store:` section (default
`sqlite:///var/groomguard.db`, relative to the working directory); GROOMGUARD_STORE__URL, `--set
store.url=...` and `--db-url` override it, in that order.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from groomguard.cli.options import ServeConfigOpt, SetOpt, old_flag, renamed

if TYPE_CHECKING:
    from groomguard.serving.store import RetentionConfig, Store, StoreConfig

keys_app = typer.Typer(help="Create, list and revoke API keys (stored hashed; shown once).", no_args_is_help=True,
                       rich_markup_mode=None)
store_app = typer.Typer(help="Database maintenance: schema migrations and the retention purge.",
                        no_args_is_help=True, rich_markup_mode=None)

ConfigOpt = ServeConfigOpt
DbUrlOpt = Annotated[Optional[str], typer.Option(
    "--db-url", help="Database URL overriding the config, e.g. sqlite:///var/groomguard.db or "
                     "postgresql+psycopg://user@host/db.")]
DEFAULT_CONFIG = None  # the packaged serve.yaml (groomguard.config layers file, environment and --set over it)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.add_typer(store_app, name="store")


def _store_config(config: Path | None, db_url: str | None, sets: list[str] | None = None) -> StoreConfig:
    from groomguard.config import load_config
    from groomguard.serving.store import StoreConfig

    return load_config(StoreConfig, config, sets or [], default="serve.yaml", values={"store.url": db_url},
                       section="store")


def _retention_config(config: Path | None, sets: list[str] | None = None) -> RetentionConfig:
    from groomguard.config import load_config
    from groomguard.serving.store import RetentionConfig

    return load_config(RetentionConfig, config, sets or [], default="serve.yaml", section="retention")


def _open(config: Path | None, db_url: str | None, sets: list[str] | None = None) -> Store:
    from groomguard.serving.store import open_store

    return open_store(_store_config(config, db_url, sets))


@keys_app.command("create")
def keys_create(
    scope: Annotated[list[str], typer.Option("--scope", "-s", help="score, review or admin (admin implies all); "
                                                                    "repeat or comma-separate.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Who or what uses the key, e.g. 'chat-gateway'.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
    db_url: DbUrlOpt = None,
) -> None:
    """Create an API key. The key is printed once, as the last word of the output: store it now.

    Example: groomguard keys create --name chat-gateway --scope score
    """
    from groomguard.serving.apikeys import create_key

    store = _open(config, db_url, set_)
    try:
        info, plaintext = create_key(store, name, set(scope))
    finally:
        store.close()
    typer.echo(f"created key {info.key_id} '{info.name}' with scopes {','.join(sorted(info.scopes))}; "
               f"it is shown only now:")
    typer.echo(plaintext)


@keys_app.command("list")
def keys_list(config: ConfigOpt = DEFAULT_CONFIG, set_: SetOpt = None, db_url: DbUrlOpt = None) -> None:
    """List keys (id, name, scopes, created, revoked). Secrets are never shown.

    Example: GROOMGUARD_STORE__URL=sqlite:///var/groomguard.db groomguard keys list
    """
    from groomguard.serving.apikeys import list_keys

    store = _open(config, db_url, set_)
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
    set_: SetOpt = None,
    db_url: DbUrlOpt = None,
) -> None:
    """Revoke a key: requests using it are refused from now on.

    Example: groomguard keys revoke 3f9a1c2b7d4e
    """
    from groomguard.serving.apikeys import revoke_key

    store = _open(config, db_url, set_)
    try:
        info = revoke_key(store, key_id)
    finally:
        store.close()
    typer.echo(f"revoked key {info.key_id} '{info.name}'")


@keys_app.command("ensure-local")
def keys_ensure_local(
    output: Annotated[Optional[Path], typer.Option("--output", "-o", show_default=False, help="File holding the local "
                                                   "key, written with mode 0600 (default: var/local-api-key.txt).")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
    db_url: DbUrlOpt = None,
    out_old: Annotated[Optional[Path], old_flag("--out")] = None,
) -> None:
    """Make sure a valid all-scopes key for local use exists in OUTPUT (used by `make run`).

    Creates one only when OUTPUT is missing or its key no longer works, printing it once.

    Example: groomguard keys ensure-local -o var/local-api-key.txt
    """
    from groomguard.cli.files import STDIO, FileArgumentError, atomic_output, check_output
    from groomguard.serving.apikeys import SCOPES, create_key, verify_key

    out = renamed(output, out_old, "--output", "--out") or Path("var/local-api-key.txt")
    if str(out) == STDIO:
        raise FileArgumentError("--output: the local key must be kept in a file, not written to stdout (-)")
    check_output("--output", out)  # before a key is created that could not be saved
    store = _open(config, db_url, set_)
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
def store_migrate(config: ConfigOpt = DEFAULT_CONFIG, set_: SetOpt = None, db_url: DbUrlOpt = None) -> None:
    """Create or upgrade the database schema to the newest revision (the server also does this).

    Example: GROOMGUARD_STORE__URL=postgresql+psycopg://gg@db/gg groomguard store migrate
    """
    from groomguard.serving.store.db import current_revision, safe_url

    cfg = _store_config(config, db_url, set_)
    store = _open(config, db_url, set_)
    try:
        rev = current_revision(store.engine)
    finally:
        store.close()
    typer.echo(f"{safe_url(cfg.url)} is at schema revision {rev}")


@store_app.command("purge")
def store_purge(
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
    db_url: DbUrlOpt = None,
    dry_run: Annotated[bool, typer.Option(help="Only count what would be deleted.")] = False,
) -> None:
    """Apply retention now: delete idle conversation tails and decided cases past their keep period.

    Periods come from the config's `retention:` section (tail_inactive_days, decided_case_days).

    Example: groomguard store purge --dry-run --set retention.decided_case_days=30
    """
    from groomguard.progress import progress_bar
    from groomguard.serving.retention import purge

    retention = _retention_config(config, set_)
    store = _open(config, db_url, set_)
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
