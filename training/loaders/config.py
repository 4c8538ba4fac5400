"""Settings of the data commands (`configs/data.yaml`): CSV/HF column mapping and split defaults.

Defaults live in the YAML file; these pydantic models validate it and give code typed access.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from groomguard.config import load_config


class ColumnMap(BaseModel):
    """Which column holds which field, for one-message-per-row sources (CSV, flat HF datasets).

    `label`, `predator`, `source` and `lang` are optional: ``null`` (or a column the file lacks) means
    "not present". `predator` is a per-row flag (1/true/yes) marking that row's author as a predator.
    """

    model_config = ConfigDict(extra="forbid")

    conversation_id: str = "conversation_id"
    author: str = "author"
    text: str = "text"
    timestamp: str | None = "timestamp"
    message_id: str | None = "message_id"
    label: str | None = "label"
    predator: str | None = "predator"
    source: str | None = "source"
    lang: str | None = "lang"


class CsvOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: ColumnMap = Field(default_factory=ColumnMap)
    delimiter: str | None = None  # None: "," for .csv, tab for .tsv
    # True: rows of one conversation are contiguous and the file is streamed (flat memory).
    # False: rows may be interleaved; all rows are held in memory, grouped by conversation_id.
    contiguous: bool = True

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str | None) -> str | None:
        if v is not None and len(v) != 1:
            raise ValueError("delimiter must be a single character")
        return v


class Ratios(BaseModel):
    model_config = ConfigDict(extra="forbid")

    train: float = Field(default=0.8, ge=0.0, le=1.0)
    val: float = Field(default=0.1, ge=0.0, le=1.0)
    test: float = Field(default=0.1, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _sum_to_one(self) -> Ratios:
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"ratios must sum to 1 (they sum to {total:g})")
        return self

    @classmethod
    def parse(cls, text: str) -> Ratios:
        """``"0.8,0.1,0.1"`` -> Ratios (train, val, test)."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 3:
            raise ValueError("ratios must be three numbers: train,val,test")
        train, val, test = (float(p) for p in parts)
        return cls(train=train, val=val, test=test)

    def as_dict(self) -> dict[str, float]:
        return {"train": self.train, "val": self.val, "test": self.test}


class SplitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: Literal["author", "conversation"] = "author"
    seed: int = 7
    ratios: Ratios = Field(default_factory=Ratios)
    # Author split refuses to run when one connected component holds more than this share of the
    # conversations: handles are then not globally unique (e.g. synthetic "u1") and the split is useless.
    max_component_fraction: float = Field(default=0.5, gt=0.0, le=1.0)


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    csv: CsvOptions = Field(default_factory=CsvOptions)
    hf_columns: ColumnMap = Field(default_factory=ColumnMap)
    hf_split: str | None = None  # DatasetDict split to read; None reads every split in name order
    split: SplitConfig = Field(default_factory=SplitConfig)


DEFAULT_DATA_CONFIG = "data.yaml"


def load_data_config(path: str | Path | None = None, overrides: list[str] | None = None) -> DataConfig:
    """Read `configs/data.yaml` (or `path`) with dotted overrides."""
    return load_config(DataConfig, path, overrides or [], default=DEFAULT_DATA_CONFIG)
