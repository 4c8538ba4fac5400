"""Streaming read/write of canonical conversation JSONL.

Reading never holds the whole file: it yields one `Conversation` per line. A malformed line is
reported as ``file:line: field: what is wrong`` (never the offending text, which may be chat
content). In strict mode the first bad line raises; in lenient mode bad lines are skipped and
counted in a `ReadReport` so nothing already accepted is lost.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from groomguard.errors import DataError
from groomguard.schema import Conversation

MAX_REPORTED_ERRORS = 20


@dataclass
class ReadReport:
    """What a lenient read skipped. `errors` keeps the first few messages for display."""

    read: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def add_error(self, message: str) -> None:
        self.skipped += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(message)


def describe_validation_error(exc: ValidationError) -> str:
    """Field path + reason for each problem; deliberately omits the input values."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(record)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_line(line: str, where: str) -> Conversation:
    """Parse one JSONL line; `where` is ``file:line`` for the error message."""
    try:
        return Conversation.model_validate_json(line)
    except ValidationError as exc:
        # model_validate_json reports JSON syntax errors as a ValidationError of type json_invalid.
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            try:
                json.loads(line)
            except json.JSONDecodeError as jexc:
                raise DataError(f"{where}: invalid JSON ({jexc.msg} at column {jexc.colno})") from None
        raise DataError(f"{where}: {describe_validation_error(exc)}") from None


def iter_jsonl(
    path: str | Path, *, strict: bool = True, report: ReadReport | None = None
) -> Iterator[Conversation]:
    """Yield conversations from a JSONL file (`-`: stdin), streaming. Blank lines are ignored.

    UTF-8 only, a leading byte-order mark tolerated; any other encoding (UTF-16, Latin-1) is a
    DataError naming the file and line, not a traceback."""
    path = Path(path)
    if str(path) == "-":
        yield from _iter_lines(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig"), "<stdin>", strict,
                               report if report is not None else ReadReport())
        return
    if not path.exists():
        raise DataError(f"{path}: file not found")
    with path.open("r", encoding="utf-8-sig") as fh:
        yield from _iter_lines(fh, str(path), strict, report if report is not None else ReadReport())


def _iter_lines(fh: IO[str], name: str, strict: bool, report: ReadReport) -> Iterator[Conversation]:
    lineno = 0
    try:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                conv = parse_line(line, f"{name}:{lineno}")
            except DataError as exc:
                if strict:
                    raise
                report.add_error(str(exc))
                continue
            report.read += 1
            yield conv
    except UnicodeDecodeError:
        raise DataError(f"{name}:{lineno + 1}: not UTF-8 text (UTF-16 or a legacy encoding?); "
                        "re-save the file as UTF-8") from None


def dump_line(conv: Conversation) -> str:
    """One canonical JSONL line (no trailing newline); unset optional fields are omitted."""
    return conv.model_dump_json(exclude_none=True)


def write_jsonl(path: str | Path, conversations: Iterable[Conversation]) -> int:
    """Write conversations to `path` (parent directories created); returns the count written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        return write_jsonl_to(fh, conversations)


def write_jsonl_to(fh: IO[str], conversations: Iterable[Conversation]) -> int:
    n = 0
    for conv in conversations:
        fh.write(dump_line(conv))
        fh.write("\n")
        n += 1
    return n
