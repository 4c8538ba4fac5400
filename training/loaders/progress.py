"""How far a streaming load has got, for progress bars (bytes for files, rows for datasets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO


@dataclass
class LoadProgress:
    """Updated by loaders as they read; `total` is None when the size is unknown (e.g. JSONL)."""

    done: int = 0
    total: int | None = None
    unit: str = "bytes"


class ByteCounter:
    """A read-only binary file wrapper that adds the bytes read to a `LoadProgress`."""

    def __init__(self, raw: IO[bytes], progress: LoadProgress | None) -> None:
        self._raw = raw
        self._progress = progress

    def _count(self, data: bytes) -> bytes:
        if self._progress is not None:
            self._progress.done += len(data)
        return data

    def read(self, size: int = -1) -> bytes:
        return self._count(self._raw.read(size))

    def read1(self, size: int = -1) -> bytes:
        return self._count(self._raw.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self._count(self._raw.readline(size))

    def readinto(self, buffer: bytearray | memoryview) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if self._progress is not None and n:
            self._progress.done += n
        return n

    # The io.TextIOWrapper protocol.
    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return self._raw.closed

    def close(self) -> None:
        self._raw.close()

    def flush(self) -> None:
        return None
