"""Options shared by every command, so the CLI has one surface.

- files: ``-i/--input`` for the data a command reads, ``-o/--output`` for what it writes
  (``-`` = stdin/stdout where a stream makes sense);
- settings: ``--config`` (default: the packaged config, shown by ``groomguard config show``) and
  repeatable ``--set key=value`` on every config-driven command; GROOMGUARD_* environment variables
  in between (groomguard.config);
- choices: Literal types, so help lists them and the parser refuses other values;
- old spellings (``--out``, ``--out-dir``, ``evaluate --data`` ...) are hidden options that still
  work for one release and print a deprecation warning on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional, TypeVar

import typer

from groomguard.cli.console import err
from groomguard.errors import GroomguardError

V = TypeVar("V")

REMOVED_IN = "0.3"

Backend = Literal["onnxruntime", "triton"]
Variant = Literal["auto", "fp32", "fused", "int8", "fp16", "fused-fp16", "bf16"]
TritonProtocol = Literal["grpc", "http"]
LogLevel = Literal["debug", "info", "warning", "error"]

SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", help="Override a config value, dotted key=value (repeatable), e.g. --set engine.max_batch_size=8.")]


def _config_help(name: str) -> str:
    return (f"Config YAML merged over the packaged {name} (default: the packaged one; print it with "
            f"`groomguard config show {name.removesuffix('.yaml')}`).")


ServeConfigOpt = Annotated[Optional[Path], typer.Option("--config", help=_config_help("serve.yaml"))]
EvalConfigOpt = Annotated[Optional[Path], typer.Option("--config", help=_config_help("eval.yaml"))]
DataConfigOpt = Annotated[Optional[Path], typer.Option("--config", help=_config_help("data.yaml"))]
SynthConfigOpt = Annotated[Optional[Path], typer.Option("--config", help=_config_help("synth.yaml"))]
MixConfigOpt = Annotated[Optional[Path], typer.Option("--config", help=_config_help("mix-demo.yaml"))]
TritonConfigOpt = Annotated[Optional[Path], typer.Option("--config", help=_config_help("triton.yaml"))]


class UsageError(GroomguardError):
    """A flag combination the parser cannot express (a required flag given under its old name)."""


def old_flag(name: str, help_: str = "Deprecated spelling; see --help.") -> typer.models.OptionInfo:
    """A hidden option for an old spelling (kept one release)."""
    return typer.Option(name, hidden=True, help=help_)


def renamed(new_value: V | None, old_value: V | None, new: str, old: str) -> V | None:
    """The value of a renamed flag: the new one, or the old one with a warning on stderr."""
    if old_value is None or old_value is False:
        return new_value
    warn_deprecated(old, new)
    if new_value is not None and new_value is not False:
        raise UsageError(f"{new}: given twice (also as {old})")
    return old_value


def warn_deprecated(old: str, new: str) -> None:
    """One line on stderr: the old spelling still works until REMOVED_IN."""

    err.print(f"warning: {old} is deprecated and will be removed in {REMOVED_IN}; use {new}",
              markup=False, highlight=False, soft_wrap=True)


def required(value: V | None, flag: str) -> V:
    """A flag that is required but optional in the signature (so its old spelling can stand in)."""
    if value is None:
        raise UsageError(f"missing option {flag}")
    return value
