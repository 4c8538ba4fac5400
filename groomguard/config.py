"""Layered YAML configuration: packaged default < config file < GROOMGUARD_* environment < flags.

The default configs ship inside the package (`groomguard.configs`, the repository's `configs/`
directory) and are read with `importlib.resources`, so an installed wheel finds them anywhere.
`load_config` is the one place that layers settings for every config-driven command:

1. the packaged default (e.g. ``serve.yaml``), when the command has one;
2. the `--config` file, deep-merged over it (a partial file changes only what it names);
3. environment variables ``GROOMGUARD_<KEY>[__<SUBKEY>...]`` (``GROOMGUARD_STORE__URL`` sets
   ``store.url``), the pydantic-settings convention: prefix ``GROOMGUARD_``, ``__`` between levels,
   case-insensitive; a variable applies only where its first key is a top-level key of the config
   being loaded (so ``GROOMGUARD_TEST_POSTGRES_URL`` configures nothing). Values are strings that
   pydantic converts (``3``, ``true``); one starting with ``[`` or ``{`` is parsed as JSON;
4. ``--set a.b=value`` overrides (values YAML-parsed), then the command's own flags.

The environment layer follows pydantic-settings' conventions but is implemented here (no extra
dependency): the models are plain pydantic models validated from YAML, sometimes one section at a
time, and the variables must slot in between the file and the flags for every command alike.

Relative paths inside a config (data files, output directories, ``sqlite:///var/...``) resolve
against the working directory, never against the config file: the same config means the same
files whether it is the packaged copy or an edited one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from groomguard.errors import ConfigError

T = TypeVar("T", bound=BaseModel)

CONFIG_PACKAGE = "groomguard.configs"
ENV_PREFIX = "GROOMGUARD_"
ENV_DELIMITER = "__"


def packaged_configs() -> list[str]:
    """File names of the shipped default configs, e.g. ``["data.yaml", ..., "triton.yaml"]``."""
    return sorted(p.name for p in resources.files(CONFIG_PACKAGE).iterdir() if p.name.endswith(".yaml"))


def packaged_config_name(name: str) -> str | None:
    """The shipped config `name` refers to (``serve``, ``serve.yaml`` or ``configs/serve.yaml``), or None."""
    base = name.replace("\\", "/")
    base = base[len("configs/"):] if base.startswith("configs/") else base
    if "/" in base:
        return None
    if not base.endswith(".yaml"):
        base += ".yaml"
    return base if base in packaged_configs() else None


def packaged_config_text(name: str) -> str:
    """Text of a shipped config (`name` as accepted by `packaged_config_name`)."""
    found = packaged_config_name(name)
    if found is None:
        raise ConfigError(f"{name}: no such packaged config (have: {', '.join(packaged_configs())})")
    return resources.files(CONFIG_PACKAGE).joinpath(found).read_text(encoding="utf-8")


def default_config_path(name: str) -> Path:
    """Filesystem path of a shipped default config, e.g. ``default_config_path("serve.yaml")``
    (package directories are plain directories in wheels and editable installs alike)."""
    return Path(str(resources.files(CONFIG_PACKAGE).joinpath(name)))


def resolve_config_path(path: str | Path) -> Path:
    """A `--config` value as a file: an existing file as given; otherwise a packaged config's name
    (``train-demo.yaml``, ``configs/train-demo.yaml``) means the packaged copy, so documented
    commands work outside the repository; anything else is an error naming the path."""
    p = Path(path)
    if p.is_file():
        return p
    name = packaged_config_name(str(path))
    if name is not None and not p.exists():
        return default_config_path(name)
    raise ConfigError(f"{path}: config file not found")


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


EXTENDS_KEY = "extends"
_MAX_EXTENDS = 8


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A config file with its `extends:` chain resolved: `extends: train-demo.yaml` (relative to the
    file's folder, else the packaged config of that name) reads that file first and merges this one
    over it, so a variant recipe (configs/train-full.yaml) states only what differs and cannot drift
    from the one it extends."""
    chain: list[dict[str, Any]] = []
    seen: list[Path] = []
    current = Path(path)
    while True:
        if current.resolve() in seen:
            raise ConfigError(f"{path}: extends loops back to {current}")
        if len(seen) >= _MAX_EXTENDS:
            raise ConfigError(f"{path}: more than {_MAX_EXTENDS} files in its extends chain")
        seen.append(current.resolve())
        data = read_yaml(current)
        parent = data.pop(EXTENDS_KEY, None)
        chain.append(data)
        if parent is None:
            break
        if not isinstance(parent, str) or not parent:
            raise ConfigError(f"{current}: {EXTENDS_KEY} must name a config file")
        # beside the file first; else a packaged config of that name (as --config resolves it), so a
        # recipe copied alone by `groomguard config init -n train-full` still finds the demo it extends
        sibling, packaged = current.parent / parent, packaged_config_name(parent)
        current = default_config_path(packaged) if packaged and not sibling.is_file() else sibling
    merged: dict[str, Any] = {}
    for layer in reversed(chain):
        deep_merge(merged, layer)
    return merged


def deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """`top` over `base`, section by section (mappings merge; lists and scalars replace)."""
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def set_dotted(data: dict[str, Any], parts: list[str], value: Any, label: str) -> None:
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"{label}: {part} is not a section")
        node = child
    node[parts[-1]] = value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides; values are parsed as YAML scalars (``3``, ``true``, ``[1,2]``)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value")
        key, raw = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ConfigError(f"override {item!r} has an empty key")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"override {key}: value is not valid YAML") from None
        set_dotted(data, parts, value, f"override {key}")
    return data


def env_settings(keys: Iterable[str], environ: Mapping[str, str] | None = None) -> list[tuple[str, list[str], Any]]:
    """``(variable, dotted key parts, value)`` for each GROOMGUARD_* variable whose first key is in `keys`."""
    wanted = {k.lower() for k in keys}
    found = []
    for var, raw in sorted((os.environ if environ is None else environ).items()):
        if not var.upper().startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in var[len(ENV_PREFIX):].split(ENV_DELIMITER)]
        if not all(parts) or parts[0] not in wanted:
            continue
        value: Any = raw
        if raw.lstrip().startswith(("[", "{")):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                raise ConfigError(f"{var}: value starts like JSON but is not valid JSON") from None
        found.append((var, parts, value))
    return found


@dataclass
class Layered:
    """Merged settings, the label of their file, and which variable or flag set each dotted key."""

    data: dict[str, Any]
    source: str
    origins: dict[str, str] = field(default_factory=dict)


def layered_config(
    path: str | Path | None = None,
    overrides: Iterable[str] = (),
    *,
    default: str | None = None,
    env_keys: Iterable[str] | None = None,
    values: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Layered:
    """The merged settings and a label naming their file. `env_keys`: top-level keys the
    environment may set (None: those present after the file layers); `values`: literal dotted
    flag values (None = flag not given) applied last."""
    data: dict[str, Any] = {}
    source = "(no config)"
    if default is not None:
        data = read_yaml(default_config_path(default))
        source = f"packaged {default}"
    if path is not None:
        file = resolve_config_path(path)
        if default is None or file.resolve() != default_config_path(default).resolve():
            deep_merge(data, read_config_file(file))
        source = str(path)
    keys = set(data) if env_keys is None else set(env_keys)
    origins: dict[str, str] = {}
    for var, parts, value in env_settings(keys, environ):
        set_dotted(data, parts, value, var)
        origins[".".join(parts)] = var
    overrides = list(overrides)
    apply_overrides(data, overrides)
    origins.update({o.split("=", 1)[0].strip(): f"--set {o.split('=', 1)[0].strip()}" for o in overrides})
    for dotted, value in (values or {}).items():
        if value is not None:
            set_dotted(data, dotted.split("."), value, dotted)
            origins[dotted] = f"flag for {dotted}"
    return Layered(data, source, origins)


def validate_config(model: type[T], data: dict[str, Any], source: str, origins: Mapping[str, str] | None = None,
                    prefix: str = "") -> T:
    """Validate; the error names the key and where its value came from (file, variable or flag)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        loc = ".".join(str(p) for p in first["loc"])
        origin = (origins or {}).get(prefix + loc)
        raise ConfigError(f"{origin or source}: {loc}: {first['msg']}") from None


def load_config(
    model: type[T],
    path: str | Path | None = None,
    overrides: Iterable[str] = (),
    *,
    default: str | None = None,
    values: Mapping[str, Any] | None = None,
    section: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> T:
    """Layer packaged `default` < file at `path` < GROOMGUARD_* env < `overrides` < `values`, then
    validate into `model` (or its `section`, e.g. ``store`` of serve.yaml)."""
    if path is None and default is None:
        raise ConfigError("no config given (--config)")
    env_keys = [section] if section else list(model.model_fields)
    got = layered_config(path, overrides, default=default, env_keys=env_keys, values=values, environ=environ)
    if section is None:
        return validate_config(model, got.data, got.source, got.origins)
    raw = got.data.get(section) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{got.source}: {section} must be a section")
    return validate_config(model, raw, f"{got.source}: {section}", got.origins, prefix=f"{section}.")
