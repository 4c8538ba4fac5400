"""Training data preparation: split files -> windows through the contract's `Windower`.

Shared by `groomguard train` and `groomguard export` (which re-creates validation and test windows
for calibration, thresholds and parity), so neither imports the other. The real-test rule is
re-checked here whatever the config says.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from groomguard.bundle import TrainingDataInfo, sha256_file
from groomguard.errors import ConfigError
from groomguard.normalise import NormalisationConfig
from groomguard.schema import Conversation
from groomguard.training.data.real_test_rule import assert_not_real_test
from groomguard.training.train_config import TrainConfig
from groomguard.training.windows_dataset import WindowSet, build_windows, read_conversations, split_info
from groomguard.windowing import WindowConfig, Windower


@dataclass
class PreparedData:
    windower: Windower
    train: WindowSet
    val: WindowSet
    test: WindowSet | None
    info: TrainingDataInfo
    summary: dict[str, str] = field(default_factory=dict)
    val_conversations: list[Conversation] = field(default_factory=list)  # thresholds are chosen on these
    sources: list[str] = field(default_factory=list)  # `source` values seen in the splits (model card)
    languages: list[str] = field(default_factory=list)  # `lang` values seen in the splits (model card)
    train_conversations: list[Conversation] = field(default_factory=list)  # the lexical head samples its own windows


def make_windower(cfg: TrainConfig, tokenizer_json: Path) -> Windower:
    from tokenizers import Tokenizer

    norm = NormalisationConfig(version=cfg.windows.normalisation_version, deobfuscate=cfg.windows.deobfuscate)
    wc = WindowConfig(cfg.windows.max_length, cfg.windows.stride, norm)
    return Windower(Tokenizer.from_file(str(tokenizer_json)), wc)


def fingerprint(paths: list[Path | None]) -> str:
    """sha256 over the split files' own sha256s (order: train, val, test)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(f"{sha256_file(p) if p else '-'}\n".encode())
    return h.hexdigest()


def prepare_data(cfg: TrainConfig, tokenizer_json: Path, need_train: bool = True) -> PreparedData:
    windower = make_windower(cfg, tokenizer_json)
    w, seed = cfg.windows, cfg.seed
    splits = {"train": cfg.data.train, "val": cfg.data.val, "test": cfg.data.test}
    convs = {k: read_conversations(p) for k, p in splits.items() if p is not None and (need_train or k != "train")}
    for k in ("train", "val"):  # the real-test rule holds whatever the config says
        if k in convs:
            assert_not_real_test(convs[k], str(splits[k]))
    if "train" in convs:  # extra labelled files (moderator verdicts), repeated extra_train_weight times
        for extra_path in cfg.data.extra_train:
            extra = read_conversations(extra_path)
            assert_not_real_test(extra, str(extra_path))
            convs["train"] = convs["train"] + extra * cfg.data.extra_train_weight
    infos = {k: split_info(splits[k], c) for k, c in convs.items()}  # type: ignore[arg-type]
    train = (build_windows(convs["train"], windower, w.train_per_conversation, seed, w.train_per_conversation_by_source)
             if need_train else WindowSet())
    val = build_windows(convs["val"], windower, w.eval_per_conversation, seed)
    test = build_windows(convs["test"], windower, w.eval_per_conversation, seed) if "test" in convs else None
    sources = {s for i in infos.values() for s in i.sources}
    # the lexical head's extra benign chats are training data too
    head_only = [cfg.lexical.extra_benign] if cfg.lexical.enabled and cfg.lexical.extra_benign else []
    info = TrainingDataInfo(
        fingerprint=fingerprint([cfg.data.train, cfg.data.val, cfg.data.test, *cfg.data.extra_train, *head_only]),
        train_path=str(cfg.data.train), val_path=str(cfg.data.val),
        test_path=str(cfg.data.test) if cfg.data.test else None,
        synthetic=any("synth" in s for s in sources),
        n_train_conversations=infos["train"].n_conversations if "train" in infos else None,
    )
    summary = {k: f"{i.n_conversations} conversations ({i.n_positive_conversations} grooming), "
                  f"sources {list(i.sources)}" for k, i in infos.items()}
    for k, ws in (("train", train), ("val", val), ("test", test)):
        if ws is not None and len(ws):
            summary[k] += f"; {len(ws)} sampled windows ({ws.n_pos} positive)"
    if len(val) == 0 or len(set(val.labels)) < 2:
        raise ConfigError(f"{cfg.data.val}: validation windows need both classes for early stopping and thresholds")
    languages = sorted({c.lang for cs in convs.values() for c in cs if c.lang})
    return PreparedData(windower, train, val, test, info, summary, convs["val"], sorted(sources), languages,
                        convs.get("train", []))
