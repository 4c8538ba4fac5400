"""`groomguard users ...`: accounts for the moderator desk (people; machines use API keys).

Acts on the store of the serve config (`--db-url` overrides); the `desk:` section gives the password
length rule and the blur default. Passwords are read from stdin only (never a flag: flags end up in
shell history and process lists).
"""

from __future__ import annotations

import sys
from typing import Annotated, Literal

import typer

from groomguard.cli.keys_store import DEFAULT_CONFIG, ConfigOpt, DbUrlOpt, opened_store
from groomguard.cli.options import SetOpt

users_app = typer.Typer(help="Moderator desk accounts: create, list, disable, set-password.", no_args_is_help=True,
                        rich_markup_mode=None)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


def _read_password(password_stdin: bool) -> str:
    """The password from stdin's first line, or typed without echo at a terminal; never from a flag
    (flags end up in shell history and in `ps`)."""
    from groomguard.errors import ConfigError

    if not password_stdin:
        raise ConfigError("give the password on stdin with --password-stdin")
    if sys.stdin.isatty():  # typed at a terminal: do not echo it
        import getpass

        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\r\n")


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Option("--name", "-n", help="Login name (letters, digits, . _ -).")],
    role: Annotated[Literal["moderator", "lead", "admin"], typer.Option(help="What the account may do on the desk.")] = "moderator",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin "
                                                  "(first line).")] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
    db_url: DbUrlOpt = None,
) -> None:
    """Create an account; the password is read from stdin (never a flag).

    Example: printf '%s\\n' "$PW" | groomguard users create --name ana --role lead --password-stdin
    """
    from groomguard.config import load_config
    from groomguard.serving.desk.config import DeskConfig
    from groomguard.serving.desk.users import create_user

    password = _read_password(password_stdin)
    desk = load_config(DeskConfig, config, set_ or [], default="serve.yaml", section="desk")
    with opened_store(config, db_url, set_) as store:
        user = create_user(store, name, role, password, desk)
    typer.echo(f"created {user.role} account '{user.name}'; log in at /review/login")


@users_app.command("list")
def users_list(config: ConfigOpt = DEFAULT_CONFIG, set_: SetOpt = None, db_url: DbUrlOpt = None) -> None:
    """List accounts (name, role, created, disabled, locked). Password hashes are never shown.

    Example: groomguard users list --db-url sqlite:///var/groomguard.db
    """
    from groomguard.serving.desk.users import list_users

    with opened_store(config, db_url, set_) as store:
        users = list_users(store)
    if not users:
        typer.echo("no accounts (create one with `groomguard users create`)")
        return
    typer.echo(f"{'NAME':<24}{'ROLE':<11}{'CREATED (UTC)':<21}{'DISABLED (UTC)':<21}LOCKED UNTIL (UTC)")
    fmt = "%Y-%m-%d %H:%M:%S"
    for u in users:
        disabled = u.disabled_at.strftime(fmt) if u.disabled_at else "-"
        locked = u.locked_until.strftime(fmt) if u.locked_until else "-"
        typer.echo(f"{u.name[:23]:<24}{u.role:<11}{u.created_at.strftime(fmt):<21}{disabled:<21}{locked}")


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="Account to disable; its sessions end at once.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
    db_url: DbUrlOpt = None,
) -> None:
    """Disable an account (kept for the audit trail; it can no longer log in).

    Example: groomguard users disable ana
    """
    from groomguard.serving.desk.users import disable_user

    with opened_store(config, db_url, set_) as store:
        user = disable_user(store, name)
    typer.echo(f"disabled account '{user.name}'")


@users_app.command("set-password")
def users_set_password(
    name: Annotated[str, typer.Argument(help="Account whose password to replace; its sessions end at once.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the new password from stdin "
                                                  "(first line).")] = False,
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
    db_url: DbUrlOpt = None,
) -> None:
    """Replace an account's password, end all its sessions and clear its lockout (issue 26: a session
    obtained with the old password must not outlive it).

    Example: printf '%s\\n' "$PW" | groomguard users set-password ana --password-stdin
    """
    from groomguard.config import load_config
    from groomguard.serving.desk.config import DeskConfig
    from groomguard.serving.desk.users import set_password

    password = _read_password(password_stdin)
    desk = load_config(DeskConfig, config, set_ or [], default="serve.yaml", section="desk")
    with opened_store(config, db_url, set_) as store:
        ended = set_password(store, name, password, desk)
    typer.echo(f"new password for '{name}'; {ended} session(s) ended")
