"""Hugging Face `datasets` saved with `save_to_disk` -> canonical conversations.

Two layouts are accepted:
- nested (canonical): a `messages` column of lists of {author, text, ...} plus conversation
  fields; each row is one conversation, validated like a JSONL line;
- flat: one message per row, columns mapped by `ColumnMap` (configs/data.yaml `hf_columns`),
  grouped exactly like CSV rows (contiguous per conversation).

Arrow tables are memory-mapped and rows are read one at a time, so memory stays flat. A
`DatasetDict` is read split by split (`split` picks one). Errors read ``dir[split]: row N: field: ...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from groomguard.errors import DataError
from groomguard.jsonl import ReadReport, describe_validation_error
from groomguard.schema import Conversation
from groomguard.training.loaders.config import ColumnMap
from groomguard.training.loaders.progress import LoadProgress
from groomguard.training.loaders.rows import Row, group_rows

HF_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")


def is_hf_dir(path: Path) -> bool:
    return path.is_dir() and any((path / m).is_file() for m in HF_MARKERS)


def _drop_none(value: Any) -> Any:
    """Arrow fills absent struct fields with None; the schema wants them absent instead."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _nested(
    ds: Any, where: str, strict: bool, report: ReadReport, progress: LoadProgress | None
) -> Iterator[Conversation]:
    for i, row in enumerate(ds, start=1):
        if progress is not None:
            progress.done += 1
        try:
            conv = Conversation.model_validate(_drop_none(row))
        except ValidationError as exc:
            msg = f"{where}: row {i}: {describe_validation_error(exc)}"
            if strict:
                raise DataError(msg) from None
            report.add_error(msg)
            continue
        report.read += 1
        yield conv


def _flat_rows(ds: Any, where: str, progress: LoadProgress | None) -> Iterator[tuple[str, Row]]:
    for i, row in enumerate(ds, start=1):
        if progress is not None:
            progress.done += 1
        yield f"{where}: row {i}", row


def iter_hf(
    path: str | Path,
    *,
    columns: ColumnMap | None = None,
    split: str | None = None,
    strict: bool = True,
    report: ReadReport | None = None,
    progress: LoadProgress | None = None,
) -> Iterator[Conversation]:
    """Yield conversations from a dataset directory written by `Dataset(Dict).save_to_disk`."""
    from datasets import Dataset, DatasetDict, load_from_disk

    path = Path(path)
    if not is_hf_dir(path):
        raise DataError(f"{path}: not a Hugging Face dataset directory (no {' / '.join(HF_MARKERS)})")
    cols = columns or ColumnMap()
    rep = report if report is not None else ReadReport()
    loaded = load_from_disk(str(path))
    parts: list[tuple[str, Dataset]]
    if isinstance(loaded, DatasetDict):
        if split is not None:
            if split not in loaded:
                raise DataError(f"{path}: no split {split!r} (has {', '.join(sorted(loaded))})")
            parts = [(f"{path}[{split}]", loaded[split])]
        else:
            parts = [(f"{path}[{name}]", loaded[name]) for name in sorted(loaded)]
    else:
        parts = [(str(path), loaded)]
    if progress is not None:
        progress.unit = "rows"
        progress.total = sum(len(ds) for _, ds in parts)
    for where, ds in parts:
        names = set(ds.column_names)
        if "messages" in names:
            yield from _nested(ds, where, strict, rep, progress)
            continue
        missing = [c for c in (cols.conversation_id, cols.author, cols.text) if c not in names]
        if missing:
            raise DataError(
                f"{where}: neither a `messages` column (nested) nor the flat columns {', '.join(missing)} "
                "(see hf_columns in configs/data.yaml)"
            )
        yield from group_rows(_flat_rows(ds, where, progress), cols, strict=strict, report=rep, source_name=where)
