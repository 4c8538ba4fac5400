"""`groomguard config show|init`: the packaged default configs, to read or to copy for editing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

config_app = typer.Typer(help="The packaged default configs: print one, or copy them for editing.",
                         no_args_is_help=True, rich_markup_mode=None)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("show", no_args_is_help=True)
def show(
    name: Annotated[str, typer.Argument(help="Config name: serve, eval, data, synth, mix-demo, train-demo, "
                                             "train-full, train-e5, train-test or triton (.yaml optional).")],
) -> None:
    """Print a packaged default config (the values a command uses when no --config is given).

    Example: groomguard config show serve > my-serve.yaml
    """
    from groomguard.config import packaged_config_text

    typer.echo(packaged_config_text(name), nl=False)


@config_app.command("init")
def init(
    directory: Annotated[Optional[Path], typer.Argument(show_default=False, help="Directory to copy into "
                                                        "(same as --output).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", show_default=False,
                                                   help="Directory to copy into (default: ./configs).")] = None,
    name: Annotated[Optional[list[str]], typer.Option("--name", "-n", help="Copy only these configs "
                                                      "(repeatable; default: all).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite files that already exist.")] = False,
) -> None:
    """Copy the packaged default configs into a directory for editing; pass the copy with --config.

    An edited file only needs the keys it changes: it is merged over the packaged default. Relative
    paths inside a config resolve against the working directory.

    Example: groomguard config init -o my-configs -n serve && groomguard serve --config my-configs/serve.yaml
    """
    from groomguard.cli.files import check_out_dir
    from groomguard.cli.options import UsageError
    from groomguard.config import packaged_config_name, packaged_config_text, packaged_configs
    from groomguard.errors import ConfigError

    if directory is not None and output is not None:
        raise UsageError("give the directory once: DIRECTORY or --output")
    target = directory or output or Path("configs")
    check_out_dir("--output", target)
    names = []
    for n in name or packaged_configs():
        found = packaged_config_name(n)
        if found is None:
            raise ConfigError(f"--name: {n}: no such packaged config (have: {', '.join(packaged_configs())})")
        names.append(found)
    existing = [n for n in names if (target / n).exists()]
    if existing and not force:
        raise ConfigError(f"--output: {target / existing[0]} exists; pass --force to overwrite")
    target.mkdir(parents=True, exist_ok=True)
    for n in names:
        (target / n).write_text(packaged_config_text(n), encoding="utf-8")
    typer.echo(f"wrote {len(names)} config(s) to {target}: {', '.join(names)}")
