"""CSV/TSV with one message per row -> canonical conversations (streaming).

Column names come from `ColumnMap` (configs/data.yaml `csv.columns`). Rows of one conversation
must be contiguous (the file is then streamed with flat memory); `contiguous=False` accepts
interleaved rows by grouping the whole file in memory. Messages keep file order. Errors read
``file: row N: column: what is wrong`` where N counts data rows from 1 (the header is not a row).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path

from groomguard.errors import DataError
from groomguard.jsonl import ReadReport
from groomguard.schema import Conversation
from groomguard.training.loaders.config import ColumnMap, CsvOptions
from groomguard.training.loaders.progress import ByteCounter, LoadProgress
from groomguard.training.loaders.rows import Row, group_rows

# Chat messages can be long; the csv module's default 128 KiB field limit is not a data error.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def _delimiter(path: Path, options: CsvOptions) -> str:
    if options.delimiter is not None:
        return options.delimiter
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _check_header(path: Path, header: list[str] | None, cols: ColumnMap) -> None:
    if not header:
        raise DataError(f"{path}: empty file (no header row)")
    missing = [c for c in (cols.conversation_id, cols.author, cols.text) if c not in header]
    if missing:
        raise DataError(f"{path}: header: missing required column(s) {', '.join(missing)} (see csv.columns)")


def iter_csv(
    path: str | Path,
    *,
    options: CsvOptions | None = None,
    strict: bool = True,
    report: ReadReport | None = None,
    progress: LoadProgress | None = None,
) -> Iterator[Conversation]:
    """Yield conversations from a one-message-per-row CSV/TSV file."""
    path = Path(path)
    options = options or CsvOptions()
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if progress is not None:
        progress.total = path.stat().st_size
    with path.open("rb") as raw:
        counted = ByteCounter(raw, progress)
        text = io.TextIOWrapper(counted, encoding="utf-8-sig", newline="")  # type: ignore[arg-type,type-var]
        reader = csv.DictReader(text, delimiter=_delimiter(path, options))
        try:
            header = list(reader.fieldnames) if reader.fieldnames else None
        except UnicodeDecodeError:
            raise DataError(f"{path}: not UTF-8 text") from None
        _check_header(path, header, options.columns)
        report = report if report is not None else ReadReport()

        def rows() -> Iterator[tuple[str, Row]]:
            rowno = 0
            try:
                for row in reader:
                    rowno += 1
                    where = f"{path}: row {rowno}"
                    # DictReader files surplus cells under the key None and pads short rows with None.
                    if None in row or any(v is None for v in row.values()):
                        msg = f"{where}: row has {'more' if None in row else 'fewer'} cells than the header"
                        if strict:
                            raise DataError(msg)
                        report.add_error(msg)
                        continue
                    yield where, row
            except csv.Error as exc:
                raise DataError(f"{path}: row {rowno + 1}: malformed CSV ({exc})") from None
            except UnicodeDecodeError:
                raise DataError(f"{path}: row {rowno + 1}: not UTF-8 text") from None

        yield from group_rows(
            rows(), options.columns, strict=strict, report=report, contiguous=options.contiguous, source_name=str(path)
        )
