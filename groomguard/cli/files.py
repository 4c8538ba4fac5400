"""File arguments of the CLI: `-` for stdin/stdout, outputs checked before any work and written
atomically (a temporary file in the same directory, renamed over the target on success), so a
failed or interrupted command never leaves an empty or half-written output behind.

Errors name the flag that caused them (`--output: ... is a directory`), in one line (exit 2).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from groomguard.atomic import atomic_write
from groomguard.errors import GroomguardError

STDIO = "-"


class FileArgumentError(GroomguardError):
    """A file flag cannot be honoured; the message starts with the flag."""


def check_input(flag: str, path: Path) -> None:
    """An input must be `-` or an existing regular file."""
    if str(path) == STDIO:
        return
    if not path.exists():
        raise FileArgumentError(f"{flag}: {path}: no such file")
    if not path.is_file():
        raise FileArgumentError(f"{flag}: {path}: not a regular file")


def check_source(flag: str, path: Path) -> None:
    """A data input: `-`, an existing file, or an existing directory (a Hugging Face dataset)."""
    if str(path) != STDIO and not path.exists():
        raise FileArgumentError(f"{flag}: {path}: no such file or directory")


def check_text_input(flag: str, path: Path | None) -> None:
    """A small text input read whole (id lists, labels): exists and is UTF-8 (a BOM is fine)."""
    if path is None:
        return
    if str(path) == STDIO:
        raise FileArgumentError(f"{flag}: stdin (-) is not supported here; give a file")
    check_input(flag, path)
    try:
        path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise FileArgumentError(f"{flag}: {path}:{line}: not UTF-8 text (UTF-16 or a legacy encoding?); "
                                "re-save it as UTF-8") from None


def check_out_dir(flag: str, path: Path) -> None:
    """An output directory: an existing directory, or a path whose nearest existing ancestor is a
    writable directory (it is created when the work starts)."""
    if str(path) == STDIO:
        raise FileArgumentError(f"{flag}: writes several files, so it needs a directory, not -")
    if path.exists() and not path.is_dir():
        raise FileArgumentError(f"{flag}: {path} exists and is not a directory")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise FileArgumentError(f"{flag}: {probe} is not a directory, so {path} cannot be created")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise FileArgumentError(f"{flag}: {probe} is not writable")


def check_output(flag: str, path: Path) -> None:
    """An output must be `-` or a writable file path (not a directory; its parent creatable)."""
    if str(path) == STDIO:
        return
    if path.is_dir():
        raise FileArgumentError(f"{flag}: {path} is a directory; give a file path")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if path.exists() and not path.is_file():
        raise FileArgumentError(f"{flag}: {path} is not a regular file")
    if not parent.is_dir():
        raise FileArgumentError(f"{flag}: {parent} is not a directory, so {path} cannot be created")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FileArgumentError(f"{flag}: {parent} is not writable")


@contextlib.contextmanager
def spooled_stdin(path: Path) -> Iterator[Path]:
    """`path` itself, or for `-` a temporary copy of stdin (loaders need a file: some read it twice
    or by format-specific parsers). The copy is removed when the block ends."""
    if str(path) != STDIO:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="groomguard-") as tmp:
        copy = Path(tmp) / "stdin"  # errors then read `.../stdin:3: ...`
        with copy.open("wb") as fh:
            shutil.copyfileobj(sys.stdin.buffer, fh)
        yield copy


@contextlib.contextmanager
def atomic_output(path: Path, mode: int | None = None) -> Iterator[IO[str]]:
    """`atomic_write` (groomguard/atomic.py) for a file flag: stdout for `-`, else `path` replaced
    only on success with permission bits `mode` (default: what the umask gives a new file)."""
    if str(path) == STDIO:
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_write(path, mode) as fh:
        yield fh
