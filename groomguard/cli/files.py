"""File arguments of the CLI: `-` for stdin/stdout, outputs checked before any work and written
atomically (a temporary file in the same directory, renamed over the target on success), so a
failed or interrupted command never leaves an empty or half-written output behind.

Errors name the flag that caused them (`--output: ... is a directory`), in one line (exit 2).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

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


def check_output(flag: str, path: Path) -> None:
    """An output must be `-` or a writable file path (not a directory; its parent creatable)."""
    if str(path) == STDIO:
        return
    if path.is_dir():
        raise FileArgumentError(f"{flag}: {path} is a directory; give a file path")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise FileArgumentError(f"{flag}: {parent} is not a directory, so {path} cannot be created")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FileArgumentError(f"{flag}: {parent} is not writable")


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[IO[str]]:
    """A UTF-8 text stream for `path` (stdout for `-`) that replaces `path` only on success."""
    if str(path) == STDIO:
        yield sys.stdout
        sys.stdout.flush()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
