"""YAML configuration with dotted `--set key=value` overrides.

Defaults live in `configs/*.yaml`; code reads them through `load_config` and validates them with
the pydantic model of the component that owns them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from groomguard.errors import ConfigError

T = TypeVar("T", bound=BaseModel)

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def default_config_path(name: str) -> Path:
    """Path of a shipped default config, e.g. ``default_config_path("serve.yaml")``."""
    return CONFIG_DIR / name


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}  # a BOM (Windows editors) is fine
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (UTF-16 or a legacy encoding?); re-save it as UTF-8") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return data


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides; values are parsed as YAML scalars (``3``, ``true``, ``[1,2]``)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value")
        key, raw = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ConfigError(f"override {item!r} has an empty key")
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {key}: {part} is not a section")
            node = child
        try:
            node[parts[-1]] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"override {key}: value is not valid YAML") from None
    return data


def validate_config(model: type[T], data: dict[str, Any], source: str) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{source}: {loc}: {first['msg']}") from None


def load_config(model: type[T], path: str | Path, overrides: Iterable[str] = ()) -> T:
    """Read YAML at `path`, apply overrides, validate into `model`."""
    data = apply_overrides(read_yaml(path), overrides)
    return validate_config(model, data, str(path))
