"""Group one-message-per-row records (CSV, flat HF datasets) into canonical conversations.

Shared by the CSV and Hugging Face loaders. Rows of one conversation must be contiguous for
streaming; a conversation id that reappears after another conversation started is an error
(`contiguous=False` groups the whole input in memory instead). Errors name the row and the field,
never a cell's value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from groomguard.errors import DataError
from groomguard.jsonl import ReadReport, describe_validation_error
from groomguard.schema import Conversation
from groomguard.training.loaders.config import ColumnMap

TRUE = {"1", "true", "yes", "y", "t"}
FALSE = {"0", "false", "no", "n", "f", ""}

Row = Mapping[str, Any]


def _cell(row: Row, column: str | None) -> str | None:
    """A cell as a stripped string; None when the column is unmapped, absent or empty."""
    if column is None or column not in row:
        return None
    value = row[column]
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _flag(value: str | None, what: str) -> bool | None:
    if value is None:
        return None
    low = value.lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise ValueError(f"{what}: expected 0/1/true/false")


@dataclass
class _Pending:
    """Rows of the conversation being assembled."""

    conversation_id: str
    where: str  # location of its first row, for errors about the whole conversation
    messages: list[dict[str, Any]] = field(default_factory=list)
    label: int | None = None
    predators: list[str] = field(default_factory=list)
    source: str | None = None
    lang: str | None = None
    error: str | None = None  # first row-level problem; the conversation is rejected at the end


def _parse_label(value: str | None) -> int | None:
    if value is None:
        return None
    if value in {"0", "1"}:
        return int(value)
    if value in {"0.0", "1.0"}:
        return int(float(value))
    raise ValueError("label: expected 0 or 1")


def _add_row(p: _Pending, row: Row, where: str, cols: ColumnMap) -> None:
    """Fold one row into `p`; the first problem is recorded with its location."""
    if p.error is not None:
        return
    try:
        author = _cell(row, cols.author)
        if author is None:
            raise ValueError(f"{cols.author}: missing author")
        text_value = row.get(cols.text)
        message: dict[str, Any] = {"author": author, "text": "" if text_value is None else str(text_value)}
        ts = _cell(row, cols.timestamp)
        if ts is not None:
            message["timestamp"] = ts
        mid = _cell(row, cols.message_id)
        if mid is not None:
            message["message_id"] = mid
        label = _parse_label(_cell(row, cols.label))
        if label is not None:
            if p.label is not None and p.label != label:
                raise ValueError(f"{cols.label}: conflicts with an earlier row of this conversation")
            p.label = label
        if _flag(_cell(row, cols.predator), str(cols.predator)) and author not in p.predators:
            p.predators.append(author)
        for attr, col in (("source", cols.source), ("lang", cols.lang)):
            val = _cell(row, col)
            if val is not None and getattr(p, attr) is None:
                setattr(p, attr, val)
        p.messages.append(message)
    except ValueError as exc:
        p.error = f"{where}: {exc}"


def _finish(p: _Pending) -> Conversation:
    if p.error is not None:
        raise DataError(p.error)
    try:
        conv = Conversation.model_validate(
            {
                "conversation_id": p.conversation_id,
                "messages": p.messages,
                "label": p.label,
                "predator_ids": p.predators,
                "source": p.source,
                "lang": p.lang,
            }
        )
    except ValidationError as exc:
        raise DataError(f"{p.where}: {describe_validation_error(exc)}") from None
    # Each message was validated too: a bad timestamp names the message index, not the value.
    return conv


def group_rows(
    rows: Iterable[tuple[str, Row]],
    cols: ColumnMap,
    *,
    strict: bool = True,
    report: ReadReport | None = None,
    contiguous: bool = True,
    source_name: str = "input",
) -> Iterator[Conversation]:
    """Yield conversations from ``(location, row)`` pairs in input order.

    With `contiguous` (the default) memory holds one conversation plus the set of finished ids; a
    reappearing id is a `DataError` (strict) or a skipped row (lenient). Without it every row is
    grouped in memory first (memory grows with the input) and conversations come out in order of
    first appearance.
    """
    report = report if report is not None else ReadReport()

    def emit(p: _Pending) -> Iterator[Conversation]:
        try:
            conv = _finish(p)
        except DataError as exc:
            if strict:
                raise
            report.add_error(str(exc))
            return
        report.read += 1
        yield conv

    if not contiguous:
        groups: dict[str, _Pending] = {}
        for where, row in rows:
            cid = _cell(row, cols.conversation_id)
            if cid is None:
                _row_error(f"{where}: {cols.conversation_id}: missing conversation id", strict, report)
                continue
            pending = groups.get(cid)
            if pending is None:
                pending = groups[cid] = _Pending(cid, where)
            _add_row(pending, row, where, cols)
        for pending in groups.values():
            yield from emit(pending)
        return

    done: set[str] = set()
    current: _Pending | None = None
    for where, row in rows:
        cid = _cell(row, cols.conversation_id)
        if cid is None:
            _row_error(f"{where}: {cols.conversation_id}: missing conversation id", strict, report)
            continue
        if current is None or cid != current.conversation_id:
            if current is not None:
                done.add(current.conversation_id)
                yield from emit(current)
            if cid in done:
                _row_error(
                    f"{where}: {cols.conversation_id}: rows of this conversation are not contiguous in "
                    f"{source_name}; sort the file by conversation or set csv.contiguous=false",
                    strict,
                    report,
                )
                current = None
                continue
            current = _Pending(cid, where)
        _add_row(current, row, where, cols)
    if current is not None:
        yield from emit(current)


def _row_error(message: str, strict: bool, report: ReadReport) -> None:
    if strict:
        raise DataError(message)
    report.add_error(message)
