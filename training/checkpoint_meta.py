"""What a checkpoint was trained on that its weights do not say: the windowing contract.

A model only answers correctly on windows rendered the way its training windows were. The HF
checkpoint stores weights and the tokenizer, not the text normalisation; before this record, export
stamped the library's current `NORMALISATION_VERSION` on whatever it exported, so exporting (or
resuming) a checkpoint trained under v1 after v2 became the default silently relabelled it and served
it with the wrong normalisation. `groomguard.json` travels in the best checkpoint and in the Trainer
directory (for `--resume`); export and resume take the version from it, refuse a config that
contradicts it, and refuse a checkpoint without it unless the version is given explicitly.
"""

from __future__ import annotations

import json
from pathlib import Path

from groomguard.errors import ConfigError
from groomguard.training.train_config import TrainConfig

META = "groomguard.json"


def windowing_record(cfg: TrainConfig) -> dict[str, object]:
    w = cfg.windows
    return {"normalisation": {"version": w.normalisation_version, "deobfuscate": w.deobfuscate},
            "max_length": w.max_length}


def write_meta(cfg: TrainConfig, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / META).write_text(json.dumps(windowing_record(cfg), indent=2) + "\n", encoding="utf-8")


def reconcile_windowing(cfg: TrainConfig, directory: Path, action: str) -> TrainConfig:
    """`cfg` with the normalisation recorded in `directory` (a checkpoint or Trainer directory).

    Refuses a config whose explicit normalisation differs from the record, and a directory with no
    record unless `windows.normalisation_version` was set explicitly (config file or --set)."""
    path = directory / META
    explicit = "normalisation_version" in cfg.windows.model_fields_set
    if not path.is_file():
        if explicit:
            return cfg
        raise ConfigError(f"{directory}: records no text normalisation version (trained before groomguard "
                          f"recorded it); {action} needs it: --set windows.normalisation_version=N (1 or 2, what it "
                          "was trained with)")
    try:
        norm = json.loads(path.read_text(encoding="utf-8"))["normalisation"]
        version, deobfuscate = int(norm["version"]), bool(norm["deobfuscate"])
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{path}: not a valid checkpoint record") from None
    w = cfg.windows
    if explicit and w.normalisation_version != version:
        raise ConfigError(f"{path}: trained with normalisation v{version}, but the config asks for "
                          f"v{w.normalisation_version}; {action} must use what it was trained with")
    if w.deobfuscate != deobfuscate and "deobfuscate" in w.model_fields_set:
        raise ConfigError(f"{path}: trained with deobfuscate={deobfuscate}, but the config asks for {w.deobfuscate}")
    windows = w.model_copy(update={"normalisation_version": version, "deobfuscate": deobfuscate})
    return cfg.model_copy(update={"windows": windows})
