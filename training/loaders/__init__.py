"""Data loaders: every supported format -> streaming `Conversation`s (docs/design.md "Conversation").

`load(path, fmt=None, ...)` is the one entry point; the format is guessed from the path when not
given (``.jsonl``/``.ndjson`` -> jsonl, ``.csv``/``.tsv`` -> csv, ``.xml`` -> pan12, a directory
written by `datasets.save_to_disk` -> hf); ``chitchat`` (the real benign chit-chat corpus) is always
named explicitly and defaults to the installed `chitchat-dataset` package's file.
All loaders are generators; bad input is reported as ``file:line: field: what is wrong``
(``file: row N`` for tabular data) and never quotes message text.
Strict mode raises `DataError` at the first problem; lenient mode skips and counts in a `ReadReport`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal, cast

from groomguard.errors import DataError
from groomguard.jsonl import ReadReport, iter_jsonl
from groomguard.schema import Conversation
from groomguard.training.loaders.chitchat import iter_chitchat
from groomguard.training.loaders.config import ColumnMap, CsvOptions, DataConfig, load_data_config
from groomguard.training.loaders.csvfile import iter_csv
from groomguard.training.loaders.hf import is_hf_dir, iter_hf
from groomguard.training.loaders.pan12 import iter_pan12, read_predator_ids, read_problem2
from groomguard.training.loaders.progress import LoadProgress

Format = Literal["jsonl", "csv", "pan12", "hf", "chitchat"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv", "pan12", "hf", "chitchat")
_SUFFIXES: dict[str, Format] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
                                ".tsv": "csv", ".xml": "pan12"}

__all__ = [
    "FORMATS",
    "ColumnMap",
    "CsvOptions",
    "DataConfig",
    "Format",
    "LoadProgress",
    "ReadReport",
    "guess_format",
    "iter_chitchat",
    "iter_csv",
    "iter_hf",
    "iter_jsonl",
    "iter_pan12",
    "load",
    "load_data_config",
    "read_predator_ids",
    "read_problem2",
]


def guess_format(path: str | Path) -> Format:
    """The format implied by `path`; a `DataError` says how to choose when it cannot be guessed."""
    path = Path(path)
    if path.is_dir():
        if is_hf_dir(path):
            return "hf"
        raise DataError(f"{path}: directory is not a Hugging Face dataset saved with save_to_disk")
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        if not path.exists():
            raise DataError(f"{path}: file not found")
        raise DataError(f"{path}: cannot tell the format from the name; pass --format ({'|'.join(FORMATS)})")
    return fmt


def load(
    path: str | Path | None,
    fmt: str | None = None,
    *,
    strict: bool = True,
    report: ReadReport | None = None,
    config: DataConfig | None = None,
    predators: str | Path | set[str] | None = None,
    problem2: str | Path | dict[str, set[str]] | None = None,
    progress: LoadProgress | None = None,
) -> Iterator[Conversation]:
    """Stream conversations from `path` in format `fmt` (guessed when None).

    `config` supplies CSV/HF column mappings (default: configs/data.yaml). `predators` and
    `problem2` (paths or already-read values) apply to PAN12 only.
    """
    if path is None and fmt != "chitchat":
        raise DataError("--input is required (only --format chitchat has a default input)")
    fmt = fmt or guess_format(path)  # type: ignore[arg-type]
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt != "pan12" and (predators is not None or problem2 is not None):
        raise DataError("--predators/--problem2 apply to the pan12 format only")
    cfg = config or DataConfig()
    report = report if report is not None else ReadReport()
    if fmt == "chitchat":
        return iter_chitchat(path, strict=strict, report=report, progress=progress)
    assert path is not None
    if fmt == "jsonl":
        return iter_jsonl(path, strict=strict, report=report)
    if fmt == "csv":
        return iter_csv(path, options=cfg.csv, strict=strict, report=report, progress=progress)
    if fmt == "hf":
        return iter_hf(path, columns=cfg.hf_columns, split=cfg.hf_split, strict=strict, report=report,
                       progress=progress)
    preds = read_predator_ids(predators) if isinstance(predators, (str, Path)) else predators
    marks = read_problem2(problem2) if isinstance(problem2, (str, Path)) else problem2
    return iter_pan12(path, predators=cast("set[str] | None", preds), problem2=marks, strict=strict,
                      report=report, progress=progress)
