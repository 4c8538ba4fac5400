"""Atomic file output: a temporary file in the target's directory, renamed over it on success.

A failed or interrupted writer never leaves an empty or half-written file behind, and a reader
never sees one. Used by the CLI's `-o` outputs and by serving's batch jobs (backfill shards and
manifests), which is why it lives in the contract rather than in the CLI.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextlib.contextmanager
def atomic_write(path: Path, mode: int | None = None) -> Iterator[IO[str]]:
    """A UTF-8 text stream that replaces `path` only when the block ends without an error.
    `mode`: the file's permission bits (default: what the umask gives a new file; the temporary
    file itself is private until it is complete)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
