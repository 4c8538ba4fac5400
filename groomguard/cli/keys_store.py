"""`groomguard keys ...` (API keys) and `groomguard store ...` (migrations, backup/restore, retention purge).

Both act on the store configured in the serve config's `store:` section (default
`sqlite:///var/groomguard.db`, relative to the working directory); GROOMGUARD_STORE__URL, `--set
store.url=...` and `--db-url` override it, in that order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from groomguard.cli.options import ServeConfigOpt, SetOpt, old_flag, renamed

if TYPE_CHECKING:
    from groomguard.serving.store import RetentionConfig, Store, StoreConfig

keys_app = typer.Typer(help="Create, list and revoke API keys (stored hashed; shown once).", no_args_is_help=True,
                       rich_markup_mode=None)
store_app = typer.Typer(help="Database maintenance: schema migrations, backup and restore, the retention purge.",
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


@contextmanager
def opened_store(config: Path | None, db_url: str | None, sets: list[str] | None = None) -> Iterator[Store]:
    """The store the command's options name (serve.yaml's `store:` by default), closed when the block ends."""
    from groomguard.serving.store import open_store

    store = open_store(_store_config(config, db_url, sets))
    try:
        yield store
    finally:
        store.close()


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

    with opened_store(config, db_url, set_) as store:
        info, plaintext = create_key(store, name, set(scope))
    typer.echo(f"created key {info.key_id} '{info.name}' with scopes {','.join(sorted(info.scopes))}; "
               f"it is shown only now:")
    typer.echo(plaintext)


@keys_app.command("list")
def keys_list(config: ConfigOpt = DEFAULT_CONFIG, set_: SetOpt = None, db_url: DbUrlOpt = None) -> None:
    """List keys (id, name, scopes, created, revoked). Secrets are never shown.

    Example: GROOMGUARD_STORE__URL=sqlite:///var/groomguard.db groomguard keys list
    """
    from groomguard.serving.apikeys import list_keys

    with opened_store(config, db_url, set_) as store:
        keys = list_keys(store)
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

    with opened_store(config, db_url, set_) as store:
        info = revoke_key(store, key_id)
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
    with opened_store(config, db_url, set_) as store:
        if out.is_file():
            existing = out.read_text(encoding="utf-8").strip()
            if existing and verify_key(store, existing) is not None:
                typer.echo(f"local API key is in {out}")
                return
        info, plaintext = create_key(store, "local", set(SCOPES), local=True)
    with atomic_output(out, mode=0o600) as fh:  # never a truncated key file; private from the first byte
        fh.write(plaintext + "\n")
    typer.echo(f"created local API key {info.key_id} (all scopes), saved to {out}; it is shown only now:")
    typer.echo(plaintext)


@store_app.command("migrate")
def store_migrate(
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
    db_url: DbUrlOpt = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Change nothing: exit 0 when the schema is at this release's newest revision, 1 (with "
                        "one line saying which) when a migration is pending or the database is unknown.")] = False,
) -> None:
    """Create or upgrade the database schema to the newest revision (the server also does this).

    Run --check before an upgrade (is a migration pending?) and after it (did it apply?). Back up
    first (groomguard store backup); docs/operations.md has the whole procedure.

    Example: GROOMGUARD_STORE__URL=postgresql+psycopg://gg@db/gg groomguard store migrate --check
    """
    from groomguard.serving.store.db import current_revision, safe_url

    cfg = _store_config(config, db_url, set_)
    if check:
        _check_schema(cfg)
        return
    with opened_store(config, db_url, set_) as store:
        rev = current_revision(store.engine)
    typer.echo(f"{safe_url(cfg.url)} is at schema revision {rev}")


def _check_schema(cfg: StoreConfig) -> None:
    """`store migrate --check`: read the revision without migrating (nor creating a SQLite file)."""
    from sqlalchemy.engine import make_url

    from groomguard.serving.store.db import head_revision, known_revisions, safe_url, stored_revision

    where = safe_url(cfg.url)
    url = make_url(cfg.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not Path(url.database).expanduser().is_file():
        typer.echo(f"migration pending: no database at {url.database} yet (groomguard store migrate creates it)",
                   err=True)
        raise typer.Exit(1)
    current = stored_revision(cfg)
    head = head_revision()
    if current == head:
        typer.echo(f"{where} is at the newest schema revision {head}: no migration pending")
        return
    if current is not None and current not in known_revisions():
        typer.echo(f"{where} is at schema revision {current}, which this release does not know (written by a "
                   f"newer release?); this release's newest is {head}", err=True)
        raise typer.Exit(1)
    typer.echo(f"migration pending: {where} is at schema revision {current or 'none (empty)'}, this release "
               f"needs {head}; run groomguard store migrate", err=True)
    raise typer.Exit(1)


@store_app.command("backup")
def store_backup(
    output: Annotated[Path, typer.Option("--output", "-o", show_default=False,
                                         help="Backup file to write (replaced only when complete). SQLite: a "
                                              "database file; PostgreSQL: a pg_dump custom-format archive.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
    db_url: DbUrlOpt = None,
) -> None:
    """Copy the whole store (cases, decisions, audit log, API keys, desk users, conversation state)
    to one file, while the server keeps running.

    SQLite uses its online backup API (one consistent snapshot; writers are not stopped).
    PostgreSQL runs pg_dump --format=custom, which must be on PATH (postgresql-client, the server's
    major version or newer). Keep backups off the database's disk, and try a restore now and then.

    Example: groomguard store backup -o backups/groomguard-$(date +%F).db
    """
    from groomguard.cli.files import STDIO, FileArgumentError, check_output
    from groomguard.serving.store.backup import backup

    if str(output) == STDIO:
        raise FileArgumentError("--output: a backup is binary; give a file path, not -")
    check_output("--output", output)
    result = backup(_store_config(config, db_url, set_), output)
    typer.echo(f"backed up the {result.dialect} store (schema revision {result.revision}) to {result.path} "
               f"({result.size_bytes:,} bytes)")


@store_app.command("restore")
def store_restore(
    input_: Annotated[Path, typer.Option("--input", "-i", show_default=False,
                                         help="A file written by groomguard store backup.")],
    force: Annotated[bool, typer.Option("--force", help="Replace the contents of a store that is not empty "
                                                        "(without it, such a store is refused).")] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
    db_url: DbUrlOpt = None,
) -> None:
    """Load a backup into an empty store, then upgrade its schema to this release's newest revision.

    Stop the server first. The target is the configured store (--db-url / GROOMGUARD_STORE__URL):
    a new SQLite path or a freshly created PostgreSQL database (pg_restore must be on PATH). A store
    that already holds rows is refused unless --force is given.

    Example: groomguard store restore -i backups/groomguard-2026-12-01.db --db-url sqlite:///var/groomguard.db
    """
    from groomguard.cli.files import check_input
    from groomguard.serving.store.backup import restore
    from groomguard.serving.store.db import safe_url

    check_input("--input", input_)
    cfg = _store_config(config, db_url, set_)
    result = restore(cfg, input_, force=force)
    typer.echo(f"restored {input_} into {safe_url(cfg.url)}: {result.rows:,} rows, schema revision "
               f"{result.backup_revision} -> {result.revision}")


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
    with opened_store(config, db_url, set_) as store, progress_bar() as bar:
        task = bar.add_task("purging expired state", total=None)
        result = purge(store, retention, dry_run=dry_run)
        bar.update(task, total=1, completed=1)
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} {result.conversations} idle conversation(s) (> {retention.tail_inactive_days:g} days) and "
               f"{result.cases} decided case(s) (> {retention.decided_case_days:g} days)")
